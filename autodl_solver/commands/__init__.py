"""One module per ``autodl-solver`` sub-command: ``register(subparsers)`` sets ``func``."""
