"""How much of T the solver used: from the kept round logs of benchmark runs (issue 13, "the whole budget used").

For every kept solver run of the given tags (``work/runs/<tag>/<dataset>/solver/rounds.json`` beside its
``row.json``), the report gives T, when the last round ended and when the last prediction was written,
the unused share of T after the later of the two, and whether some learner could still have improved then
(not done, retired, skipped or failed: the learner summary of the round log). Goal: no run leaves more than
5 % of T unused while some learner could still improve.

Usage::

    python -m benchmarks.budget_use --tags members_T60 suite_quick_T60 vision_T300_v2 --out budget_use
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Optional, Sequence

from autodl_solver.anytime.config import EngineConfig
from autodl_solver.bench.protocol_runner import RESULTS, WORK
from autodl_solver.utils.atomic import atomic_write_text

GOAL_UNUSED = 0.05
#: The engine's line when nothing more fits (``Engine._log_refusals``): time left before its deadline, and per
#: refused learner the seconds kept after its round (validation, the test prediction, the safety margin).
_REFUSAL = re.compile(r"no round fits before the deadline \((-?[\d.]+) s left\)")
_KEPT = re.compile(r"after reserving (-?[\d.]+) s")


def end_of_run(log_text: str) -> tuple[Optional[float], Optional[float]]:
    """``(left_s, kept_s)`` of the engine's last "no round fits" line in ingestion.log, or ``(None, None)``.

    ``left_s``: seconds before the engine's deadline when nothing more fitted (the rest of the unused time,
    up to T, is what ``model.py`` kept for its test call and ingestion's handling of it). ``kept_s``: the
    smallest reserve a refused learner's round had to leave; a shortened round fitted only where
    ``left_s - kept_s`` was at least ``min_partial_s``.
    """
    last = None
    for line in log_text.splitlines():
        match = _REFUSAL.search(line)
        if match:
            last = (float(match.group(1)), [float(k) for k in _KEPT.findall(line)])
    if last is None:
        return None, None
    return last[0], (min(last[1]) if last[1] else None)


def still_open(learners: Sequence[dict], log_text: str) -> list[str]:
    """Names of the learners that ran and could still improve: not done, retired, skipped or failed.

    The learner summary says so itself when it has ``done`` (every round log since it was added). Older
    logs lack it; there ingestion.log's "every learner is done" (``log_text``) is taken as the answer. That
    line is not read when the summary has ``done``: ``Model.train`` also wrote it when no round fitted
    before the deadline, and a learner refused for time is open, not done.
    """
    ran = [s for s in learners if s.get("rounds", 0) > 0]
    if ran and not any("done" in s for s in ran) and "every learner is done" in log_text:
        return []
    return [s["name"] for s in ran if not (s.get("failed") or s.get("retired") or s.get("skipped") or s.get("done"))]


def tail_is_reserve(left_s: Optional[float], kept_s: Optional[float]) -> Optional[bool]:
    """Whether the engine's time left at the end was all reserve: no round of any refused learner could land.

    True when the time left minus the smallest reserve a refused round had to keep (its validation, its test
    prediction, the safety margin) is under ``min_partial_s`` (the default config's, as the benchmarks run),
    the shortest round the engine runs: then no round could have been trained *and predicted* before the
    deadline. None without an end-of-run line.
    """
    if left_s is None or kept_s is None:
        return None
    return left_s - kept_s < EngineConfig().min_partial_s


def budget_rows(tags: Sequence[str], root: Path = WORK / "runs") -> list[dict]:
    """One row per kept solver run of ``tags`` (see the module docstring)."""
    rows = []
    for tag in tags:
        for log_path in sorted((Path(root) / tag).glob("*/solver/rounds.json")):
            if not (log_path.parent / "row.json").is_file():
                continue  # a run still going (or killed): its round log is not the end of a run
            log = json.loads(log_path.read_text())
            row = json.loads((log_path.parent / "row.json").read_text())
            T = float(log.get("time_budget") or 0.0)
            rounds = log.get("rounds", [])
            last = max((r["elapsed_s"] for r in rounds), default=0.0)
            # the test prediction after the last round uses the budget too: the end is the later of the two
            written = [float(t) for t in row.get("timestamps") or []]
            predicted = max(written) if written else None
            end = max(last, predicted or 0.0)
            ingestion_log = log_path.parent / "ingestion.log"
            text = ingestion_log.read_text(errors="replace") if ingestion_log.is_file() else ""
            open_learners = still_open(log.get("learners", []), text)
            left, kept = end_of_run(text)
            rows.append({"tag": tag, "dataset": log_path.parent.parent.name, "time_budget": T,
                         "last_round_end_s": last, "last_prediction_s": predicted, "end_s": end,
                         "unused": max(0.0, 1.0 - end / T) if T else None,
                         "shortened_rounds": sum(bool(r.get("partial")) for r in rounds),
                         "learners_not_finished": open_learners, "engine_left_s": left, "kept_s": kept,
                         "tail_is_reserve": tail_is_reserve(left, kept),
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
             "ran and is not done, retired, skipped or failed, as the round log's learner summary says; logs "
             "written before the summary had `done` take ingestion.log's \"every learner is done\" instead).", "",
             "End of the run: the seconds left before the engine's deadline when nothing more fitted, and the "
             "smallest reserve a refused round had to keep after it (its validation and test prediction and the "
             "safety margin); the rest of the unused time, up to T, is what `model.py` kept for its test call. "
             "The run ends when its last round ends or its last prediction is written, whichever is later (the "
             "test prediction after the last round uses the budget too). \"all reserve\": the time left minus "
             "that reserve was under `min_partial_s`, so no round of an open learner could have been trained and "
             "predicted before the deadline; the goal column reads the goal strictly all the same.",
             "",
             "| run | dataset | T (s) | last round ends (s) | last prediction (s) | unused | engine left / kept (s) "
             "| all reserve | shortened rounds | learners still open | goal | commit |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        missed = r["unused"] is not None and r["unused"] > GOAL_UNUSED and r["learners_not_finished"]
        unused = "-" if r["unused"] is None else format(r["unused"], ".1%")
        still_open = ", ".join(r["learners_not_finished"]) or "-"
        end = "-" if r.get("engine_left_s") is None else \
            f"{r['engine_left_s']:.1f} / " + ("-" if r.get("kept_s") is None else f"{r['kept_s']:.1f}")
        predicted = "-" if r.get("last_prediction_s") is None else f"{r['last_prediction_s']:.1f}"
        reserve = {None: "-", True: "yes", False: "no"}[r.get("tail_is_reserve")]
        lines.append(f"| {r['tag']} | {r['dataset']} | {r['time_budget']:g} | {r['last_round_end_s']:.1f} | "
                     f"{predicted} | {unused} | {end} | {reserve} | {r['shortened_rounds']} | {still_open} | "
                     f"{'**missed**' if missed else 'met'} | {r['commit']} |")
    atomic_write_text(RESULTS / f"{args.out}.md", "\n".join(lines) + "\n")
    atomic_write_text(RESULTS / f"{args.out}.json", json.dumps({"command": command, "rows": rows}, indent=2))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
