"""Issue-3 tabular benchmark: solver vs Baseline 1 vs the 2x256 MLP alone.

Every number goes through the project's own ingestion + scoring programs
(``autodl_solver.challenge.runner.run_challenge``), so each is a protocol
number: ALC, final NAUC, time of the first prediction.

Usage::

    .venv/bin/python -m benchmarks.run_tabular --time_budget 120
    .venv/bin/python -m benchmarks.run_tabular --time_budget 10 --datasets wine --methods solver   # smoke run
"""
from __future__ import annotations

import argparse
import sys

from autodl_solver.bench import tabular_datasets
from autodl_solver.bench.protocol_runner import ALLOW_DIRTY_HELP, require_clean_tree, run_tasks


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--time_budget", type=float, default=120.0)
    p.add_argument("--datasets", nargs="+", default=list(tabular_datasets.BUILDERS))
    p.add_argument("--methods", nargs="+", default=["solver", "baseline1", "mlp"])
    p.add_argument("--tag", default=None, help="result file stem (default tabular_T<budget>)")
    p.add_argument("--merge", action="store_true", help="also report earlier runs of this tag (other methods)")
    p.add_argument("--report", action="store_true", help="run nothing; rebuild the report from the kept runs")
    p.add_argument("--allow-dirty", dest="allow_dirty", action="store_true", help=ALLOW_DIRTY_HELP)
    args = p.parse_args(argv)
    if not args.report:
        require_clean_tree(args.allow_dirty)  # exits 2 with one line on a checkout with uncommitted changes
    tag = args.tag or f"tabular_T{int(args.time_budget)}"
    command = "python -m benchmarks.run_tabular " + " ".join(sys.argv[1:] if argv is None else argv)
    run_tasks(tag, args.datasets, args.methods, args.time_budget, tabular_datasets.build, command.strip(),
              merge=args.merge, run=not args.report, allow_dirty=args.allow_dirty)
    return 0


if __name__ == "__main__":
    sys.exit(main())
