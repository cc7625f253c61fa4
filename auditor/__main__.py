"""``python -m auditor worker``: run the auditor (any Faust command works)."""

from auditor.app import create_app
from streaming import run

if __name__ == "__main__":
    run(create_app())
