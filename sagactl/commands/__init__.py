"""One module per `sagactl` subcommand; each exposes ``register(subparsers)``."""
