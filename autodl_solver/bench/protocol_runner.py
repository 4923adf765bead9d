"""Run (dataset x method) tasks through ingestion + scoring and write the report files.

Shared by the ``run_*`` scripts. Every row is a protocol number
(``autodl_solver.challenge.runner.run_challenge``). Each finished run is also
kept in ``work/runs/<tag>/<dataset>/<method>/row.json``, so a benchmark can be
run in parts (``--methods baseline1`` now, ``--methods solver`` later) and
the report merges what exists (``--merge``), including the rows already in
``results/<tag>.json`` (runs of an earlier session; a local run of the same
dataset and method replaces its row). Every row keeps its command and machine.

Provenance: every row records the code it ran (``machine.git_commit`` and
``git_dirty``: uncommitted changes in the checkout) and the engine's
per-learner summary (``learners``, from the round log the challenge model
writes to ``<out>/rounds.json`` when ``AUTODL_SOLVER_ROUND_LOG`` names it).
The runners refuse a dirty checkout (:func:`require_clean_tree`) unless
``--allow-dirty`` is given, which the rows then record (``allow_dirty``).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Callable, Iterator, Mapping, Optional, Sequence

from autodl_solver.errors import AutoDLInputError
from autodl_solver.utils.atomic import atomic_write_text

from . import machine
from .machine import default_dirs, git_state, machine_info
from .report import learner_failures, markdown_table, plot_dataset_curves, summarise_run

#: Result and work folders: ``benchmarks/results`` and ``benchmarks/work`` of the checkout, or
#: ``./bench_results`` and ``./bench_work`` for an installed package (:func:`.machine.default_dirs`).
RESULTS, WORK = default_dirs()

#: Variable naming the JSON round log the challenge model writes (``challenge/model.py``).
ROUND_LOG_ENV = "AUTODL_SOLVER_ROUND_LOG"
#: The round log's name inside a run's output folder (``row["round_log"]``).
ROUND_LOG_NAME = "rounds.json"

#: Help text of every runner's ``--allow-dirty`` flag.
ALLOW_DIRTY_HELP = ("run even with uncommitted changes in the checkout (recorded in every row as "
                    "allow_dirty, beside git_dirty)")


class DirtyTreeError(AutoDLInputError):
    """The checkout has uncommitted changes (or cannot be checked) and ``--allow-dirty`` was not given."""


def check_clean_tree(allow_dirty: bool = False, repo: Optional[Path] = None) -> dict:
    """The checkout's :func:`~autodl_solver.bench.machine.git_state`; raise :class:`DirtyTreeError` on a dirty tree.

    A benchmark number must name the code that produced it: a commit alone
    does not when files were changed since. ``allow_dirty`` lets the run go
    on (the rows then say so); a checkout whose state cannot be read (no git)
    counts as dirty. Run from an installed package (no checkout, no ``repo``)
    there is no tree to check: the state (``git_commit`` ``None``,
    ``installed_package``) is returned and nothing is refused.

    Parameters
    ----------
    allow_dirty : bool
        ``--allow-dirty`` was given.
    repo : path, optional
        The checkout (default the one holding ``benchmarks/``).
    """
    state = git_state(repo)
    if "installed_package" in state:
        return state
    if state["git_dirty"] is not False and not allow_dirty:
        where = machine.REPO_ROOT if repo is None else Path(repo)
        why = ("has uncommitted changes (git status --porcelain is not empty)" if state["git_dirty"]
               else "is not a git checkout (or git is missing), so the code of the results cannot be named")
        raise DirtyTreeError(where, f"the working tree {why}; commit first, or pass --allow-dirty "
                                    "(recorded in the results)")
    return state


def require_clean_tree(allow_dirty: bool = False, repo: Optional[Path] = None) -> dict:
    """:func:`check_clean_tree` for a script's ``main``: on a dirty tree, one ``error:`` line on stderr and exit 2.

    Returns the git state when the run may go on. Call it before running
    anything; report-only modes (rebuilding a report from kept runs) need no check.
    """
    try:
        return check_clean_tree(allow_dirty, repo)
    except DirtyTreeError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None


def table_main(script: str, doc: Optional[str], datasets: Sequence[str], methods: Sequence[str],
               time_budget: float, build: Callable[[str, Path], Optional[Path]],
               argv: Optional[Sequence[str]] = None) -> int:
    """The command line every domain table shares (``benchmarks/run_<domain>.py``), then :func:`run_tasks`.

    Parameters
    ----------
    script : str
        The runner's module name under ``benchmarks`` (``run_speech``); its tag prefix is the part after
        ``run_`` (``speech_T<budget>`` unless ``--tag`` is given).
    doc : str
        The runner's docstring (its ``--help``).
    datasets, methods : sequences of str
        The table's datasets (also the allowed ``--datasets``) and its default methods.
    time_budget : float
        The table's T.
    build : callable
        ``build(name, root)``: the dataset's folder, or ``None`` when its source is absent.
    argv : sequence of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0; a dirty checkout without ``--allow-dirty`` exits 2 with one line (:func:`require_clean_tree`).
    """
    p = argparse.ArgumentParser(prog=f"python -m benchmarks.{script}", description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--time_budget", type=float, default=time_budget)
    p.add_argument("--datasets", nargs="+", default=list(datasets), choices=list(datasets))
    p.add_argument("--methods", nargs="+", default=list(methods))
    prefix = script.removeprefix("run_")
    p.add_argument("--tag", default=None, help=f"result file stem (default {prefix}_T<budget>)")
    p.add_argument("--merge", action="store_true", help="also report earlier runs of this tag (other methods)")
    p.add_argument("--report", action="store_true", help="run nothing; rebuild the report from the kept runs")
    p.add_argument("--allow-dirty", dest="allow_dirty", action="store_true", help=ALLOW_DIRTY_HELP)
    args = p.parse_args(argv)
    if not args.report:
        require_clean_tree(args.allow_dirty)  # exits 2 with one line on a checkout with uncommitted changes
    tag = args.tag or f"{prefix}_T{int(args.time_budget)}"
    command = f"python -m benchmarks.{script} " + " ".join(sys.argv[1:] if argv is None else argv)
    run_tasks(tag, args.datasets, args.methods, args.time_budget, build, command.strip(),
              merge=args.merge, run=not args.report, allow_dirty=args.allow_dirty)
    return 0


def run_tasks(tag: str, datasets: Sequence[str], methods: Sequence[str], time_budget: float,
              build: Callable[[str, Path], Optional[Path]], command: str, merge: bool = False,
              run: bool = True, allow_dirty: bool = False) -> dict:
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
    allow_dirty : bool
        Recorded in every new row (the caller checked the tree with :func:`require_clean_tree`).
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
            row = run_one(name, method, dataset_dir, runs_root / name / method, time_budget, command,
                          allow_dirty=allow_dirty)
            print(f"[bench]   ALC {row['alc']:.4f}  final NAUC {row['final_nauc']:.4f}  "
                  f"first {row['first_prediction_s']:.2f}s{learner_failures(row)}", file=sys.stderr, flush=True)
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
            verbose: bool = True, machine: Optional[dict] = None, allow_dirty: bool = False,
            env: Optional[Mapping[str, str]] = None) -> dict:
    """Run one (dataset, method) through ingestion + scoring; keep its row in ``out/row.json`` and return it.

    Parameters
    ----------
    dataset, method : str
        Names recorded in the row (``method`` also selects our model.py's method).
    dataset_dir : path
        The dataset folder (holding one ``X.data``).
    out : path
        The run's output folder (predictions, scores, ingestion log,
        ``rounds.json``, ``row.json``).
    time_budget : float
        T of the run (seconds).
    command : str
        The command line recorded in the row.
    verbose : bool
        Print the run's summary on stdout.
    machine : dict, optional
        :func:`machine_info` of this machine, read by the caller (saves this
        process importing every package to read its version); the date,
        commit and dirtiness are read afresh.
    allow_dirty : bool
        Recorded in the row (``allow_dirty``, beside ``git_dirty``).
    env : mapping, optional
        Extra environment variables of the run's ingestion process (set in
        ``os.environ`` around the run, then restored; ``run_challenge``
        copies ``os.environ`` into the child). ``AUTODL_SOLVER_ROUND_LOG``
        is always set, to ``out/rounds.json``.

    Returns
    -------
    dict
        :func:`~autodl_solver.bench.report.summarise_run`'s row plus ``ingestion_success``,
        ``killed``, ``ingestion_error``, ``command``, ``machine``, ``git_dirty``, ``allow_dirty``,
        ``round_log`` (``"rounds.json"``, relative to ``out``), ``learners``
        (the round log's per-learner summary, or ``None`` when the run wrote
        none) and ``device`` (the round log's, or ``None``).
    """
    from autodl_solver.challenge import runner

    machine = _machine(machine)  # before the run: the commit whose code the run imports
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    round_log = out / ROUND_LOG_NAME
    if round_log.exists():
        round_log.unlink()  # a previous run's log must not stand for this one
    child_env = {**(env or {}), ROUND_LOG_ENV: str(round_log.resolve())}
    with environment(child_env):
        result = runner.run_challenge(dataset_dir, out, time_budget=time_budget, method=method, verbose=verbose)
    row = summarise_run(dataset, method, Path(result["score_dir"]))
    row["ingestion_success"] = bool(result["ingestion_success"])
    row["killed"] = bool(result["killed"])  # stopped at T (normal for a method that uses all of it)
    row["ingestion_error"] = result.get("error")  # run_challenge's account of a failed ingestion, if any
    row["command"] = command
    row["machine"] = machine
    row["git_dirty"] = machine.get("git_dirty")
    row["allow_dirty"] = bool(allow_dirty)
    log = read_round_log(round_log)
    row["round_log"] = ROUND_LOG_NAME
    row["learners"] = _learner_list(log)
    row["device"] = log.get("device") if log else None
    atomic_write_text(out / "row.json", json.dumps(row, indent=2))
    return row


@contextlib.contextmanager
def environment(values: Mapping[str, Optional[str]]) -> Iterator[None]:
    """Set (``None``: remove) environment variables for a block, restoring the old values after it."""
    saved = {key: os.environ.get(key) for key in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = str(value)
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def read_round_log(path: Path) -> Optional[dict]:
    """The JSON round log of a run (a dict), or ``None`` when it is missing or does not parse."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _learner_list(log: Optional[dict]) -> Optional[list]:
    """The round log's ``learners`` list (entries that are not mappings dropped), or ``None``."""
    learners = (log or {}).get("learners")
    if not isinstance(learners, list):
        return None
    return [entry for entry in learners if isinstance(entry, dict)]


_MACHINE: dict = {}


def _machine(known: Optional[dict] = None) -> dict:
    """:func:`machine_info` with its costly part (package versions: TensorFlow's import) read once per process.

    ``known`` (the caller's :func:`machine_info` of this machine) stands for
    that part. The date, the git commit and whether the tree is dirty are
    read afresh on every call: a long benchmark may span a commit.
    """
    from datetime import datetime, timezone

    if not _MACHINE:
        if known is None:
            _MACHINE.update(machine_info())
            return dict(_MACHINE)
        _MACHINE.update(known)
    return {**_MACHINE, **git_state(), "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}


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
