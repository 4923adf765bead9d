"""The benchmark suite: suite files, task expansion, average rank, report, end-to-end runs, ``bench`` CLI."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from autodl_solver import cli
from autodl_solver.bench.datasets import DATASETS, DatasetSpec
from autodl_solver.bench.report import average_ranks, suite_markdown
from autodl_solver.bench.suite import Suite, expand_tasks, load_suite, run_suite
from autodl_solver.errors import AutoDLInputError

MACHINE = {"cpu": "x", "cores": 2, "memory_gib": 1, "gpu": None, "python": "3", "versions": {},
           "git_commit": "abc", "date": "now"}


def write_suite(folder: Path, text: str, name: str = "s.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def fake_registry(*pairs: tuple[str, str]) -> dict[str, DatasetSpec]:
    return {name: DatasetSpec(name, domain, lambda root: None) for name, domain in pairs}


# ------------------------------------------------------------------- loading
def test_shipped_suites_load_and_name_known_datasets():
    for name in ("quick", "full"):
        suite = load_suite(name)
        assert suite.time_budget > 0 and suite.datasets and "solver" in suite.methods
        assert all(d in DATASETS for d in suite.datasets)
    assert load_suite("full").time_budget == 1200
    assert {DATASETS[d].domain for d in load_suite("quick").datasets} == {"tabular", "image", "video", "speech",
                                                                          "text"}


def test_load_suite_reads_a_file(tmp_path):
    path = write_suite(tmp_path, "tag: t1\ntime_budget: 5\ndatasets: [wine]\nmethods: [solver, mlp]\n")
    suite = load_suite(path)
    assert suite == Suite("s", path, "t1", 5.0, ("wine",), ("solver", "mlp"), "")


@pytest.mark.parametrize("text, field, words", [
    ("tag: t\ntime_budget: 5\ndatasets: [wine]\n", "methods", "missing"),
    ("tag: t\ntime_budget: 5\ndatasets: [wine]\nmethods: [solver]\nworkers: 2\n", "workers", "unknown field"),
    ("tag: t\ntime_budget: -1\ndatasets: [wine]\nmethods: [solver]\n", "time_budget", "positive"),
    ("tag: t\ntime_budget: yes\ndatasets: [wine]\nmethods: [solver]\n", "time_budget", "positive"),
    ("tag: t\ntime_budget: 5\ndatasets: wine\nmethods: [solver]\n", "datasets", "list"),
    ("tag: t\ntime_budget: 5\ndatasets: []\nmethods: [solver]\n", "datasets", "list"),
    ("tag: t\ntime_budget: 5\ndatasets: [nope]\nmethods: [solver]\n", "datasets", "nope"),
    ("tag: t\ntime_budget: 5\ndatasets: [wine]\nmethods: [solver, solver]\n", "methods", "twice"),
    ("tag: a b\ntime_budget: 5\ndatasets: [wine]\nmethods: [solver]\n", "tag", "stem"),
])
def test_load_suite_errors_name_file_and_field(tmp_path, text, field, words):
    path = write_suite(tmp_path, text)
    with pytest.raises(AutoDLInputError) as info:
        load_suite(path)
    assert info.value.where == f"{path}: {field}"
    assert words in info.value.problem


@pytest.mark.parametrize("text", ["[1, 2]\n", "tag: [unclosed\n"])
def test_load_suite_rejects_non_mapping_and_bad_yaml(tmp_path, text):
    path = write_suite(tmp_path, text)
    with pytest.raises(AutoDLInputError) as info:
        load_suite(path)
    assert info.value.where == str(path)


def test_unknown_suite_lists_the_known_ones():
    with pytest.raises(AutoDLInputError) as info:
        load_suite("no_such_suite")
    assert info.value.where.endswith("configs/suites/no_such_suite.yaml")
    assert "quick" in info.value.problem and "full" in info.value.problem


# ------------------------------------------------------------------- expansion
def test_expand_tasks_skips_inapplicable_and_unavailable(monkeypatch):
    from autodl_solver.domains import methods

    monkeypatch.setattr(methods, "METHODS", methods.METHODS + ("ghost",))  # listed, no learner registered
    reg = fake_registry(("tab", "tabular"), ("img", "image"), ("wav", "speech"))
    suite = Suite("s", Path("s.yaml"), "s", 5.0, ("tab", "img", "wav"),
                  ("solver", "mlp", "autospeech_baseline", "baseline3", "not_a_method", "ghost"))
    plan = expand_tasks(suite, reg)
    assert [(t.dataset, t.method) for t in plan.tasks] == [
        ("tab", "solver"), ("tab", "mlp"), ("tab", "baseline3"),
        ("img", "solver"), ("img", "baseline3"),
        ("wav", "solver"), ("wav", "autospeech_baseline"), ("wav", "baseline3")]
    assert [t.domain for t in plan.tasks][:3] == ["tabular"] * 3
    notes = "\n".join(plan.skipped)
    assert "method mlp: runs on tabular data only; not run on img, wav" in notes
    assert "method autospeech_baseline: runs on speech data only; not run on tab, img" in notes
    assert "method not_a_method: is not a method" in notes
    assert "method ghost: has no registered learner" in notes
    # --datasets / --methods replace the suite's lists
    plan = expand_tasks(suite, reg, datasets=["img"], methods=["baseline1", "mlp"])
    assert [(t.dataset, t.method) for t in plan.tasks] == [("img", "baseline1")]
    with pytest.raises(AutoDLInputError):
        expand_tasks(suite, reg, datasets=["missing"])


# ------------------------------------------------------------------- ranks and report
def row(dataset: str, method: str, alc: float, **extra) -> dict:
    base = {"dataset": dataset, "method": method, "alc": alc, "final_nauc": alc + 0.05, "first_prediction_s": 1.0,
            "n_predictions": 3, "timestamps": [1.0, 2.0, 3.0], "nauc_scores": [alc] * 3}
    return {**base, **extra}


def test_average_rank_ties_share_the_mean_rank():
    rows = [row("d1", "a", 0.9), row("d1", "b", 0.9), row("d1", "c", 0.5),
            row("d2", "a", 0.2), row("d2", "c", 0.8)]
    assert average_ranks(rows) == {"a": pytest.approx((1.5 + 2) / 2), "b": pytest.approx(1.5),
                                   "c": pytest.approx((3 + 1) / 2)}
    three_way = average_ranks([row("d", m, 0.4) for m in "xyz"])
    assert three_way == {"x": 2.0, "y": 2.0, "z": 2.0}


def test_suite_markdown_table():
    rows = [row("d1", "solver", 0.9, domain="tabular"), row("d1", "mlp", 0.7, domain="tabular"),
            row("d2", "solver", 0.6, domain="image", ingestion_success=False, killed=False),
            row("d3", "solver", 0.0, domain="text", ingestion_success=False, killed=True, n_predictions=0)]
    record = {"benchmark": "suite_t", "suite": "t", "command": "autodl-solver bench --suite t", "time_budget": 5.0,
              "machine": MACHINE, "results": rows, "skipped": ["method mlp: runs on tabular data only"],
              "failed": ["d2 / baseline1: RuntimeError: boom"], "wall_s": 90.0}
    md = suite_markdown(record)
    assert "| dataset | domain | solver | mlp |" in md
    assert "| d1 | tabular | **0.9000** | 0.7000 |" in md
    assert "| d2 | image | **0.6000** | - |" in md
    assert "| solver | 3 | 0.5000 | 0.5500 | 1.00 | 1.00 |" in md
    assert "| mlp | 1 | 0.7000 | 0.7500 | 1.00 | 2.00 |" in md
    assert "| d2 | solver (ingestion failed) | 0.6000 |" in md
    assert "| d3 | solver (no prediction within T) | 0.0000 |" in md
    assert md.index("| solver | 3 |") < md.index("| mlp | 1 |")  # methods in suite order
    assert "- method mlp: runs on tabular data only" in md and "- d2 / baseline1: RuntimeError: boom" in md
    assert "commit abc" in md and "wall time 1.5 min" in md


# ------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def tiny_tabular(tmp_path_factory):
    """A tiny, learnable tabular dataset written with the project's converter and writer."""
    from autodl_solver.data.converters import from_arrays

    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    x = (rng.normal(size=(60, 4)) + y[:, None] * 2.0).astype(np.float32)
    root = tmp_path_factory.mktemp("tiny")
    path = from_arrays(x, y, root, "tiny", test_size=0.3, seed=0, label_names=["neg", "pos"]).path
    return {"tiny": DatasetSpec("tiny", "tabular", lambda _root: path)}


TINY_METHODS = ("baseline0", "baseline1")


def run_tiny(registry, executor, tmp_path: Path) -> dict:
    suite_file = write_suite(tmp_path, f"tag: tiny\ntime_budget: 3\ndatasets: [tiny]\n"
                                       f"methods: [{', '.join(TINY_METHODS)}, autospeech_baseline]\n")
    lines: list[str] = []
    record = run_suite(load_suite(suite_file, registry), executor, registry=registry,
                       results_dir=tmp_path / "results", work_dir=tmp_path / "work", command="test",
                       log=lines.append)
    assert sum("start" in line for line in lines) == 2 and sum(" done " in line for line in lines) == 2
    assert record["failed"] == []
    assert record["skipped"] == ["method autospeech_baseline: runs on speech data only; not run on tiny"]
    assert [(r["dataset"], r["method"]) for r in record["results"]] == [("tiny", m) for m in TINY_METHODS]
    for r in record["results"]:
        assert 0.0 <= r["alc"] <= 1.0 and r["n_predictions"] >= 1 and r["domain"] == "tabular"
        # provenance: the code (commit, dirty tree) and the engine's per-learner summary from the round log
        assert isinstance(r["git_dirty"], bool) and r["allow_dirty"] is False and r["round_log"] == "rounds.json"
        assert [entry["name"] for entry in r["learners"]] == [r["method"]]
        kept = json.loads((tmp_path / "work" / "runs" / "tiny" / "tiny" / r["method"] / "row.json").read_text())
        assert kept["alc"] == r["alc"]
    for name in ("tiny.json", "tiny.md", "tiny_tiny.png"):
        assert (tmp_path / "results" / name).stat().st_size > 0
    assert json.loads((tmp_path / "results" / "tiny.json").read_text())["results"] == record["results"]
    # --report-only rebuilds the same table from the kept rows
    again = run_suite(load_suite(suite_file, registry), None, registry=registry, results_dir=tmp_path / "results",
                      work_dir=tmp_path / "work", command="test", report_only=True)
    assert again["results"] == record["results"]
    assert again["wall_s"] == record["wall_s"] and again["command"] == "test"
    return record


def row_structure(record: dict) -> list[tuple]:
    return [(r["dataset"], r["method"], sorted(r), sorted(r["machine"])) for r in record["results"]]


@pytest.fixture(scope="module")
def serial_record(tiny_tabular, tmp_path_factory):
    # Serial: each task's run_challenge still runs ingestion in its own child process, as in every executor.
    from autodl_solver.utils.executors import make_executor

    with make_executor("serial") as executor:
        return run_tiny(tiny_tabular, executor, tmp_path_factory.mktemp("serial"))


@pytest.mark.slow
def test_tiny_suite_on_the_serial_executor(serial_record):
    assert serial_record["benchmark"] == "tiny" and serial_record["time_budget"] == 3.0
    assert serial_record["wall_s"] > 0


@pytest.mark.slow
def test_tiny_suite_on_ray_gives_the_same_rows(tiny_tabular, serial_record, tmp_path):
    pytest.importorskip("ray")
    from autodl_solver.utils.executors import RayExecutor

    executor = RayExecutor(num_cpus=2)
    try:
        record = run_tiny(tiny_tabular, executor, tmp_path)
    finally:
        executor.close()
    assert row_structure(record) == row_structure(serial_record)


# ------------------------------------------------------------------- CLI
@pytest.fixture
def bench_cli(monkeypatch):
    if "bench" not in cli.COMMANDS:  # until the lead lists the command in cli.py
        monkeypatch.setattr(cli, "COMMANDS", cli.COMMANDS + ("bench",))
    return cli.main


def test_bench_help(bench_cli, capsys):
    with pytest.raises(SystemExit) as info:
        bench_cli(["bench", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--suite", "--executor", "--address", "--workers", "--time_budget", "--report-only", "--out"):
        assert flag in out


def test_bench_bad_suite_is_one_error_line(bench_cli, capsys):
    assert bench_cli(["bench", "--suite", "no_such_suite"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "no_such_suite.yaml" in err[0]


def test_bench_from_an_installed_package_says_so_in_one_line(bench_cli, capsys, monkeypatch, tmp_path):
    """No checkout (a wheel): no tree to refuse, one stderr line saying so, rows record git_commit null."""
    from autodl_solver.bench import machine, suite

    monkeypatch.setattr(machine, "REPO_ROOT", None)
    seen = {}

    def fake_run_suite(s, executor, **kwargs):
        seen.update(kwargs, state=machine.git_state())
        return {"benchmark": "quick", "suite": s.name, "command": kwargs["command"], "time_budget": 20.0,
                "machine": {**MACHINE, **machine.git_state()}, "commits": {}, "results": [], "skipped": [],
                "failed": [], "wall_s": 0.0}

    monkeypatch.setattr(suite, "run_suite", fake_run_suite)
    assert bench_cli(["bench", "--suite", "quick", "--executor", "serial", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    said = [line for line in err if "installed package" in line]
    assert len(said) == 1 and "not a checkout" in said[0] and "git_commit null" in said[0]
    assert not [line for line in err if line.startswith("error:")]
    assert seen["state"] == {"git_commit": None, "git_dirty": None, "installed_package": machine.package_version()}
    assert seen["results_dir"] == tmp_path


def test_installed_package_dirs_are_under_the_current_directory(monkeypatch, tmp_path):
    from autodl_solver.bench import machine

    root = Path(machine.__file__).resolve().parents[2]
    assert machine.REPO_ROOT == root and machine.default_dirs() == (root / "benchmarks" / "results",
                                                                     root / "benchmarks" / "work")
    monkeypatch.setattr(machine, "REPO_ROOT", None)
    monkeypatch.chdir(tmp_path)
    assert machine.default_dirs() == (tmp_path / "bench_results", tmp_path / "bench_work")


def test_find_checkout_needs_benchmarks_beside_the_package(tmp_path):
    from autodl_solver.bench.machine import find_checkout

    (tmp_path / "autodl_solver").mkdir()
    assert find_checkout(tmp_path) is None  # site-packages of an installed wheel
    (tmp_path / "benchmarks").mkdir()
    assert find_checkout(tmp_path) == tmp_path
