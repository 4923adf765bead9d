"""Benchmark suites: (dataset x method) runs from ``configs/suites/<name>.yaml``, on any executor.

A suite file names its datasets (keys of :data:`autodl_solver.bench.datasets.DATASETS`),
its methods (:data:`autodl_solver.domains.methods.METHODS`), the budget T and
the result tag::

    tag: quick             # results/<tag>.{json,md}, work/runs/<tag>/<dataset>/<method>/row.json
    time_budget: 20        # seconds per run
    datasets: [wine, digits]
    methods: [solver, baseline1, mlp]
    description: one line  # optional

:func:`expand_tasks` pairs them, skipping with a note a method that is not
available (not in ``METHODS``, or its learner not registered) or that does not
accept a dataset's domain (``mlp`` is tabular only, the AutoSpeech / AutoNLP
baselines speech / text only). :func:`run_suite` builds every dataset in this
process first (workers never race on a build), runs each task as one
:func:`~autodl_solver.challenge.runner.run_challenge` — the project's own
ingestion + scoring, so every number is a protocol number — through an
:class:`~autodl_solver.utils.executors.Executor`, keeps each row like
``protocol_runner`` does, and writes ``<tag>.json``, ``<tag>.md`` and one
learning-curve PNG per dataset with machine and version information.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from autodl_solver.errors import AutoDLInputError
from autodl_solver.utils.atomic import atomic_write_text
from autodl_solver.utils.executors import Executor, wait_any

from .datasets import DATASETS, DatasetSpec
from .machine import machine_info
from .protocol_runner import RESULTS, WORK, recorded_rows, run_one
from .report import learner_failures, plot_dataset_curves, suite_markdown



def _suites_dir() -> Path:
    """``autodl_solver/configs/suites`` (an installed package's copy) when present, else the checkout's."""
    here = Path(__file__).resolve()
    candidates = (here.parents[1] / "configs" / "suites", here.parents[2] / "configs" / "suites")
    return next((d for d in candidates if d.is_dir()), candidates[-1])


#: Where suite files live: ``configs/suites/<name>.yaml`` (package data of an installed package, or the checkout's).
SUITES_DIR = _suites_dir()

_FIELDS = {"tag", "time_budget", "datasets", "methods", "description"}


@dataclass(frozen=True)
class Suite:
    """A benchmark suite as loaded from its YAML file."""

    name: str
    path: Path
    tag: str
    time_budget: float
    datasets: tuple[str, ...]
    methods: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class Task:
    """One run of a suite: a method on a dataset."""

    dataset: str
    domain: str
    method: str


@dataclass
class Plan:
    """The tasks of a suite and the notes on what was skipped."""

    tasks: list[Task] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def suite_path(name: str | Path) -> Path:
    """``configs/suites/<name>.yaml`` for a bare name, else ``name`` as a path."""
    text = str(name)
    if text.endswith((".yaml", ".yml")) or "/" in text:
        return Path(text)
    return SUITES_DIR / f"{text}.yaml"


def available_suites() -> list[str]:
    """Names of the suite files in :data:`SUITES_DIR`."""
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))


def load_suite(name: str | Path, registry: Optional[dict[str, DatasetSpec]] = None) -> Suite:
    """Read and check a suite file.

    Parameters
    ----------
    name : str or path
        A suite name (``quick`` -> ``configs/suites/quick.yaml``) or a YAML path.
    registry : dict, optional
        Known datasets (default :data:`autodl_solver.bench.datasets.DATASETS`).

    Raises
    ------
    AutoDLInputError
        Naming the file (and field) when the file is missing, not YAML, or a
        field is missing, unknown or of the wrong type, or names an unknown dataset.
    """
    import yaml

    registry = DATASETS if registry is None else registry
    path = suite_path(name)
    if not path.is_file():
        known = ", ".join(available_suites()) or "none"
        raise AutoDLInputError(path, f"no such suite file (suites in {SUITES_DIR}: {known})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise AutoDLInputError(path, f"not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise AutoDLInputError(path, "expected a mapping with tag, time_budget, datasets and methods")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise AutoDLInputError(f"{path}: {unknown[0]}", f"unknown field; expected some of {sorted(_FIELDS)}")
    for key in ("tag", "time_budget", "datasets", "methods"):
        if key not in data:
            raise AutoDLInputError(f"{path}: {key}", "missing")
    tag = data["tag"]
    if not isinstance(tag, str) or not tag or any(c in tag for c in "/\\ "):
        raise AutoDLInputError(f"{path}: tag", f"expected a file-name stem (no spaces or slashes), got {tag!r}")
    budget = data["time_budget"]
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not budget > 0:
        raise AutoDLInputError(f"{path}: time_budget", f"expected a positive number of seconds, got {budget!r}")
    datasets = _names(data["datasets"], path, "datasets")
    methods = _names(data["methods"], path, "methods")
    bad = [d for d in datasets if d not in registry]
    if bad:
        raise AutoDLInputError(f"{path}: datasets", f"unknown dataset(s) {bad}; expected some of {sorted(registry)}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise AutoDLInputError(f"{path}: description", "expected one line of text")
    return Suite(path.stem, path, tag, float(budget), datasets, methods, description)


def _names(value: Any, path: Path, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise AutoDLInputError(f"{path}: {key}", f"expected a non-empty list of names, got {value!r}")
    if len(set(value)) != len(value):
        raise AutoDLInputError(f"{path}: {key}", f"names a value twice: {value}")
    return tuple(value)


def method_domains(method: str) -> Optional[tuple[str, ...]]:
    """Domains ``method`` accepts (``("any",)`` for all); ``None`` when it is not available here."""
    from autodl_solver.domains.methods import method_domains as registry_domains

    try:
        return registry_domains(method)
    except AutoDLInputError:  # not a method, or listed in METHODS with no registered learner (yet)
        return None


def expand_tasks(suite: Suite, registry: Optional[dict[str, DatasetSpec]] = None,
                 datasets: Optional[Sequence[str]] = None, methods: Optional[Sequence[str]] = None) -> Plan:
    """The (dataset, method) tasks of ``suite``, dataset by dataset, and notes on those skipped.

    Parameters
    ----------
    suite : Suite
        The suite.
    registry : dict, optional
        Known datasets (default :data:`autodl_solver.bench.datasets.DATASETS`).
    datasets, methods : sequences of str, optional
        Replace the suite's lists (``--datasets`` / ``--methods``).
    """
    from autodl_solver.domains.methods import METHODS

    registry = DATASETS if registry is None else registry
    plan = Plan()
    datasets = list(suite.datasets if datasets is None else datasets)
    for name in datasets:
        if name not in registry:
            raise AutoDLInputError("datasets", f"unknown dataset {name!r}; expected some of {sorted(registry)}")
    for method in dict.fromkeys(suite.methods if methods is None else methods):
        accepted = method_domains(method)
        if accepted is None:
            why = "is not a method (not in METHODS)" if method not in METHODS else "has no registered learner yet"
            plan.skipped.append(f"method {method}: {why}; skipped")
            continue
        refused = [d for d in datasets if "any" not in accepted and registry[d].domain not in accepted]
        if refused:
            plan.skipped.append(f"method {method}: runs on {', '.join(accepted)} data only; not run on "
                                f"{', '.join(refused)}")
    for name in datasets:
        domain = registry[name].domain
        for method in dict.fromkeys(suite.methods if methods is None else methods):
            accepted = method_domains(method)
            if accepted is not None and ("any" in accepted or domain in accepted):
                plan.tasks.append(Task(name, domain, method))
    return plan


def run_task(dataset: str, domain: str, method: str, dataset_dir: str, out_dir: str, time_budget: float,
             command: str, machine: Optional[dict] = None, host: str = "", allow_dirty: bool = False) -> dict:
    """One task of a suite, in a worker: run_challenge, keep ``row.json``, return the row.

    ``machine`` is the parent's :func:`~autodl_solver.bench.machine.machine_info`, used
    when this worker runs on the parent's host ``host`` (a Ray worker on
    another node reads its own). ``allow_dirty`` is recorded in the row. Never raises: an error comes back as
    ``{"dataset", "method", "error"}`` so that one broken run does not stop the suite.
    """
    import platform

    known = machine if host and host == platform.node() else None
    try:
        row = run_one(dataset, method, Path(dataset_dir), Path(out_dir), time_budget, command, verbose=False,
                      machine=known, allow_dirty=allow_dirty)
    except Exception as exc:  # noqa: BLE001 - reported in the suite's notes
        return {"dataset": dataset, "domain": domain, "method": method, "error": f"{type(exc).__name__}: {exc}"}
    row["domain"] = domain
    row["time_budget"] = time_budget
    atomic_write_text(Path(out_dir) / "row.json", json.dumps(row, indent=2))
    return row


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_suite(suite: Suite, executor: Optional[Executor], *, time_budget: Optional[float] = None,
              datasets: Optional[Sequence[str]] = None, methods: Optional[Sequence[str]] = None,
              registry: Optional[dict[str, DatasetSpec]] = None, results_dir: Path = RESULTS,
              work_dir: Path = WORK, command: str = "", report_only: bool = False,
              log: Callable[[str], None] = _stderr, allow_dirty: bool = False) -> dict:
    """Run a suite (or only report its kept runs) and write ``<tag>.json``, ``<tag>.md`` and the PNGs.

    Parameters
    ----------
    suite : Suite
        From :func:`load_suite`.
    executor : Executor or None
        Where the tasks run (``None`` only with ``report_only``).
    time_budget : float, optional
        Overrides the suite's T; the tag becomes ``<tag>_T<T>`` so runs of
        different budgets are never mixed.
    datasets, methods : sequences of str, optional
        Replace the suite's lists.
    registry : dict, optional
        Known datasets (default :data:`autodl_solver.bench.datasets.DATASETS`).
    results_dir : path
        Where the report files go (default :data:`~autodl_solver.bench.protocol_runner.RESULTS`:
        ``benchmarks/results`` of the checkout, ``./bench_results`` for an installed package).
    work_dir : path
        Datasets are built in ``work_dir/data``, runs kept in ``work_dir/runs/<tag>`` (default
        ``benchmarks/work`` of the checkout, ``./bench_work`` for an installed package).
    command : str
        The command line recorded in every row and the report.
    report_only : bool
        Run nothing; report the runs kept under ``work_dir/runs/<tag>``.
    log : callable
        Receives the progress lines.
    allow_dirty : bool
        Recorded in every new row: the caller let the suite run on a checkout
        with uncommitted changes (``bench --allow-dirty``; the check itself is
        :func:`autodl_solver.bench.protocol_runner.check_clean_tree`, done by the caller).

    Returns
    -------
    dict
        The record written to ``<tag>.json``: ``benchmark`` (tag), ``suite``,
        ``command``, ``time_budget``, ``machine``, ``commits``, ``results``
        (rows), ``skipped``, ``failed``, ``wall_s``.
    """
    registry = DATASETS if registry is None else registry
    budget = suite.time_budget if time_budget is None else float(time_budget)
    if not budget > 0:
        raise AutoDLInputError("time_budget", f"expected a positive number of seconds, got {budget}")
    tag = suite.tag if budget == suite.time_budget else f"{suite.tag}_T{budget:g}"
    plan = expand_tasks(suite, registry, datasets, methods)
    runs_root = Path(work_dir) / "runs" / tag
    skipped, failed = list(plan.skipped), []
    start = time.perf_counter()
    if not report_only:
        if executor is None:
            raise AutoDLInputError("executor", "needed to run the suite (or pass report_only=True)")
        paths: dict[str, Optional[Path]] = {}
        for name in dict.fromkeys(t.dataset for t in plan.tasks):
            log(f"[bench] building {name} ...")
            paths[name] = registry[name].build(Path(work_dir) / "data")
            if paths[name] is None:
                skipped.append(f"dataset {name}: its offline source is not available here; skipped")
                log(f"[bench] {name}: its offline source is not available here; skipped")
        tasks = [t for t in plan.tasks if paths.get(t.dataset) is not None]
        failed = _run_tasks(tasks, paths, executor, runs_root, budget, command, log, allow_dirty)
    rows = _kept_rows(runs_root, results_dir / f"{tag}.json", plan.tasks)
    machines = [r.get("machine") for r in rows if r.get("machine")]
    commits: dict[str, list[str]] = {}
    for r in rows:
        commit = (r.get("machine") or {}).get("git_commit")
        if commit and commit not in commits.setdefault(r["method"], []):
            commits[r["method"]].append(commit)
    wall_s = round(time.perf_counter() - start, 1)
    if report_only:  # the report stands for the runs: their commands, and the wall time of the last full run
        command = " ; ".join(dict.fromkeys(r["command"] for r in rows if r.get("command"))) or command
        wall_s = _previous(results_dir / f"{tag}.json", "wall_s")
    record = {"benchmark": tag, "suite": suite.name, "command": command, "time_budget": budget,
              "machine": machines[0] if machines else machine_info(), "commits": commits, "results": rows,
              "skipped": skipped, "failed": failed, "wall_s": wall_s}
    write_report(record, results_dir)
    return record


def _run_tasks(tasks: list[Task], paths: dict[str, Optional[Path]], executor: Executor, runs_root: Path,
               budget: float, command: str, log: Callable[[str], None], allow_dirty: bool = False) -> list[str]:
    """Run the tasks, at most ``executor.max_workers`` at once, logging each start and end; the failure notes."""
    import platform

    machine = machine_info()  # once here, not once per worker process (it imports every package)
    failed: list[str] = []
    pending: dict[Any, int] = {}
    total, next_index, finished = len(tasks), 0, 0
    start = time.perf_counter()
    while next_index < total or pending:
        while next_index < total and len(pending) < executor.max_workers:
            t = tasks[next_index]
            log(f"[bench] {next_index + 1}/{total} start  {t.dataset} / {t.method} (T={budget:g}s)")
            kwargs = dict(dataset=t.dataset, domain=t.domain, method=t.method, dataset_dir=str(paths[t.dataset]),
                          out_dir=str((runs_root / t.dataset / t.method).resolve()), time_budget=budget,
                          command=command, machine=machine, host=platform.node(), allow_dirty=allow_dirty)
            pending[executor.submit(run_task, **kwargs)] = next_index
            next_index += 1
        done, _ = wait_any(list(pending))
        for future in done:
            i = pending.pop(future)
            finished += 1
            t = tasks[i]
            try:
                row = future.result()
            except Exception as exc:  # noqa: BLE001 - a worker lost (killed, out of memory)
                row = {"error": f"{type(exc).__name__}: {exc}"}
            elapsed = time.perf_counter() - start
            if "error" in row:
                failed.append(f"{t.dataset} / {t.method}: {row['error']}")
                log(f"[bench] {i + 1}/{total} FAILED {t.dataset} / {t.method}: {row['error']} "
                    f"[{finished}/{total} done, {elapsed:.0f}s]")
            else:
                log(f"[bench] {i + 1}/{total} done   {t.dataset} / {t.method}: ALC {row['alc']:.4f}, final NAUC "
                    f"{row['final_nauc']:.4f}, first {row['first_prediction_s']:.2f}s{learner_failures(row)} "
                    f"[{finished}/{total} done, {elapsed:.0f}s]")
    return failed


def _previous(path: Path, key: str) -> Any:
    """``key`` of an earlier result file, or ``None``."""
    try:
        return json.loads(path.read_text()).get(key)
    except (OSError, ValueError, AttributeError):
        return None


def _kept_rows(runs_root: Path, result_file: Path, tasks: Sequence[Task]) -> list[dict]:
    """Rows of the suite's tasks: kept runs under ``runs_root`` over rows of an earlier result file."""
    wanted = {(t.dataset, t.method): t for t in tasks}
    found: dict[tuple[str, str], dict] = {}
    for row in recorded_rows(result_file):  # rows of an earlier session whose work/ folder is gone
        found[(row["dataset"], row["method"])] = row
    for path in sorted(runs_root.glob("*/*/row.json")):
        try:
            row = json.loads(path.read_text())
        except ValueError:
            continue
        found[(row["dataset"], row["method"])] = row
    rows = []
    for key, task in wanted.items():  # task order: dataset by dataset, methods as listed
        if key in found:
            rows.append({**found[key], "domain": task.domain})
    return rows


def write_report(record: dict, results_dir: Path) -> str:
    """Write ``<tag>.json``, ``<tag>.md`` and ``<tag>_<dataset>.png`` into ``results_dir``; return the markdown."""
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    tag = record["benchmark"]
    for name in dict.fromkeys(r["dataset"] for r in record["results"]):
        curves = {r["method"]: r for r in record["results"] if r["dataset"] == name}
        plot_dataset_curves(name, curves, record["time_budget"], results_dir / f"{tag}_{name}.png")
    atomic_write_text(results_dir / f"{tag}.json", json.dumps(record, indent=2))
    md = suite_markdown(record)
    atomic_write_text(results_dir / f"{tag}.md", md)
    return md
