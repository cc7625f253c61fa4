"""``python -m payment worker``: run the payment worker (any Faust command works)."""

from payment.app import create_app
from streaming import run

if __name__ == "__main__":
    run(create_app())
