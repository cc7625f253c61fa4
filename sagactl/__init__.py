"""Operational tooling: the infrastructure harness, the process supervisor and the `sagactl` CLI."""
