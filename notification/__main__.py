"""``python -m notification worker``: run the notification worker (any Faust command works)."""

from notification.app import create_app
from streaming import run

if __name__ == "__main__":
    run(create_app())
