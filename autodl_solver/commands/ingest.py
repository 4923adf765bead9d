"""``autodl-solver ingest``: the official ingestion program (v20191204) on one dataset.

Same flags as ``python ingestion.py`` of the AutoDL starting kit
(``--flag value`` or ``--flag=value``); ``--code_dir`` defaults to this
package's solver. Every record is read once before the model is built
(``--no_data_check`` skips that). Exit status: 0 when ingestion succeeded,
1 when the model failed or logged an exception (``error: ingestion failed:
...`` on stderr), 2 on bad input or a data error (a truncated, corrupt or
empty record file, counts or shapes that do not match the metadata; one
``error: <file>: <what was expected>`` line).
"""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..challenge.ingestion import build_parser

    parser = subparsers.add_parser(
        "ingest",
        help="run a model.py on one dataset and write predictions (official ingestion program)",
        description="Run a code submission (model.py) on one AutoDL dataset exactly as the AutoDL 2019 "
                    "ingestion program does: start.txt, <task>.predict_<k>, end.txt in --output_dir.",
    )
    build_parser(parser)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from ..challenge.ingestion import main_from_args

    return main_from_args(args)
