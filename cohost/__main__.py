"""``python -m cohost worker``: run the co-hosted worker (any Faust command works)."""

from cohost.app import create_app
from streaming import run

if __name__ == "__main__":
    run(create_app())
