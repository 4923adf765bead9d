"""The ``autodl-solver`` command.

Each sub-command lives in ``autodl_solver/commands/<name>.py`` with two
functions: ``register(subparsers)`` adds its parser, and ``main(args)``
runs it and returns the exit status. Errors the user can fix
(:class:`~autodl_solver.errors.AutoDLInputError`) print one line and exit 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence

from .errors import AutoDLError

#: Sub-commands in the order ``--help`` lists them.
COMMANDS = ("inspect", "convert", "score", "ingest", "run", "submission", "demo", "bench", "naml")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available sub-command registered."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="autodl-solver",
        description="Any-time AutoDL solver: inspect, convert, run and score AutoDL datasets.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f".commands.{name}", __package__)
        except ModuleNotFoundError as exc:  # a command whose module is not written yet
            if exc.name and exc.name.endswith(f"commands.{name}"):
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except AutoDLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
