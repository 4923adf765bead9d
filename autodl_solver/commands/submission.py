"""``autodl-solver submission``: build the AutoDL 2019 code-submission zip.

The zip's root holds ``model.py`` (the drop-in ``Model``), the
``autodl_solver`` package source, the YAML configs and
``autodl_solver_config.json`` with the method and seed, so the official
ingestion program can run it with ``--code_dir`` pointing at the unzipped
folder and without our package installed.
"""
from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("submission", help="build the AutoDL 2019 submission zip (model.py at its root)")
    p.add_argument("--out", default="submission.zip", help="zip to write (default submission.zip)")
    p.add_argument("--method", default="solver", help="method the submitted Model runs (default solver)")
    p.add_argument("--seed", type=int, default=0, help="seed the submitted Model uses (default 0)")
    p.add_argument("--config", default=None,
                   help="JSON object of EngineConfig overrides written into the settings file")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from ..challenge.submission import build_submission
    from ..errors import AutoDLInputError

    config = None
    if args.config:
        try:
            config = json.loads(args.config)
        except json.JSONDecodeError as exc:
            raise AutoDLInputError("--config", f"expected a JSON object ({exc})") from None
        if not isinstance(config, dict):
            raise AutoDLInputError("--config", f"expected a JSON object, got {type(config).__name__}")
    result = build_submission(args.out, method=args.method, seed=args.seed, config=config)
    size_mb = result["size_bytes"] / 2**20
    print(f"wrote {result['path']}: {result['n_files']} files, {size_mb:.2f} MB "
          f"(method={args.method}, seed={args.seed})")
    return 0
