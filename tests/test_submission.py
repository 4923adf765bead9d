"""The submission zip: contents, size guard, CLI, and a run of the unzipped copy through ingestion."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autodl_solver.challenge.submission import CONFIG_FILE_NAME, build_submission
from autodl_solver.cli import main as cli_main
from autodl_solver.errors import AutoDLInputError

REPO = Path(__file__).resolve().parents[1]


def test_zip_root_holds_model_package_and_settings(tmp_path):
    out = tmp_path / "sub" / "submission.zip"
    result = build_submission(out, method="solver", seed=3, config={"holdout_max": 100})
    assert out.is_file() and result["size_bytes"] == out.stat().st_size and result["path"] == str(out)
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        settings = json.loads(archive.read(CONFIG_FILE_NAME))
        shim = archive.read("model.py").decode()
    assert "model.py" in names and "autodl_solver/__init__.py" in names
    assert "autodl_solver/challenge/model.py" in names and "autodl_solver/anytime/engine.py" in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert all(not n.startswith("/") and "/.." not in n for n in names)  # no enclosing folder, no escapes
    assert settings == {"method": "solver", "seed": 3, "config": {"holdout_max": 100}}
    assert "from autodl_solver.challenge.model import Model" in shim
    assert result["n_files"] == len(names)
    # Same source, same bytes: the build is reproducible.
    again = tmp_path / "again.zip"
    build_submission(again, method="solver", seed=3, config={"holdout_max": 100})
    assert again.read_bytes() == out.read_bytes()


def test_too_big_or_bad_arguments_are_refused_without_output(tmp_path):
    out = tmp_path / "submission.zip"
    with pytest.raises(AutoDLInputError, match="over"):
        build_submission(out, max_bytes=1000)
    assert not out.exists() and not list(tmp_path.iterdir())
    with pytest.raises(AutoDLInputError, match="method"):
        build_submission(out, method="no_such_method")
    with pytest.raises(AutoDLInputError, match="no_such_field"):
        build_submission(out, config={"no_such_field": 1})
    with pytest.raises(AutoDLInputError, match=".zip"):
        build_submission(tmp_path / "submission.tar")


def test_cli_builds_and_reports_size(tmp_path, capsys):
    out = tmp_path / "s.zip"
    assert cli_main(["submission", "--out", str(out), "--method", "baseline0", "--seed", "7"]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and "MB" in printed
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read(CONFIG_FILE_NAME))["seed"] == 7
    assert cli_main(["submission", "--out", str(tmp_path / "x.zip"), "--config", "[1]"]) == 2


# The official ingestion imports the submission from --code_dir; here the unzipped folder is also first on
# sys.path and the working directory, and the script checks that the package really comes from it.
RUN_INGESTION = (
    "import runpy, sys; import autodl_solver; "
    "assert autodl_solver.__file__.startswith(sys.argv[1]), autodl_solver.__file__; "
    "sys.argv = ['ingestion'] + sys.argv[2:]; "
    "runpy.run_module('autodl_solver.challenge.ingestion', run_name='__main__')"
)


@pytest.mark.slow
def test_unzipped_submission_runs_under_ingestion(tmp_path, sample_dataset):
    dataset_dir = sample_dataset("mini1")
    archive = tmp_path / "submission.zip"
    build_submission(archive, method="solver", seed=0)
    code_dir = tmp_path / "code"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(code_dir)
    output_dir = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k not in ("AUTODL_SOLVER_METHOD", "AUTODL_SOLVER_SEED")}
    env.update(PYTHONPATH=str(code_dir), TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-c", RUN_INGESTION, str(code_dir), "--dataset_dir", str(dataset_dir),
         "--output_dir", str(output_dir), "--code_dir", str(code_dir), "--time_budget", "10"],
        cwd=code_dir, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    predictions = sorted(output_dir.glob("mini1.predict_*"))
    assert predictions, proc.stderr[-4000:]
    rows = predictions[-1].read_text().splitlines()
    assert len(rows) == 10 and all(len(r.split()) == 10 for r in rows)
    assert "ingestion_success: 1" in (output_dir / "end.txt").read_text()


def test_zip_leaves_out_dotfiles_caches_and_compiled_files(tmp_path, monkeypatch):
    from autodl_solver.challenge import submission

    pkg = tmp_path / "autodl_solver"
    for name in ("__init__.py", "core.py", ".env", ".DS_Store", "core.py~", "core.pyc", "notes.swp",
                 ".git/config", "__pycache__/core.cpython-311.pyc", ".pytest_cache/v/x", ".ruff_cache/x",
                 ".mypy_cache/x", "sub/.hidden.py", "sub/mod.py", ".cache/weights.bin", "x.egg-info/PKG-INFO"):
        path = pkg / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    monkeypatch.setattr(submission, "package_root", lambda: pkg)
    names = sorted(n for n in submission.submission_files(configs_dir=tmp_path / "none")
                   if n.startswith("autodl_solver/"))
    assert names == ["autodl_solver/__init__.py", "autodl_solver/core.py", "autodl_solver/sub/mod.py"]


def test_zip_is_readable_by_others_under_the_usual_umask(tmp_path):
    out = tmp_path / "s.zip"
    old = os.umask(0o022)
    try:
        build_submission(out, method="baseline0")
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644
