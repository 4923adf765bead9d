"""Benchmark scripts (``python -m benchmarks.<script>`` from the checkout) and their recorded ``results/``.

The machinery they share (offline dataset builders, the runner that goes through ingestion + scoring,
reports, machine facts) is installed with the package: :mod:`autodl_solver.bench`.
"""
