"""The T-NAML speed-up table over seeds: per-seed experiment files of ``benchmarks.naml_experiment``, side by side.

Each seed's file (``naml_experiment[_<reward>][_seed<N>].json``) holds its own
``summary``; this report puts the seeds in one table and adds the medians
over every (held-out task, seed) pair, on accuracy-top10 (the paper's metric)
and, for another reward than accuracy, on the reward the searchers maximised.
A task's speed-up that was not reached counts at its upper bound, as in each
seed's summary. Nothing is re-run: the report is computed from the files.

Usage::

    python -m benchmarks.naml_seeds --reward cost_aware --seeds 0 1 2

writes ``benchmarks/results/naml_seeds_<reward>.json`` and ``.md``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from typing import Optional, Sequence

from autodl_solver.utils.atomic import atomic_write_text

from .naml_experiment import RESULTS, ceiling_text, default_out

METHODS = (("tnaml", "T-NAML"), ("naml", "NAML"))


def _bounded(u: dict) -> float:
    return float(u["speedup"] if u["speedup"] is not None else u["speedup_upper_bound"])


def seed_rows(results: Sequence[dict]) -> list[dict]:
    """One row per seed: its summary's medians, tasks faster than random search, mean test top-10, provenance."""
    rows = []
    for r in results:
        s = r["summary"]
        row = {"seed": r["settings"]["seed"], "commit": r["machine"].get("git_commit"),
               "dirty": r["machine"].get("git_dirty"), "seconds": round(float(r["seconds"]), 1),
               "tasks": len(r["per_task"]), "budget": r["settings"]["budget"], "ceiling": ceiling_text(r),
               "mean_test_top10": {m: s["mean_at_budget"][m]["test_top10"] for m in ("random", "naml", "tnaml")}}
        for key in ("accuracy", "reward"):
            summary = s if key == "accuracy" else s.get("reward")
            if summary is None:
                continue
            row[key] = {m: {"median_speedup_bounded": summary[m]["median_speedup_bounded"],
                            "tasks_over_1x": summary[m]["tasks_over_1x"], "tasks_reached": summary[m]["tasks_reached"],
                            "tasks_over_10x": summary[m]["tasks_over_10x"]} for m, _ in METHODS}
        rows.append(row)
    return rows


def pooled(results: Sequence[dict]) -> dict:
    """Medians over every (task, seed) pair, and per task the median over seeds (T-NAML and NAML)."""
    out: dict = {}
    for key, field in (("accuracy", "speedup"), ("reward", "speedup_reward")):
        if not all(field in e for r in results for e in r["per_task"].values()):
            continue
        block: dict = {}
        for m, _ in METHODS:
            pairs = [_bounded(e[field][m]) for r in results for e in r["per_task"].values()]
            per_task: dict[str, float] = {}
            for task in results[0]["per_task"]:
                per_task[task] = statistics.median(_bounded(r["per_task"][task][field][m])
                                                   for r in results if task in r["per_task"])
            block[m] = {"median_speedup_bounded": statistics.median(pairs),
                        "pairs_over_1x": sum(p > 1.0 for p in pairs), "pairs": len(pairs),
                        "per_task_median": per_task}
        out[key] = block
    return out


def markdown(record: dict) -> str:
    """The human summary."""
    lines = [f"# T-NAML over seeds ({record['reward']} reward)", "", f"Command: `{record['command']}`  ",
             f"Files: {', '.join('`' + f + '`' for f in record['files'])}", "",
             "Each seed: leave-tasks-out over the held-out tasks of `benchmarks.naml_experiment`, B trials per "
             "method and task; speed-ups in trials over random search, an unreached one counted at its upper "
             "bound; the ceiling is (RS trials) / 10 (accuracy-top10 starts at the 10th trial).", "",
             "| seed | commit | tasks | B | ceiling | T-NAML median (accuracy) | faster than RS | NAML median "
             "(accuracy) | T-NAML median (reward) | faster than RS | NAML median (reward) | mean test top10 "
             "RS / NAML / T-NAML | seconds |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in record["seeds"]:
        acc, rew = row["accuracy"], row.get("reward")
        cells = [str(row["seed"]), f"{row['commit']}{' (dirty)' if row['dirty'] else ''}", str(row["tasks"]),
                 str(row["budget"]), row["ceiling"], f"{acc['tnaml']['median_speedup_bounded']:.2f}x",
                 f"{acc['tnaml']['tasks_over_1x']} / {row['tasks']}", f"{acc['naml']['median_speedup_bounded']:.2f}x"]
        if rew:
            cells += [f"{rew['tnaml']['median_speedup_bounded']:.2f}x", f"{rew['tnaml']['tasks_over_1x']} / "
                      f"{row['tasks']}", f"{rew['naml']['median_speedup_bounded']:.2f}x"]
        else:
            cells += ["-", "-", "-"]
        cells += [" / ".join(f"{row['mean_test_top10'][m]:.3f}" for m in ("random", "naml", "tnaml")),
                  f"{row['seconds']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Medians over every (task, seed) pair:", ""]
    for key, block in record["pooled"].items():
        for m, label in METHODS:
            b = block[m]
            lines.append(f"* {label} on {key}: median speed-up {b['median_speedup_bounded']:.2f}x; faster than "
                         f"random search on {b['pairs_over_1x']} of {b['pairs']} pairs.")
    tasks = list(next(iter(record["pooled"].values()))["tnaml"]["per_task_median"]) if record["pooled"] else []
    if tasks:
        keys = list(record["pooled"])
        lines += ["", "Per task, the median over seeds:", "",
                  "| task | " + " | ".join(f"T-NAML ({k}) | NAML ({k})" for k in keys) + " |",
                  "|---|" + "---|---|" * len(keys)]
        for t in tasks:
            lines.append(f"| {t} | " + " | ".join(
                f"{record['pooled'][k]['tnaml']['per_task_median'][t]:.2f}x | "
                f"{record['pooled'][k]['naml']['per_task_median'][t]:.2f}x" for k in keys) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reward", default="accuracy", help="the reward of the experiment files (their names)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--tag", default=None, help="names the report (default naml_seeds_<reward>)")
    args = p.parse_args(argv)
    files = [default_out(args.reward, seed) for seed in args.seeds]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        print(f"naml_seeds: no experiment file {', '.join(missing)} (run benchmarks.naml_experiment "
              f"--reward {args.reward} --seed S first)", file=sys.stderr)
        return 2
    results = []
    for f in files:
        try:
            results.append(json.loads(f.read_text()))
        except (OSError, ValueError) as exc:
            print(f"naml_seeds: {f} cannot be read as an experiment file ({exc})", file=sys.stderr)
            return 2
    tag = args.tag or f"naml_seeds_{args.reward}"
    record = {"benchmark": tag, "reward": args.reward,
              "command": "python -m benchmarks.naml_seeds " + " ".join(sys.argv[1:] if argv is None else argv),
              "files": [f.name for f in files], "seeds": seed_rows(results), "pooled": pooled(results)}
    atomic_write_text(RESULTS / f"{tag}.json", json.dumps(record, indent=2))
    text = markdown(record)
    atomic_write_text(RESULTS / f"{tag}.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
