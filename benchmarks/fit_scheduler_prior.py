"""Fit the scheduler's prior from the round logs of recorded benchmark runs.

Every protocol run of the benchmarks keeps the engine's round log beside its
row (``work/runs/<tag>/<dataset>/<method>/rounds.json``, written by the
challenge model when ``AUTODL_SOLVER_ROUND_LOG`` is set, see
``protocol_runner.run_one``). This script reads the logs of the solver's and
of single-learner (``learner:<name>``) runs and writes, per domain, learner
and device (``autodl_solver/anytime/prior.py`` has the format):

* the first round's cost as ``exp(log_cost) * units**cost_slope``
  (``units`` = first-round rows x example size), a least-squares line in
  log-log space over the runs (slope clipped to [0, 1.5]; one size only:
  slope 0.5, between a cost fixed by resizing and one proportional to the
  data); a shortened first round counts with its (lower-bound) cost;
* the hold-out NAUC after round k as a fraction of the best NAUC any run
  reached on the same dataset (median over datasets, made non-decreasing);
* the cumulative cost up to round k in first-round units (median).

Usage::

    python -m benchmarks.fit_scheduler_prior --results benchmarks/results/members_T60.json
    python -m benchmarks.fit_scheduler_prior --tags members_T60        # the kept runs under work/runs

The file records the commits and runs it came from; nothing in it is typed in.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np

from autodl_solver.anytime.prior import LearnerPrior, SchedulingPrior, example_units, portfolio_space
from autodl_solver.bench.protocol_runner import WORK
from autodl_solver.utils.atomic import atomic_write_text

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "configs" / "scheduler_prior.json"
MAX_ROUNDS = 12
#: Cost slope when every run had one input size: between constant (inputs resized to a fixed size,
#: fixed step counts) and proportional (a pass over every value); a log-log fit replaces it with two sizes.
SINGLE_SIZE_SLOPE = 0.5


def read_runs(tags: Sequence[str], root: Path = WORK / "runs") -> list[dict]:
    """Every usable run of ``tags``: its row (method, dataset, commit) and round log."""
    runs = []
    for tag in tags:
        for log_path in sorted((Path(root) / tag).glob("*/*/rounds.json")):
            row_path = log_path.parent / "row.json"
            try:
                log = json.loads(log_path.read_text())
                row = json.loads(row_path.read_text()) if row_path.is_file() else {}
            except (OSError, json.JSONDecodeError) as exc:
                print(f"[prior] {log_path}: unreadable ({exc}), skipped", file=sys.stderr)
                continue
            method = row.get("method", log_path.parent.name)
            if method != "solver" and not method.startswith("learner:"):
                continue
            runs.append({"tag": tag, "dataset": log_path.parent.parent.name, "method": method, "log": log,
                         "commit": (row.get("machine") or {}).get("git_commit", ""),
                         "dirty": (row.get("machine") or {}).get("git_dirty")})
    return runs


def read_results(paths: Sequence[Path]) -> list[dict]:
    """The runs kept inside result files (rows with ``round_log_data``, as ``portfolio_members`` writes them)."""
    runs = []
    for path in paths:
        record = json.loads(Path(path).read_text())
        for row in record.get("results", []):
            method = row.get("method", "")
            if not row.get("round_log_data") or (method != "solver" and not method.startswith("learner:")):
                continue
            runs.append({"tag": record.get("benchmark", Path(path).stem), "dataset": row["dataset"], "method": method,
                         "log": row["round_log_data"], "commit": (row.get("machine") or {}).get("git_commit", ""),
                         "dirty": (row.get("machine") or {}).get("git_dirty")})
    return runs


def fit_prior(runs: Iterable[dict], first_rows: int = 500) -> SchedulingPrior:
    """The :class:`SchedulingPrior` of ``runs`` (see the module docstring)."""
    runs = list(runs)
    best_by_dataset: dict[str, float] = defaultdict(float)
    for run in runs:
        for r in run["log"].get("rounds", []):
            if r.get("val_score") is not None and math.isfinite(r["val_score"]):
                best_by_dataset[run["dataset"]] = max(best_by_dataset[run["dataset"]], float(r["val_score"]))
    # (domain, learner, device) -> list of per-run curves
    curves: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for run in runs:
        log = run["log"]
        best = best_by_dataset.get(run["dataset"], 0.0)
        if best <= 0:
            continue
        per_learner: dict[str, list[dict]] = defaultdict(list)
        for r in log.get("rounds", []):
            per_learner[r["learner"]].append(r)
        for learner, rounds in per_learner.items():
            if rounds[0].get("error"):
                continue  # a failed first round says nothing about its cost
            # a shortened first round (cut at its budget) still says the learner costs at least that much
            rows = int(rounds[0].get("n_rows") or 0) or min(first_rows, int(log.get("n_train") or first_rows))
            units = rows * example_units(log.get("tensor_shape") or [])
            costs = np.cumsum([float(r["fit_s"]) for r in rounds])
            scores, last = [], 0.0
            for r in rounds[:MAX_ROUNDS]:
                if r.get("val_score") is not None:
                    last = float(r["val_score"]) / best
                scores.append(last)
            curves[(log.get("domain", "unknown"), learner.split("#")[0], log.get("device", "cpu"))].append(
                {"units": units, "first_s": max(float(rounds[0]["fit_s"]), 1e-3), "scores": scores,
                 "cum": (costs / max(costs[0], 1e-3))[:MAX_ROUNDS].tolist(), "dataset": run["dataset"]})
    prior = SchedulingPrior()
    for (domain, learner, device), items in sorted(curves.items()):
        log_u = np.log([max(i["units"], 1.0) for i in items])
        log_c = np.log([i["first_s"] for i in items])
        if len(set(np.round(log_u, 6))) >= 2:
            slope = float(np.clip(np.polyfit(log_u, log_c, 1)[0], 0.0, 1.5))
        else:
            slope = SINGLE_SIZE_SLOPE
        intercept = float(np.median(log_c - slope * log_u))
        prior.entries[(domain, learner, device)] = LearnerPrior(
            domain=domain, learner=learner, device=device, log_cost=intercept, cost_slope=slope,
            scores=tuple(np.maximum.accumulate(_median_by_round([i["scores"] for i in items]))),
            cum_cost=tuple(np.maximum.accumulate(_median_by_round([i["cum"] for i in items]))),
            n_runs=len(items))
    by_domain: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        if run["dataset"] in best_by_dataset and run["method"] == "solver":
            by_domain[run["log"].get("domain", "unknown")].append(best_by_dataset[run["dataset"]])
    if not by_domain:
        for run in runs:
            by_domain[run["log"].get("domain", "unknown")].append(best_by_dataset.get(run["dataset"], 0.0))
    prior.scale = {d: float(np.median(v)) for d, v in by_domain.items() if v}
    prior.commit = ",".join(sorted({r["commit"] for r in runs if r["commit"]}))
    prior.runs = tuple(sorted(f"{r['tag']}/{r['dataset']}/{r['method']}" for r in runs))
    return prior


def _median_by_round(curves: list[list[float]]) -> list[float]:
    """Median of the k-th values over the curves that reached round k."""
    longest = max((len(c) for c in curves), default=0)
    return [float(np.median([c[k] for c in curves if len(c) > k])) for k in range(longest)]


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tags", nargs="+", default=[], help="benchmark tags whose kept runs (work/runs) to read")
    p.add_argument("--results", nargs="+", type=Path, default=[],
                   help="result files whose rows carry their round logs (results/members_T60.json)")
    p.add_argument("--runs-root", type=Path, default=WORK / "runs")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    runs = read_runs(args.tags, args.runs_root) + read_results(args.results)
    if not runs:
        print(f"error: {args.runs_root}: no round logs (rounds.json) of solver or learner:* runs for tags "
              f"{args.tags} or in {[str(p) for p in args.results]}", file=sys.stderr)
        return 2
    dirty = sorted({f"{r['tag']}/{r['dataset']}/{r['method']}" for r in runs if r["dirty"]})
    prior = fit_prior(runs)
    record = prior.to_dict(portfolio_space())
    record["command"] = "python -m benchmarks.fit_scheduler_prior " + " ".join(
        sys.argv[1:] if argv is None else argv)
    record["dirty_runs"] = dirty
    atomic_write_text(args.out, json.dumps(record, indent=1) + "\n")
    print(f"[prior] {len(prior.entries)} entries from {len(runs)} runs -> {args.out}")
    for e in prior.entries.values():
        print(f"  {e.domain:8s} {e.learner:20s} {e.device}: first round {e.first_cost_s(1e4):.2f} s at 1e4 units, "
              f"slope {e.cost_slope:.2f}; NAUC fraction {', '.join(f'{s:.2f}' for s in e.scores[:5])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
