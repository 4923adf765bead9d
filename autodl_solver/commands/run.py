"""``autodl-solver run``: ingestion and live scoring together, as on CodaLab.

``autodl-solver run DATASET [--output_dir O] [--code_dir C] [--time_budget T]
[--method M] [--solution_dir S] [--prior FILE] [--quiet]``. DATASET is a folder holding one
``X.data`` or the ``X.data`` folder itself (``--dataset_dir`` is a synonym). While it runs, a
progress line on stderr shows elapsed / budget, the predictions so far, the best NAUC so far
and the learner being trained (redrawn in place on a terminal, one line per prediction
otherwise; ``--quiet`` hides it). At the end it prints the
ALC, the NAUC and time of each prediction. Every input (budget, method,
output folder, dataset name, solution size, every record of the dataset) is
checked before anything is created or started. Exit status: 0 when ingestion
and scoring succeeded (a warning line says when ingestion was stopped at the
budget), 2 on bad input or a data error (one ``error: <file>: <what was
expected>`` line on stderr), 1 when ingestion failed otherwise (the
predictions made before the failure are still scored; the cause is on
stderr).
"""
from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..challenge.ingestion import DEFAULT_TIME_BUDGET

    parser = subparsers.add_parser(
        "run",
        help="run a model.py on one dataset under the budget and score it (ingestion + scoring)",
        description="Run ingestion in a child process and the scoring program beside it; "
                    "the scorer stops ingestion at start + time_budget.",
    )
    parser.add_argument("dataset", nargs="?", default=None, metavar="DATASET",
                        help="folder holding one X.data, or the X.data folder")
    parser.add_argument("--dataset_dir", dest="dataset_flag", metavar="DATASET_DIR", default=None,
                        help="synonym of DATASET")
    parser.add_argument("--output_dir", default=None,
                        help="where predictions/, scores/ and ingestion.log go (default ./autodl_run/<X>)")
    parser.add_argument("--code_dir", default=None, help="folder of model.py (default: this package's solver)")
    parser.add_argument("--time_budget", type=float, default=float(DEFAULT_TIME_BUDGET),
                        help=f"train/test budget T in seconds (default {DEFAULT_TIME_BUDGET})")
    parser.add_argument("--method", default=None,
                        help="method for our model.py (sets AUTODL_SOLVER_METHOD), e.g. solver or a baseline")
    parser.add_argument("--solution_dir", default=None,
                        help="folder of X.solution (default: beside X.data)")
    parser.add_argument("--prior", default=None, metavar="FILE",
                        help="T-NAML prior (from `naml transfer --prior-out`) seeding the solver's learners "
                             "(sets AUTODL_SOLVER_PRIOR)")
    parser.add_argument("--no_data_check", action="store_true",
                        help="do not read every record before starting (for very large datasets already checked "
                             "with `inspect --verify`)")
    parser.add_argument("--tf_mode", choices=("eager", "graph"), default="eager",
                        help="eager (TF2, default) or graph: TF1 graph-mode datasets, as the 2019 platform "
                             "(TensorFlow 1.13) gave them to model.py")
    parser.add_argument("--quiet", action="store_true",
                        help="no live progress line on stderr (the summary at the end is still printed)")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import sys

    from ..challenge.runner import resolve_dataset, run_challenge
    from ..errors import AutoDLInputError

    if args.dataset and args.dataset_flag and Path(args.dataset) != Path(args.dataset_flag):
        raise AutoDLInputError("DATASET", "given twice (positional and --dataset_dir) with different values")
    dataset = args.dataset or args.dataset_flag
    if not dataset:
        raise AutoDLInputError("DATASET", "missing; give a folder holding one X.data, or the X.data folder")
    output_dir = args.output_dir
    if output_dir is None:
        _, data_entry = resolve_dataset(dataset)
        output_dir = Path("autodl_run") / data_entry.name[: -len(".data")]
    result = run_challenge(dataset, output_dir, code_dir=args.code_dir, time_budget=args.time_budget,
                           method=args.method, solution_dir=args.solution_dir, prior=args.prior,
                           check_records=not args.no_data_check, progress=not args.quiet,
                           tf_mode=args.tf_mode)
    error = result.get("error")
    if error:
        print(f"error: {error['message']}", file=sys.stderr)
        return int(error["status"])
    return 0
