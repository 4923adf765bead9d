"""The wheel carries configs/ as autodl_solver/configs/ and autodl_solver.bench; installed outside the repository
it finds them and runs every command (the library example, ``bench``, ``naml``)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import autodl_solver

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "autodl_solver").rglob("__init__.py")
             if "__pycache__" not in p.parts}
    assert found | {"autodl_solver.configs"} == listed


def copy_sources(src: Path) -> Path:
    """What pyproject.toml builds from, copied to ``src`` (so no build/ or egg-info lands in the working tree,
    and no stale build/lib of an earlier build can stand in for a missing module)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("autodl_solver", "configs"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    return src


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel built from a copy of the sources."""
    src = copy_sources(tmp_path_factory.mktemp("src"))
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           str(src), "-w", str(out)], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 and "No module named pip" in proc.stderr:
        pytest.skip("pip is not installed in this interpreter")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (path,) = out.glob("autodl_solver-*.whl")
    return path


def test_the_wheel_holds_the_configs(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    configs = sorted(p.relative_to(ROOT / "configs").as_posix() for p in (ROOT / "configs").rglob("*")
                     if p.is_file() and p.suffix in (".yaml", ".json"))
    assert configs and {"tabular.yaml", "suites/quick.yaml", "naml/space.yaml"} <= set(configs)
    missing = [c for c in configs if f"autodl_solver/configs/{c}" not in names]
    assert not missing
    assert "autodl_solver/data/inputs.py" in names and "autodl_solver/api.py" in names
    assert {"autodl_solver/bench/suite.py", "autodl_solver/bench/datasets.py"} <= names


def test_an_unpacked_wheel_finds_its_configs_outside_the_repository(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = ("import autodl_solver, json\n"
              "from autodl_solver.domains.registry import config_dirs\n"
              "from autodl_solver.anytime.prior import default_prior_path\n"
              "print(json.dumps([autodl_solver.__file__, str(config_dirs()[0]), str(default_prior_path())]))\n")
    env = dict(os.environ, PYTHONPATH=str(site))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    import json

    package, first_dir, prior = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(package).is_relative_to(site)
    assert Path(first_dir) == site / "autodl_solver" / "configs" and (Path(first_dir) / "tabular.yaml").is_file()
    if (ROOT / "configs" / "scheduler_prior.json").is_file():
        assert Path(prior) == site / "autodl_solver" / "configs" / "scheduler_prior.json"


def readme_library_example(budget: float) -> str:
    """The README's library quick start (the first ``python`` block of "## Library"), its budget set to ``budget``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("\n## Library\n"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "AutoDLClassifier" in code and "time_budget=" in code
    return re.sub(r"time_budget=\d+(\.\d+)?", f"time_budget={budget:g}", code)


@pytest.mark.slow
def test_pip_install_outside_the_repository_runs_every_command(tmp_path):
    """Install the way a user does (pip, offline) and run from a folder outside the repository.

    (a) the installed copy is the one imported, with its suites, T-NAML space and no checkout; (b) the README's
    library example; (c) ``bench`` with its default results folder ``./bench_results`` (``git_commit`` null, the
    installed version recorded; a dataset of ``../shared`` skipped in one line); (d) ``naml --help`` and a
    ``naml search`` that reads the default space from the package data; and the ``autodl-solver`` script.
    """
    site, cwd = tmp_path / "site", tmp_path / "cwd"
    cwd.mkdir()
    src = copy_sources(tmp_path / "src")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                           "-q", "--target", str(site), str(src)], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 and re.search(r"No module named (pip|'?setuptools)|Cannot import 'setuptools",
                                          proc.stderr):
        pytest.skip(f"pip cannot build offline here: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    package = site / "autodl_solver"
    modules = [p.relative_to(src) for p in (src / "autodl_solver").rglob("*.py")]
    configs = [Path("autodl_solver") / p.relative_to(src) for p in (src / "configs").rglob("*")
               if p.suffix in (".yaml", ".json")]
    missing = [str(p) for p in modules + configs if not (site / p).is_file()]
    assert modules and configs and not missing, f"not installed: {missing}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTODL_SOLVER_")}
    env.update(PYTHONPATH=str(site), HF_HUB_OFFLINE="1")

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        done = subprocess.run(list(args), capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)
        assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        return done

    # (a) the installed copy, not the editable checkout
    # (the venv's editable finder would serve a module missing from the copy out of the checkout: every
    # module must come from site/, before anything runs that could write into the checkout)
    probe = ("import autodl_solver, json, sys\n"
             "import autodl_solver.cli, autodl_solver.commands.bench, autodl_solver.api\n"
             "from autodl_solver.bench import datasets, machine, protocol_runner, report, suite\n"
             "from autodl_solver.naml.space import default_space_path\n"
             "files = [m.__file__ for n, m in sys.modules.items() if n.startswith('autodl_solver')\n"
             "         and getattr(m, '__file__', None)]\n"
             "print(json.dumps({'package': autodl_solver.__file__, 'suites': str(suite.SUITES_DIR), 'files': files,\n"
             "                  'space': str(default_space_path()), 'checkout': str(machine.REPO_ROOT),\n"
             "                  'dirs': [str(d) for d in machine.default_dirs()]}))\n")
    found = json.loads(run(sys.executable, "-c", probe).stdout.strip().splitlines()[-1])
    assert Path(found["package"]).resolve() == (package / "__init__.py").resolve()
    outside = [f for f in found["files"] if not Path(f).resolve().is_relative_to(package.resolve())]
    assert len(found["files"]) > 10 and not outside, f"not from the installed copy: {outside}"
    assert Path(found["suites"]) == package / "configs" / "suites"
    assert Path(found["space"]) == package / "configs" / "naml" / "space.yaml"
    assert found["checkout"] == "None"
    assert found["dirs"] == [str(cwd / "bench_results"), str(cwd / "bench_work")]

    # (b) the README's library example, with a tiny budget
    (cwd / "example.py").write_text(readme_library_example(3))
    run(sys.executable, "example.py")
    assert (cwd / "model_dir").is_dir()

    # (c) bench from the wheel: results under ./bench_results, provenance of an installed package
    done = run(sys.executable, "-m", "autodl_solver.cli", "bench", "--suite", "quick", "--datasets", "wine",
               "miniciao", "--methods", "baseline0", "--time_budget", "3", "--executor", "serial", timeout=180)
    said = [line for line in done.stderr.splitlines() if "installed package" in line]
    assert len(said) == 1 and "not a checkout" in said[0]
    assert "[bench] miniciao: its offline source is not available here; skipped" in done.stderr
    assert "| wine | tabular |" in done.stdout
    record = json.loads((cwd / "bench_results" / "suite_quick_T3.json").read_text())
    assert {"suite_quick_T3.md", "suite_quick_T3_wine.png"} <= {p.name for p in (cwd / "bench_results").iterdir()}
    (row,) = record["results"]
    assert (row["dataset"], row["method"]) == ("wine", "baseline0") and row["ingestion_success"]
    for machine_row in (record["machine"], row["machine"]):
        assert machine_row["git_commit"] is None and machine_row["git_dirty"] is None
        assert machine_row["installed_package"] == autodl_solver.__version__
    assert any("miniciao" in note for note in record["skipped"])
    assert (cwd / "bench_work" / "runs" / "suite_quick_T3" / "wine" / "baseline0" / "row.json").is_file()
    assert not (site / "benchmarks").exists() and not (tmp_path / "benchmarks").exists()

    # (d) naml: the help, and a search on the default T-NAML space read from the package data
    assert "usage" in run(sys.executable, "-m", "autodl_solver.cli", "naml", "--help").stdout
    from autodl_solver.naml.space import load_space
    from autodl_solver.naml.tasks import synthetic_task

    task = synthetic_task("ta", "text", n=120, seed=0).save(cwd / "ta.npz")
    run(sys.executable, "-m", "autodl_solver.cli", "naml", "search", str(task), "--searcher", "random", "--trials",
        "2", "--executor", "serial", "--quiet", "--out", "naml_out")
    summary = json.loads((cwd / "naml_out" / "summary.json").read_text())
    assert summary["trials"] == 2 and summary["space_fingerprint"] == load_space().fingerprint
    # the console script pip wrote
    assert autodl_solver.__version__ in run(str(site / "bin" / "autodl-solver"), "--version").stdout
