"""benchmarks/gpu_check.py: device choice, report files (complete, atomic), the CPU smoke run end to end."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import gpu_check  # noqa: E402

from autodl_solver.errors import AutoDLInputError  # noqa: E402
from autodl_solver.testing.datasets import DOMAINS  # noqa: E402


def test_device_choice_reaches_the_runs():
    import torch

    assert gpu_check.resolve_device("cpu") == "cpu"
    assert gpu_check.resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(AutoDLInputError) as info:
            gpu_check.resolve_device("cuda")
        assert info.value.where == "--device" and "no GPU" in info.value.problem
    # the learners pick CUDA when torch sees a GPU: --device cpu hides it from the ingestion process
    assert gpu_check.child_environment("cpu") == {"CUDA_VISIBLE_DEVICES": ""}
    assert gpu_check.child_environment("cuda") == {}
    facts = gpu_check.device_facts("cpu")
    assert facts["device"] == "cpu" and facts["amp"] is False and facts["torch"] == torch.__version__


def test_default_compare_names_the_other_device(tmp_path):
    assert gpu_check.default_compare(tmp_path / "gpu_check_cuda", "cuda") == tmp_path / "gpu_check_cpu.json"
    assert gpu_check.default_compare(tmp_path / "gpu_check_cpu", "cpu") == tmp_path / "gpu_check_cuda.json"
    assert gpu_check.default_compare(tmp_path / "x", "cuda") == tmp_path / "x_cpu.json"


def fake_row(name: str, method: str, alc: float) -> dict:
    return {"dataset": name, "method": method, "alc": alc, "final_nauc": 1.0, "first_prediction_s": 0.4,
            "n_predictions": 2, "timestamps": [0.4, 1.0], "nauc_scores": [0.8, 1.0], "device": "cpu",
            "learners": [{"name": "a", "rounds": 2, "time_s": 0.5, "val_score": 0.9, "failed": False},
                         {"name": "b", "rounds": 1, "failed": True, "error": "RuntimeError: boom"}],
            "round_log": "rounds.json", "git_dirty": True, "allow_dirty": True}


def test_run_check_writes_complete_files_atomically(tmp_path, monkeypatch):
    """Runs faked (the smoke test below runs them for real): the record, markdown and CPU comparison."""
    datasets = gpu_check.build_smoke_datasets(tmp_path / "data", ["tabular", "image"])
    assert sorted(datasets) == ["tiny_image", "tiny_tabular"]
    assert all((path / f"{name}.solution").is_file() for name, (_, path) in datasets.items())
    calls = []
    monkeypatch.setattr(gpu_check, "run_one", lambda name, method, *a, **k: calls.append(k) or
                        fake_row(name, method, 0.9 if "image" in name else 0.7))
    monkeypatch.setattr(gpu_check, "vision_throughput", lambda path, domain, device, **k: None if domain != "image"
                        else {"learner": "image_cnn", "train_per_s": 100.0, "unit": "images/s", "batch": 32,
                              "input": [1, 3, 64, 64], "amp": False, "device": device})
    written = []
    real_write = gpu_check.atomic_write_text
    monkeypatch.setattr(gpu_check, "atomic_write_text", lambda path, text: written.append(Path(path)) or
                        real_write(path, text))
    out = tmp_path / "results" / "gpu_check_cpu"
    cpu = gpu_check.run_check(datasets, "cpu", 5.0, out, tmp_path / "runs", "cmd", allow_dirty=True)
    assert sorted(written) == [out.with_name("gpu_check_cpu.json"), out.with_name("gpu_check_cpu.md")]
    assert all(k["env"] == {"CUDA_VISIBLE_DEVICES": ""} and k["allow_dirty"] is True for k in calls)
    record = json.loads(out.with_name("gpu_check_cpu.json").read_text())
    assert record == json.loads(json.dumps(cpu)) and record["device"] == "cpu" and record["failed"] == []
    assert [r["dataset"] for r in record["results"]] == ["tiny_tabular", "tiny_image"]
    assert record["results"][1]["throughput"]["train_per_s"] == 100.0
    for key in ("device_name", "torch", "cuda", "amp", "machine", "git_dirty", "allow_dirty", "wall_s"):
        assert key in record
    md = out.with_name("gpu_check_cpu.md").read_text()
    assert "| tiny_image | image | cpu | 0.9000 |" in md and "100 images/s (image_cnn 1x3x64x64" in md
    assert "| tiny_tabular (learner b failed: RuntimeError: boom) | a 2r 0.5s val 0.900; b 1r" in md
    assert "## Against" not in md and not list(out.parent.glob(".*.tmp"))
    # a later CUDA check (faked: the rows come from the same fake) puts the CPU figures beside its own
    record_cuda = dict(cpu, device="cuda", benchmark="gpu_check_cuda")
    md = gpu_check.check_markdown(record_cuda, gpu_check.read_record(gpu_check.default_compare(
        out.with_name("gpu_check_cuda"), "cuda")))
    assert "## Against cpu (`gpu_check_cpu.json`" in md
    assert "| tiny_image | 0.9000 | 0.9000 | 0.40 | 0.40 | 100 | 100 | 1.0x |" in md


def test_gpu_check_refuses_a_dirty_tree(monkeypatch, capsys):
    from autodl_solver.bench import protocol_runner

    monkeypatch.setattr(protocol_runner, "git_state", lambda repo=None: {"git_commit": "abc", "git_dirty": True})
    with pytest.raises(SystemExit) as info:
        gpu_check.main(["--smoke", "--device", "cpu"])
    assert info.value.code == 2 and "--allow-dirty" in capsys.readouterr().err


@pytest.mark.slow
def test_smoke_check_on_cpu(tmp_path, capsys):
    """The whole check on the tiny generated datasets, one per domain, on CPU (runs 3 at once)."""
    out = tmp_path / "results" / "gpu_check_smoke_cpu"
    status = gpu_check.main(["--smoke", "--device", "cpu", "--allow-dirty", "--workers", "3", "--out", str(out),
                             "--work", str(tmp_path / "work")])
    record = json.loads(out.with_name(out.name + ".json").read_text())
    assert status == 0, record["failed"]
    assert record["smoke"] is True and record["device"] == "cpu" and record["allow_dirty"] is True
    rows = {r["domain"]: r for r in record["results"]}
    assert sorted(rows) == sorted(DOMAINS)
    for domain, row in rows.items():
        assert math.isfinite(row["alc"]) and 0.0 <= row["alc"] <= 1.0, domain
        assert math.isfinite(row["final_nauc"]) and row["n_predictions"] >= 1, domain
        assert isinstance(row["learners"], list) and row["learners"], domain  # the model's round log
        assert row["device"] == "cpu", domain  # as the run's model reported it
        run = tmp_path / "work" / "runs" / out.name / row["dataset"] / "solver"
        assert (run / "rounds.json").is_file() and json.loads((run / "row.json").read_text())["alc"] == row["alc"]
    for domain in ("image", "video"):
        rate = rows[domain]["throughput"]
        assert rate["train_per_s"] > 0 and rate["device"] == "cpu" and rate["amp"] is False
    assert rows["image"]["throughput"]["learner"] == "image_cnn"
    md = out.with_name(out.name + ".md").read_text()
    assert all(f"| tiny_{d} | {d} | cpu |" in md for d in DOMAINS)
    assert capsys.readouterr().out == md
    assert not list(out.parent.glob(".*.tmp"))
