"""Workarounds for bugs of the libraries the workers run on, one module per bug.

Each module names the upstream issue it works around, checks at start that the library
is the exact version it was written for (and that the private attributes it reads are
there), and fails with a clear error otherwise: a workaround never silently becomes a
no-op after an upgrade. When the issue is fixed upstream and the pin moves past the
fix, the module goes.

- ``commit_watchdog``: faust-streaming #596, commits of a partition stop for good
  behind messages a recovery race dropped.
- ``direct_delivery``: Faust's consumer delivers each message without a per-message
  task fan-out (``wait_first``) and never marks a message read that a rebalance kept
  from its stream (the cause of the #596 stalls).
- ``lazy_log_format``: mode formats service log messages before the level check.
"""
