"""Soak benchmark: many timed protocol runs across the five domains; overruns, crashes, worst margin to T.

Each run is the packaged solver on one of the quick suite's datasets (one per
domain) at a budget drawn (seeded) from ``--budgets``, through ingestion +
live scoring (``autodl_solver.challenge.runner.run_challenge``). Per run it
records whether any prediction was stamped after T or its file landed after
T (+ the write slack), whether the scorer had to stop ingestion
(``time_limit_exceeded``), whether the run crashed (an error, or no
prediction at all), and the margin ``T - last prediction``. Goals: 0 overruns,
0 crashes.

Usage::

    python -m benchmarks.soak --runs 100 --budgets 5 10 20 30 60 --workers 2
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Optional, Sequence

from autodl_solver.bench.datasets import build_dataset
from autodl_solver.bench.machine import machine_info
from autodl_solver.bench.protocol_runner import ALLOW_DIRTY_HELP, RESULTS, WORK, require_clean_tree
from autodl_solver.utils.atomic import atomic_write_text

DATASETS = ("wine", "digits", "moving_digits_n300", "spoken_words_n300", "fortunes_language_c100")
#: Seconds a prediction file may land after its timestamp (the write itself).
WRITE_SLACK_S = 0.25


def one_run(args: tuple[int, str, str, float, str]) -> dict:
    """Run the solver once and check its budget (see the module docstring)."""
    from autodl_solver.challenge.prediction_files import list_predictions, read_start_file
    from autodl_solver.challenge.runner import run_challenge

    index, dataset, folder, budget, out = args
    tic = time.time()
    row = {"run": index, "dataset": dataset, "time_budget": budget}
    try:
        result = run_challenge(Path(folder), Path(out), time_budget=budget, verbose=False)
    except Exception as exc:  # noqa: BLE001 - a crash of the whole run is what this benchmark counts
        row.update(crashed=True, error=f"{type(exc).__name__}: {exc}", wall_s=time.time() - tic)
        return row
    info = read_start_file(result["prediction_dir"] / "start.txt")
    start = info["start_time"]
    files = list_predictions(result["prediction_dir"], result["task"])
    stamps = [info[k] - start for k, _ in files]
    landed = [path.stat().st_mtime - start for _, path in files]
    scores = result.get("scores") or {}
    row.update(
        n_predictions=len(files), first_prediction_s=stamps[0] if stamps else None,
        last_prediction_s=stamps[-1] if stamps else None, margin_s=budget - stamps[-1] if stamps else None,
        late_stamps=sum(t > budget for t in stamps), late_files=sum(t > budget + WRITE_SLACK_S for t in landed),
        time_limit_exceeded=bool(scores.get("time_limit_exceeded")), alc=result.get("alc"),
        error=result.get("error"), crashed=bool(result.get("error")) or not files, wall_s=time.time() - tic)
    row["overrun"] = bool(row["late_stamps"] or row["late_files"] or row["time_limit_exceeded"])
    return row


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--budgets", type=float, nargs="+", default=[5, 10, 20, 30, 60])
    p.add_argument("--datasets", nargs="+", default=list(DATASETS))
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tag", default="soak")
    p.add_argument("--allow-dirty", dest="allow_dirty", action="store_true", help=ALLOW_DIRTY_HELP)
    args = p.parse_args(argv)
    require_clean_tree(args.allow_dirty)
    machine = machine_info()
    folders = {d: build_dataset(d, WORK / "data") for d in args.datasets}
    folders = {d: f for d, f in folders.items() if f is not None}
    rng = random.Random(args.seed)
    tasks = []
    for i in range(args.runs):
        dataset = sorted(folders)[i % len(folders)]
        budget = rng.choice(args.budgets)
        tasks.append((i, dataset, str(folders[dataset]), budget,
                      str(WORK / "runs" / args.tag / f"{i:03d}_{dataset}_T{budget:g}")))
    rows = []
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for row in pool.map(one_run, tasks):
            rows.append(row)
            print(f"[soak] {row['run']:3d} {row['dataset']:24s} T={row['time_budget']:g}: "
                  f"{'OVERRUN ' if row.get('overrun') else ''}{'CRASH ' if row.get('crashed') else ''}"
                  f"margin {row.get('margin_s')}", file=sys.stderr, flush=True)
    margins = [r["margin_s"] for r in rows if r.get("margin_s") is not None]
    summary = {"runs": len(rows), "overruns": sum(bool(r.get("overrun")) for r in rows),
               "crashes": sum(bool(r.get("crashed")) for r in rows),
               "worst_margin_s": min(margins) if margins else None,
               "budgets": sorted(set(args.budgets)), "datasets": sorted(folders), "workers": args.workers}
    command = "python -m benchmarks.soak " + " ".join(sys.argv[1:] if argv is None else argv)
    record = {"benchmark": args.tag, "command": command, "machine": machine, "summary": summary, "results": rows}
    atomic_write_text(RESULTS / f"{args.tag}.json", json.dumps(record, indent=2))
    lines = [f"# {args.tag}: {summary['runs']} timed runs", "", f"Command: `{command}`", "",
             f"Machine: {machine.get('cpu')}, {machine.get('cores')} cores (used {machine.get('cpus_used')}), "
             f"commit {machine.get('git_commit')}{' (dirty)' if machine.get('git_dirty') else ''}; "
             f"{args.workers} run(s) at a time.", "",
             f"Overruns (a prediction stamped or landed after T, or ingestion stopped by the scorer): "
             f"**{summary['overruns']}**; crashes (an error, or no prediction): **{summary['crashes']}**; worst "
             f"margin T - last prediction: **{summary['worst_margin_s']:.2f} s**." if margins else "No prediction.",
             "", "| dataset | budgets | runs | overruns | crashes | worst margin (s) | mean ALC |",
             "|---|---|---|---|---|---|---|"]
    for d in sorted(folders):
        rs = [r for r in rows if r["dataset"] == d]
        ms = [r["margin_s"] for r in rs if r.get("margin_s") is not None]
        alcs = [r["alc"] for r in rs if r.get("alc") is not None]
        lines.append(f"| {d} | {', '.join(f'{b:g}' for b in sorted({r['time_budget'] for r in rs}))} | {len(rs)} | "
                     f"{sum(bool(r.get('overrun')) for r in rs)} | {sum(bool(r.get('crashed')) for r in rs)} | "
                     f"{min(ms):.2f} | {sum(alcs) / max(len(alcs), 1):.4f} |" if ms else f"| {d} | - | {len(rs)} |")
    atomic_write_text(RESULTS / f"{args.tag}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if summary["overruns"] == 0 and summary["crashes"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
