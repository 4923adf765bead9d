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
import json
import sys
from pathlib import Path

from . import tabular_datasets
from .machine import machine_info
from .report import markdown_table, plot_dataset_curves, summarise_run

RESULTS = Path(__file__).parent / "results"
WORK = Path(__file__).parent / "work"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--time_budget", type=float, default=120.0)
    p.add_argument("--datasets", nargs="+", default=list(tabular_datasets.BUILDERS))
    p.add_argument("--methods", nargs="+", default=["solver", "baseline1", "mlp"])
    p.add_argument("--tag", default=None, help="result file stem (default tabular_T<budget>)")
    args = p.parse_args(argv)

    from autodl_solver.challenge.runner import run_challenge

    tag = args.tag or f"tabular_T{int(args.time_budget)}"
    rows = []
    for name in args.datasets:
        dataset_dir = tabular_datasets.build(name, WORK / "data")
        curves = {}
        for method in args.methods:
            out = WORK / "runs" / tag / name / method
            print(f"[bench] {name} / {method} (T={args.time_budget:g}s)", file=sys.stderr, flush=True)
            result = run_challenge(dataset_dir, out, time_budget=args.time_budget, method=method)
            row = summarise_run(name, method, Path(result["score_dir"]))
            rows.append(row)
            curves[method] = row
            print(f"[bench]   ALC {row['alc']:.4f}  final NAUC {row['final_nauc']:.4f}  "
                  f"first {row['first_prediction_s']:.2f}s", file=sys.stderr, flush=True)
        plot_dataset_curves(name, curves, args.time_budget, RESULTS / f"{tag}_{name}.png")
    command = "python -m benchmarks.run_tabular " + " ".join(sys.argv[1:] if argv is None else argv)
    record = {"benchmark": tag, "command": command.strip(), "time_budget": args.time_budget,
              "machine": machine_info(), "results": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{tag}.json").write_text(json.dumps(record, indent=2))
    md = markdown_table(record)
    (RESULTS / f"{tag}.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
