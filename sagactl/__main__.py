"""`python -m sagactl` is the same as the `sagactl` command."""

import sys

from sagactl.cli import main

sys.exit(main())
