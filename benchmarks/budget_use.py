"""How much of T the solver used: from the kept round logs of benchmark runs (issue 13, "the whole budget used").

For every kept solver run of the given tags (``work/runs/<tag>/<dataset>/solver/rounds.json`` beside its
``row.json``), the report gives T, when the last round ended, the unused share of T, and whether some
learner could still have improved then (not done, retired, skipped or failed: the learner summary of the
round log). Goal: no run leaves more than 5 % of T unused while some learner could still improve.

Usage::

    python -m benchmarks.budget_use --tags members_T60 suite_quick_T60 vision_T300_v2 --out budget_use
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional, Sequence

from autodl_solver.bench.protocol_runner import RESULTS, WORK
from autodl_solver.utils.atomic import atomic_write_text

GOAL_UNUSED = 0.05


def budget_rows(tags: Sequence[str], root: Path = WORK / "runs") -> list[dict]:
    """One row per kept solver run of ``tags`` (see the module docstring)."""
    rows = []
    for tag in tags:
        for log_path in sorted((Path(root) / tag).glob("*/solver/rounds.json")):
            log = json.loads(log_path.read_text())
            row = json.loads((log_path.parent / "row.json").read_text())
            T = float(log.get("time_budget") or 0.0)
            rounds = log.get("rounds", [])
            last = max((r["elapsed_s"] for r in rounds), default=0.0)
            # a learner that ran and is not done, retired, skipped or failed could still improve; logs written
            # before the summary had "done" count such a learner as open unless ingestion.log says all were done
            text = (log_path.parent / "ingestion.log").read_text(errors="replace") \
                if (log_path.parent / "ingestion.log").is_file() else ""
            all_done = "every learner is done" in text
            open_learners = [] if all_done else [
                s["name"] for s in log.get("learners", [])
                if not (s.get("failed") or s.get("retired") or s.get("skipped") or s.get("done"))
                and s.get("rounds", 0) > 0]
            rows.append({"tag": tag, "dataset": log_path.parent.parent.name, "time_budget": T,
                         "last_round_end_s": last, "unused": max(0.0, 1.0 - last / T) if T else None,
                         "shortened_rounds": sum(bool(r.get("partial")) for r in rounds),
                         "learners_not_finished": open_learners,
                         "commit": (row.get("machine") or {}).get("git_commit")})
    return rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tags", nargs="+", required=True)
    p.add_argument("--runs-root", type=Path, default=WORK / "runs")
    p.add_argument("--out", default="budget_use", help="result file stem")
    args = p.parse_args(argv)
    rows = budget_rows(args.tags, args.runs_root)
    command = "python -m benchmarks.budget_use " + " ".join(sys.argv[1:] if argv is None else argv)
    lines = [f"# Budget use of the solver's runs ({', '.join(args.tags)})", "", f"Command: `{command}`", "",
             f"Goal: at most {GOAL_UNUSED:.0%} of T unused while a learner could still improve (a learner that "
             "ran and is not done, retired, skipped or failed; round logs written before the learner summary "
             "had `done` count every such learner as open unless the run's ingestion.log says every learner "
             "was done: there the flag is conservative).", "",
             "| run | dataset | T (s) | last round ends (s) | unused | shortened rounds | learners still open | "
             "goal | commit |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        missed = r["unused"] is not None and r["unused"] > GOAL_UNUSED and r["learners_not_finished"]
        unused = "-" if r["unused"] is None else format(r["unused"], ".1%")
        still_open = ", ".join(r["learners_not_finished"]) or "-"
        lines.append(f"| {r['tag']} | {r['dataset']} | {r['time_budget']:g} | {r['last_round_end_s']:.1f} | "
                     f"{unused} | {r['shortened_rounds']} | {still_open} | {'**missed**' if missed else 'met'} | "
                     f"{r['commit']} |")
    atomic_write_text(RESULTS / f"{args.out}.md", "\n".join(lines) + "\n")
    atomic_write_text(RESULTS / f"{args.out}.json", json.dumps({"command": command, "rows": rows}, indent=2))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
