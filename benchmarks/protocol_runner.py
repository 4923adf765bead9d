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

from autodl_solver.utils.atomic import atomic_write_text

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
    runs_root = WORK / "runs" / tag
    merge = merge or not run
    for name in datasets if run else ():
        dataset_dir = build(name, WORK / "data")
        if dataset_dir is None:
            print(f"[bench] {name}: not available here, skipped", file=sys.stderr, flush=True)
            continue
        for method in methods:
            print(f"[bench] {name} / {method} (T={time_budget:g}s)", file=sys.stderr, flush=True)
            row = run_one(name, method, dataset_dir, runs_root / name / method, time_budget, command)
            print(f"[bench]   ALC {row['alc']:.4f}  final NAUC {row['final_nauc']:.4f}  "
                  f"first {row['first_prediction_s']:.2f}s", file=sys.stderr, flush=True)
    wanted = set(datasets)
    found: dict[tuple[str, str], dict] = {}
    if merge:
        # rows recorded earlier (another session, whose work/ folder is gone) count too; local runs win
        for row in recorded_rows(RESULTS / f"{tag}.json"):
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
    atomic_write_text(RESULTS / f"{tag}.json", json.dumps(record, indent=2))
    md = markdown_table(record)
    atomic_write_text(RESULTS / f"{tag}.md", md)
    print(md)
    return record


def run_one(dataset: str, method: str, dataset_dir: Path, out: Path, time_budget: float, command: str,
            verbose: bool = True, machine: Optional[dict] = None) -> dict:
    """Run one (dataset, method) through ingestion + scoring; keep its row in ``out/row.json`` and return it.

    Parameters
    ----------
    dataset, method : str
        Names recorded in the row (``method`` also selects our model.py's method).
    dataset_dir : path
        The dataset folder (holding one ``X.data``).
    out : path
        The run's output folder (predictions, scores, ingestion log, ``row.json``).
    time_budget : float
        T of the run (seconds).
    command : str
        The command line recorded in the row.
    verbose : bool
        Print the run's summary on stdout.
    machine : dict, optional
        :func:`machine_info` of this machine, read by the caller (saves this
        process importing every package to read its version); the date and
        commit are read afresh.
    """
    from autodl_solver.challenge.runner import run_challenge

    machine = _machine(machine)  # before the run: the commit whose code the run imports
    result = run_challenge(dataset_dir, out, time_budget=time_budget, method=method, verbose=verbose)
    row = summarise_run(dataset, method, Path(result["score_dir"]))
    row["ingestion_success"] = bool(result["ingestion_success"])
    row["killed"] = bool(result["killed"])  # stopped at T (normal for a method that uses all of it)
    row["command"] = command
    row["machine"] = machine
    atomic_write_text(Path(out) / "row.json", json.dumps(row, indent=2))
    return row


_MACHINE: dict = {}


def _machine(known: Optional[dict] = None) -> dict:
    """:func:`machine_info` with its costly part (package versions: TensorFlow's import) read once per process.

    ``known`` (the caller's :func:`machine_info` of this machine) stands for
    that part. The date and the git commit are read afresh on every call: a
    long benchmark may span a commit.
    """
    import subprocess
    from datetime import datetime, timezone

    if not _MACHINE:
        if known is None:
            _MACHINE.update(machine_info())
            return dict(_MACHINE)
        _MACHINE.update(known)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                check=False).stdout.strip()
    except OSError:
        commit = ""
    return {**_MACHINE, "git_commit": commit, "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def recorded_rows(path: Path) -> list[dict]:
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
