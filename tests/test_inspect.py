"""``autodl-solver inspect``: the facts of the sample datasets, and one-line errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from autodl_solver.cli import main


@pytest.fixture
def samples(shared_samples) -> Path:
    """../shared/autodl_samples (the conftest fixture skips when it is absent)."""
    return shared_samples


def _inspect_json(capsys, path) -> dict:
    assert main(["inspect", str(path), "--json"]) == 0
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1  # one JSON object
    return json.loads(out)


def test_miniciao(samples, capsys):
    facts = _inspect_json(capsys, samples / "miniciao")
    assert facts["domain"] == "image" and facts["tensor_shape"] == [1, 32, 32, 3]
    assert (facts["output_dim"], facts["train_count"], facts["test_count"]) == (10, 82, 18)
    assert facts["multilabel"] is False and facts["format"] == "COMPRESSED" and facts["vocabulary_size"] == 0
    assert facts["label_names"][0] == "airplane" and facts["label_names"][9] == "truck"
    assert facts["class_frequencies"]["train"] == [8, 8, 11, 6, 9, 6, 7, 9, 8, 10]
    assert facts["class_frequencies"]["test"][2] == facts["class_frequencies"]["test"][9] == 0
    assert sum(facts["class_frequencies"]["test"]) == 18


def test_monkeys(samples, capsys):
    facts = _inspect_json(capsys, samples / "Monkeys")
    assert facts["tensor_shape"] == [1, -1, -1, 3] and facts["domain"] == "image"
    assert (facts["train_count"], facts["test_count"], facts["output_dim"]) == (26, 4, 10)
    assert facts["multilabel"] is False and facts["label_names"] is None
    assert [k for k, n in enumerate(facts["class_frequencies"]["test"]) if n] == [2, 3, 7]


def test_mini1_via_data_dir(samples, capsys):
    facts = _inspect_json(capsys, samples / "mini1" / "mini1.data")
    assert facts["tensor_shape"] == [1, 28, 28, 1] and facts["format"] == "DENSE"
    assert (facts["train_count"], facts["test_count"]) == (50, 10) and facts["multilabel"] is False
    assert facts["class_frequencies"]["train"] == [4, 7, 4, 7, 4, 4, 5, 4, 4, 7]


def test_text_output(samples, capsys):
    assert main(["inspect", str(samples / "miniciao")]) == 0
    out = capsys.readouterr().out
    assert "domain:       image" in out and "82 train, 18 test" in out and "airplane" in out


def test_multilabel_and_vocabulary(tmp_path, capsys):
    import numpy as np

    from autodl_solver.data.metadata import Metadata
    from autodl_solver.data.writer import write_dataset

    meta = Metadata(output_dim=3, sequence_size=-1, channel_to_index={"a": 0, "b": 1})
    x = np.zeros((2, 1, 1, 1))
    path = write_dataset(tmp_path, "t", meta, [(x, [1, 1, 0]), (x, [0, 0, 1])], [(x, [1, 0, 0])])
    facts = _inspect_json(capsys, path)
    assert facts["domain"] == "text" and facts["vocabulary_size"] == 2 and facts["multilabel"] is True
    assert facts["class_frequencies"] == {"train": [1, 1, 1], "test": [1, 0, 0]}


@pytest.mark.parametrize("setup, message", [
    ("nothing", "dataset not found"),
    ("empty", "expected exactly one '*.data' entry"),
    ("bad_metadata", "malformed text-format DataSpecification"),
    ("truncated", "cut short"),
    ("solution_rows", "mini1.solution: 9 rows, expected 10"),
    ("label_out_of_range", "sample-train-50-lines: record 0: label index"),
])
def test_bad_input_exit_2_one_line(tmp_path, samples, capsys, setup, message):
    import shutil

    path = tmp_path / "d"
    if setup == "empty":
        path.mkdir()
    elif setup != "nothing":
        shutil.copytree(samples / "mini1", path)
        if setup == "bad_metadata":
            (path / "mini1.data" / "train" / "metadata.textproto").write_text("output_dim: {")
        elif setup == "solution_rows":
            solution = path / "mini1.solution"
            solution.write_text("".join(solution.read_text().splitlines(keepends=True)[:9]))
        elif setup == "label_out_of_range":  # records that do not match the metadata's output_dim
            (path / "mini1.solution").unlink()
            for subset in ("train", "test"):
                meta = path / "mini1.data" / subset / "metadata.textproto"
                meta.write_text(meta.read_text().replace("output_dim: 10", "output_dim: 2"))
        else:
            record = path / "mini1.data" / "test" / "sample-test-10-lines-labels-erased"
            record.write_bytes(record.read_bytes()[:-100])
    assert main(["inspect", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
