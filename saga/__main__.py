"""``python -m saga worker``: run the saga worker (any Faust command works)."""

from saga.app import create_app
from streaming import run

if __name__ == "__main__":
    run(create_app())
