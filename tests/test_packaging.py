"""The wheel carries configs/ as autodl_solver/configs/, and an unpacked wheel finds them outside the repository."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "autodl_solver").rglob("__init__.py")
             if "__pycache__" not in p.parts}
    assert found | {"autodl_solver.configs"} == listed


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel built from a copy of the sources (so no build/ or egg-info lands in the working tree)."""
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("autodl_solver", "configs"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
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
