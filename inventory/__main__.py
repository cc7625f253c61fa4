"""``python -m inventory worker`` runs the worker (any Faust command works);
``python -m inventory seed [--reset | --if-empty]`` loads the catalogue into stock;
``python -m inventory reconcile [--dry-run]`` rebuilds the stock and order records from
the topics (``inventory.reconcile``).

Before ``worker`` runs, ``inventory.reconcile.check_start`` refuses (exit 2) an empty
store when the consumer group has already consumed orders: Redis lost the state.
"""

import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["seed"]:
        from inventory.seed import main

        sys.exit(main(sys.argv[2:]))
    if sys.argv[1:2] == ["reconcile"]:
        from inventory.reconcile import main as reconcile

        sys.exit(reconcile(sys.argv[2:]))
    if sys.argv[1:2] == ["worker"]:
        from inventory.reconcile import run_check_start

        if refused := run_check_start():
            sys.exit(refused)
    from inventory.app import create_app
    from streaming import run

    run(create_app())
