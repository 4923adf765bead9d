"""Issue-3 tabular benchmark: solver vs Baseline 1 vs the 2x256 MLP alone.

Every number goes through the project's own ingestion + scoring programs
(``autodl_solver.challenge.runner.run_challenge``), so each is a protocol
number: ALC, final NAUC, time of the first prediction.

Usage::

    .venv/bin/python -m benchmarks.run_tabular --time_budget 120
    .venv/bin/python -m benchmarks.run_tabular --time_budget 10 --datasets wine --methods solver   # smoke run
"""
from __future__ import annotations

import sys
from typing import Optional, Sequence

from autodl_solver.bench import tabular_datasets
from autodl_solver.bench.protocol_runner import table_main


def main(argv: Optional[Sequence[str]] = None) -> int:
    return table_main("run_tabular", __doc__, datasets=list(tabular_datasets.BUILDERS),
                      methods=["solver", "baseline1", "mlp"], time_budget=120.0, build=tabular_datasets.build,
                      argv=argv)


if __name__ == "__main__":
    sys.exit(main())
