"""``autodl-solver bench``: run a benchmark suite and print its table.

``autodl-solver bench --suite quick [--executor local|ray|serial] [--address A]
[--workers N] [--time_budget T] [--methods ...] [--datasets ...]
[--report-only] [--out DIR] [--allow-dirty]``. The suites
(``configs/suites/<name>.yaml``, installed as ``autodl_solver/configs/suites``)
and the runner (:mod:`autodl_solver.bench.suite`) are part of the package, so
the command runs from a wheel as well as from the repository checkout.

Where it writes and what it records (:mod:`autodl_solver.bench.machine`):

* From a source checkout (``benchmarks/`` beside ``autodl_solver/``): the
  report files go to ``benchmarks/results`` and the datasets and kept runs to
  ``benchmarks/work``; every row records ``git_commit`` and ``git_dirty``. A
  run (not ``--report-only``) refuses a checkout with uncommitted changes in
  one error line (exit status 2) unless ``--allow-dirty`` is given, which
  every row then records.
* From an installed package (no checkout): ``./bench_results`` and
  ``./bench_work`` under the current directory; every row records
  ``git_commit: null`` and ``installed_package`` (the package's version).
  There is no tree to check, and one stderr line says so.

``--out`` overrides the results folder. Datasets whose offline source is absent
(``../shared/autodl_samples`` beside a checkout, espeak-ng, the fortunes
packages) are skipped with one line each. Progress lines go to stderr as tasks
start and finish; the final markdown table goes to stdout.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..utils.executors import EXECUTOR_KINDS

    parser = subparsers.add_parser(
        "bench",
        help="run a benchmark suite (configs/suites/<name>.yaml) and print its report table",
        description="Run every (dataset x method) of a suite through ingestion + scoring, on local processes "
                    "or Ray, and write <results>/<tag>.{json,md} and learning-curve plots (<results>: "
                    "benchmarks/results in a checkout, ./bench_results from an installed package).",
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
                        help="folder of the report files (default benchmarks/results in a checkout, "
                             "./bench_results from an installed package)")
    parser.add_argument("--allow-dirty", dest="allow_dirty", action="store_true",
                        help="run even with uncommitted changes in the checkout (recorded in every row as "
                             "allow_dirty, beside git_dirty)")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from ..bench.protocol_runner import RESULTS, WORK, check_clean_tree
    from ..bench.suite import load_suite, run_suite
    from ..errors import AutoDLInputError
    from ..utils.executors import make_executor

    suite = load_suite(args.suite)
    if not args.report_only:
        state = check_clean_tree(args.allow_dirty)  # a dirty checkout: one error line, exit status 2
        if "installed_package" in state:  # no checkout: nothing to refuse, say so once
            import autodl_solver

            print(f"[bench] running from the installed package autodl_solver {state['installed_package']} "
                  f"({Path(autodl_solver.__file__).parent}), not a checkout: no working tree to check; rows record "
                  f"git_commit null; work data in {WORK}", file=sys.stderr, flush=True)
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
    from ..bench.report import suite_markdown

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
