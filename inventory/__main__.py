"""``python -m inventory worker`` runs the worker (any Faust command works);
``python -m inventory seed [--reset | --if-empty]`` loads the catalogue into stock."""

import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["seed"]:
        from inventory.seed import main

        sys.exit(main(sys.argv[2:]))
    from inventory.app import create_app
    from streaming import run

    run(create_app())
