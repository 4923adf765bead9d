"""Old and new side by side: one method's rows of two recorded result files, per dataset.

Used for the scheduler change (issue 13): every table re-run at its budget
with the new engine, compared with the recorded one. The report says per
dataset the old and new ALC, the difference (a dataset more than
``--tolerance`` worse is flagged), final NAUC, time to first prediction and
the commits of both rows.

Usage::

    python -m benchmarks.compare_results --pairs tabular_T120:tabular_T120_v2 vision_T300:vision_T300_v2 \\
        suite_quick@b0ed317:suite_quick --method solver --out benchmarks/results/scheduler_before_after.md

``TAG@COMMIT`` reads the result file as it was committed at ``COMMIT`` (a table re-run under the
same tag replaced it).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional, Sequence

from autodl_solver.bench.datasets import DATASETS
from autodl_solver.bench.protocol_runner import RESULTS
from autodl_solver.utils.atomic import atomic_write_text

#: Issue 13's time-to-first-prediction goals per domain (seconds).
FIRST_PREDICTION_GOAL_S = {"tabular": 1.0, "image": 2.0, "text": 3.0, "speech": 3.0, "video": 5.0}
#: Issue 13's goal for ALC / the run's own final NAUC.
ALC_OVER_FINAL_GOAL = 0.90


def read_record(tag: str) -> Optional[dict]:
    """``results/<tag>.json``, or with ``<tag>@<commit>`` the file as committed at ``commit`` (git show)."""
    if "@" in tag:
        import subprocess

        name, rev = tag.split("@", 1)
        done = subprocess.run(["git", "show", f"{rev}:benchmarks/results/{name}.json"], cwd=RESULTS.parents[1],
                              capture_output=True, text=True, check=False)
        return json.loads(done.stdout) if done.returncode == 0 else None
    path = RESULTS / f"{tag}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def rows_of(tag: str, method: str) -> dict[str, dict]:
    """``dataset -> row`` of ``method`` in ``results/<tag>.json`` (``tag@commit``: as committed then)."""
    record = read_record(tag)
    if record is None:
        return {}
    rows = {r["dataset"]: dict(r) for r in record.get("results", []) if r.get("method") == method}
    for row in rows.values():  # rows of older files carry no machine of their own: the file's
        row.setdefault("machine", record.get("machine"))
        if not (row["machine"] or {}).get("git_commit") and record.get("commits", {}).get(method):
            row["machine"] = {**(row["machine"] or {}), "git_commit": ",".join(record["commits"][method])}
    return rows


def compare(pairs: Sequence[tuple[str, str]], method: str, tolerance: float) -> tuple[str, list[dict]]:
    """The markdown report and its rows."""
    table = []
    for old_tag, new_tag in pairs:
        old, new = rows_of(old_tag, method), rows_of(new_tag, method)
        for dataset in [d for d in old if d in new] + [d for d in new if d not in old]:
            o, n = old.get(dataset), new[dataset]
            entry = {"old_tag": old_tag, "new_tag": new_tag, "dataset": dataset,
                     "old_alc": None if o is None else o["alc"], "new_alc": n["alc"],
                     "old_final": None if o is None else o["final_nauc"], "new_final": n["final_nauc"],
                     "old_first_s": None if o is None else o["first_prediction_s"],
                     "new_first_s": n["first_prediction_s"],
                     "old_commit": None if o is None else (o.get("machine") or {}).get("git_commit"),
                     "new_commit": (n.get("machine") or {}).get("git_commit")}
            domain = DATASETS[dataset].domain if dataset in DATASETS else None
            entry["domain"] = domain
            entry["alc_over_final"] = n["alc"] / n["final_nauc"] if n["final_nauc"] > 0 else None
            goal = FIRST_PREDICTION_GOAL_S.get(domain)
            entry["first_goal_met"] = None if goal is None else bool(n["first_prediction_s"] <= goal)
            if o is not None:
                entry["diff"] = n["alc"] - o["alc"]
                entry["worse"] = bool(entry["diff"] < -tolerance)
            table.append(entry)
    fmt = (lambda v, spec=".4f": "-" if v is None else format(v, spec))
    lines = [f"# {method}: recorded tables, old and new engine side by side", "",
             f"Command: `python -m benchmarks.compare_results {' '.join(sys.argv[1:])}`", "",
             f"A dataset more than {tolerance} ALC worse is flagged **worse**.", "",
             f"Goals: new ALC / new final NAUC >= {ALC_OVER_FINAL_GOAL}; first prediction <= "
             + ", ".join(f"{v:g} s {k}" for k, v in FIRST_PREDICTION_GOAL_S.items()) + ".", "",
             "| table (old -> new) | dataset | old ALC | new ALC | diff | old final NAUC | new final NAUC | "
             "new ALC / final | old first (s) | new first (s) | first goal | commits |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for e in table:
        flag = " **worse**" if e.get("worse") else ""
        lines.append(f"| {e['old_tag']} -> {e['new_tag']} | {e['dataset']} | {fmt(e['old_alc'])} | "
                     f"{fmt(e['new_alc'])} | {fmt(e.get('diff'), '+.4f')}{flag} | {fmt(e['old_final'])} | "
                     f"{fmt(e['new_final'])} | {fmt(e['alc_over_final'], '.3f')} | {fmt(e['old_first_s'], '.2f')} | "
                     f"{fmt(e['new_first_s'], '.2f')} | "
                     f"{'-' if e['first_goal_met'] is None else ('met' if e['first_goal_met'] else '**missed**')} | "
                     f"{e['old_commit']} -> {e['new_commit']} |")
    compared = [e for e in table if "diff" in e]
    if compared:
        worse = [e["dataset"] for e in compared if e["worse"]]
        lines += ["", f"{len(compared)} datasets compared; mean difference "
                      f"{sum(e['diff'] for e in compared) / len(compared):+.4f} ALC; "
                      f"worse by more than {tolerance}: {', '.join(worse) if worse else 'none'}."]
    low = [e["dataset"] for e in table if e["alc_over_final"] is not None and e["alc_over_final"] < ALC_OVER_FINAL_GOAL]
    late = [e["dataset"] for e in table if e["first_goal_met"] is False]
    lines += [f"ALC / final NAUC below {ALC_OVER_FINAL_GOAL}: {', '.join(low) if low else 'none'}; "
              f"first prediction past its goal: {', '.join(late) if late else 'none'}."]
    return "\n".join(lines) + "\n", table


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", nargs="+", required=True, help="OLD_TAG:NEW_TAG result file stems")
    p.add_argument("--method", default="solver")
    p.add_argument("--tolerance", type=float, default=0.005)
    p.add_argument("--out", type=Path, default=RESULTS / "scheduler_before_after.md")
    args = p.parse_args(argv)
    pairs = []
    for pair in args.pairs:
        if ":" not in pair:
            print(f"error: --pairs: expected OLD_TAG:NEW_TAG, got {pair!r}", file=sys.stderr)
            return 2
        pairs.append(tuple(pair.rsplit(":", 1)))
    md, table = compare(pairs, args.method, args.tolerance)
    atomic_write_text(args.out, md)
    atomic_write_text(args.out.with_suffix(".json"), json.dumps({"method": args.method, "rows": table}, indent=2))
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
