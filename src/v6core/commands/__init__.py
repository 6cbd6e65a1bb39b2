"""One module per ``v6core`` subcommand; each defines ``register(subparsers)``."""
