"""``autodl-solver bench``: run a benchmark suite and print its table.

``autodl-solver bench --suite quick [--executor local|ray|serial] [--address A]
[--workers N] [--time_budget T] [--methods ...] [--datasets ...]
[--report-only] [--out DIR] [--allow-dirty]``. A run (not ``--report-only``)
refuses a checkout with uncommitted changes in one error line (exit status 2)
unless ``--allow-dirty`` is given, which every row then records. The suites
(``configs/suites/<name>.yaml``) and
the runner (``benchmarks/suite.py``) live in the repository checkout, not in
the installed package: the command finds them beside the package
(``Path(autodl_solver.__file__).parents[1]``) and says so in one error line
when they are absent. Progress lines go to stderr as tasks start and finish;
the final markdown table goes to stdout.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path


def repo_root() -> Path:
    """The repository checkout the package was imported from."""
    import autodl_solver

    return Path(autodl_solver.__file__).resolve().parents[1]


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..utils.executors import EXECUTOR_KINDS

    parser = subparsers.add_parser(
        "bench",
        help="run a benchmark suite (configs/suites/<name>.yaml) and print its report table",
        description="Run every (dataset x method) of a suite through ingestion + scoring, on local processes "
                    "or Ray, and write benchmarks/results/<tag>.{json,md} and learning-curve plots.",
    )
    parser.add_argument("--suite", default="quick",
                        help="suite name in configs/suites/ (quick, full) or a YAML path (default quick)")
    parser.add_argument("--executor", choices=EXECUTOR_KINDS, default="local",
                        help="where tasks run: local processes (default), ray, or serial (in this process)")
    parser.add_argument("--address", default=None,
                        help="ray only: address of an existing cluster (default: start a local one)")
    parser.add_argument("--workers", type=int, default=None,
                        help="tasks at once (default: 1 for local, the cluster's CPUs for ray)")
    parser.add_argument("--time_budget", type=float, default=None,
                        help="override the suite's T in seconds (the result tag gets a _T<T> suffix)")
    parser.add_argument("--methods", nargs="+", default=None, help="run these methods instead of the suite's")
    parser.add_argument("--datasets", nargs="+", default=None, help="run these datasets instead of the suite's")
    parser.add_argument("--report-only", dest="report_only", action="store_true",
                        help="run nothing; rebuild the report from the kept runs")
    parser.add_argument("--out", default=None,
                        help="folder of the report files (default benchmarks/results in the checkout)")
    parser.add_argument("--allow-dirty", dest="allow_dirty", action="store_true",
                        help="run even with uncommitted changes in the checkout (recorded in every row as "
                             "allow_dirty, beside git_dirty)")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from ..errors import AutoDLInputError
    from ..utils.executors import make_executor

    root = repo_root()
    if not (root / "benchmarks" / "suite.py").is_file():
        raise AutoDLInputError(root / "benchmarks", "not found: `bench` needs a checkout of the autodl_solver "
                                                    "repository (the benchmarks/ folder is not installed)")
    if str(root) not in sys.path:
        # Spawned and Ray workers inherit sys.path, so they import benchmarks.suite the same way.
        sys.path.insert(0, str(root))
    from benchmarks.protocol_runner import RESULTS, check_clean_tree
    from benchmarks.suite import load_suite, run_suite

    suite = load_suite(args.suite)
    if not args.report_only:
        check_clean_tree(args.allow_dirty)  # a dirty checkout: one error line, exit status 2
    if args.time_budget is not None and not args.time_budget > 0:
        raise AutoDLInputError("--time_budget", f"expected a positive number of seconds, got {args.time_budget:g}")
    command = _command_line(args)
    out = Path(args.out) if args.out else RESULTS
    common = dict(time_budget=args.time_budget, datasets=args.datasets, methods=args.methods, results_dir=out,
                  command=command)
    if args.report_only:
        record = run_suite(suite, None, report_only=True, **common)
    else:
        with make_executor(args.executor, max_workers=args.workers, address=args.address) as executor:
            print(f"[bench] suite {suite.name} ({suite.path}): executor {args.executor}, "
                  f"{executor.max_workers} worker(s)", file=sys.stderr, flush=True)
            record = run_suite(suite, executor, allow_dirty=args.allow_dirty, **common)
    from benchmarks.report import suite_markdown

    print(suite_markdown(record), end="")
    print(f"[bench] report: {out / (record['benchmark'] + '.md')}", file=sys.stderr, flush=True)
    return 0


def _command_line(args: argparse.Namespace) -> str:
    """The command as recorded beside the numbers (rebuilt from the parsed options)."""
    parts = ["autodl-solver", "bench", "--suite", str(args.suite), "--executor", args.executor]
    for flag, value in (("--address", args.address), ("--workers", args.workers),
                        ("--time_budget", args.time_budget)):
        if value is not None:
            parts += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    for flag, values in (("--methods", args.methods), ("--datasets", args.datasets)):
        if values:
            parts += [flag, *values]
    if args.report_only:
        parts.append("--report-only")
    if getattr(args, "allow_dirty", False):
        parts.append("--allow-dirty")
    if args.out:
        parts += ["--out", str(args.out)]
    return " ".join(shlex.quote(p) for p in parts)
