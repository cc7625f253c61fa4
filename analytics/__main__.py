"""``python -m analytics worker`` runs the analytics worker (any Faust command works);
``python -m analytics rebuild`` resets its tables and offsets so it counts everything again."""

import sys

from analytics.app import create_app
from streaming import run

if __name__ == "__main__":
    if sys.argv[1:2] == ["rebuild"]:
        from analytics.rebuild import main

        raise SystemExit(main(sys.argv[2:]))
    run(create_app())
