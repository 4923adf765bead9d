"""Run (dataset x method) tasks through ingestion + scoring and write the report files.

Shared by the ``run_*`` scripts. Every row is a protocol number
(``autodl_solver.challenge.runner.run_challenge``). Each finished run is also
kept in ``work/runs/<tag>/<dataset>/<method>/row.json``, so a benchmark can be
run in parts (``--methods baseline1`` now, ``--methods solver`` later) and
the report merges what exists (``--merge``), including the rows already in
``results/<tag>.json`` (runs of an earlier session; a local run of the same
dataset and method replaces its row). Every row keeps its command and machine.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

from .machine import machine_info
from .report import markdown_table, plot_dataset_curves, summarise_run

RESULTS = Path(__file__).parent / "results"
WORK = Path(__file__).parent / "work"


def run_tasks(tag: str, datasets: Sequence[str], methods: Sequence[str], time_budget: float,
              build: Callable[[str, Path], Optional[Path]], command: str, merge: bool = False,
              run: bool = True) -> dict:
    """Run every (dataset, method), then write ``results/<tag>.{json,md}`` and one PNG per dataset.

    Parameters
    ----------
    tag : str
        Result file stem.
    datasets, methods : sequences of str
        What to run; a dataset whose builder returns ``None`` is skipped with a note.
    time_budget : float
        T of every run (seconds).
    build : callable
        ``build(name, root) -> dataset dir or None``.
    command : str
        The command line recorded beside the numbers.
    merge : bool
        Also report earlier runs of this tag kept under ``work/runs/<tag>`` (other methods/datasets).
    run : bool
        ``False`` runs nothing and only rebuilds the report from the kept runs (implies ``merge``).
    """
    from autodl_solver.challenge.runner import run_challenge

    runs_root = WORK / "runs" / tag
    merge = merge or not run
    for name in datasets if run else ():
        dataset_dir = build(name, WORK / "data")
        if dataset_dir is None:
            print(f"[bench] {name}: not available here, skipped", file=sys.stderr, flush=True)
            continue
        for method in methods:
            out = runs_root / name / method
            print(f"[bench] {name} / {method} (T={time_budget:g}s)", file=sys.stderr, flush=True)
            machine = machine_info()  # before the run: the commit whose code the run imports
            result = run_challenge(dataset_dir, out, time_budget=time_budget, method=method)
            row = summarise_run(name, method, Path(result["score_dir"]))
            row["command"] = command
            row["machine"] = machine
            (out / "row.json").write_text(json.dumps(row, indent=2))
            print(f"[bench]   ALC {row['alc']:.4f}  final NAUC {row['final_nauc']:.4f}  "
                  f"first {row['first_prediction_s']:.2f}s", file=sys.stderr, flush=True)
    wanted = set(datasets)
    found: dict[tuple[str, str], dict] = {}
    if merge:
        # rows recorded earlier (another session, whose work/ folder is gone) count too; local runs win
        for row in _recorded_rows(RESULTS / f"{tag}.json"):
            found[(row["dataset"], row["method"])] = row
    for path in sorted(runs_root.glob("*/*/row.json")):
        row = json.loads(path.read_text())
        found[(row["dataset"], row["method"])] = row
    rows = [r for r in found.values() if r["dataset"] in wanted and (merge or r["method"] in methods)]
    order = {d: i for i, d in enumerate(datasets)}
    rows.sort(key=lambda r: (order[r["dataset"]], r["method"] != "solver", r["method"]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in datasets:
        curves = {r["method"]: r for r in rows if r["dataset"] == name}
        if curves:
            plot_dataset_curves(name, curves, time_budget, RESULTS / f"{tag}_{name}.png")
    commands = list(dict.fromkeys(r.get("command", command) for r in rows))
    machines = [r.get("machine") for r in rows]
    commits: dict[str, list[str]] = {}
    for r, m in zip(rows, machines):
        if m and m.get("git_commit") and m["git_commit"] not in commits.setdefault(r["method"], []):
            commits[r["method"]].append(m["git_commit"])
    record = {"benchmark": tag, "command": " ; ".join(commands) or command, "time_budget": time_budget,
              "machine": next((m for m in machines if m), None) or machine_info(), "commits": commits,
              "results": rows}
    (RESULTS / f"{tag}.json").write_text(json.dumps(record, indent=2))
    md = markdown_table(record)
    (RESULTS / f"{tag}.md").write_text(md)
    print(md)
    return record



def _recorded_rows(path: Path) -> list[dict]:
    """Rows of an earlier result file (each keeps its command and machine), or none."""
    if not path.is_file():
        return []
    try:
        record = json.loads(path.read_text())
    except ValueError:
        return []
    rows = record.get("results") or []
    for row in rows:  # files written before rows kept their own command and machine
        row.setdefault("command", record.get("command", ""))
        row.setdefault("machine", record.get("machine"))
    return rows
