"""Issue 14's bad-input battery: every entry point, a broken input, one clear line, nothing half-written.

Each case builds a tiny dataset with the project's own writer (data from
:mod:`autodl_solver.testing.datasets`), breaks a copy the way a user's data
gets broken (a truncated or bit-flipped record file, a 0-byte file, a
``sample_count`` or shape the records do not match, a corrupt PNG, a
solution of the wrong size, a hidden dataset name, a path escaping the
source folder ...) and runs ``inspect``, ``inspect --verify``, ``convert``,
``run``, ``ingest``, ``score`` in-process through ``cli.main(argv)``, or the
library. It asserts the exact exit status, that the message names the file
or field at fault, and that nothing is left half-written (no temporary file,
no prediction, no output folder for a run refused before it starts).

The ``run`` and ``ingest`` cases fail in the checks before ingestion starts,
so each takes well under a second.
"""
from __future__ import annotations

import io
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autodl_solver import cli
from autodl_solver.data.writer import write_dataset
from autodl_solver.errors import AutoDLInputError
from autodl_solver.testing.datasets import make_dataset

MODELS = Path(__file__).parent / "fixtures" / "models"


# --------------------------------------------------------------- datasets
def png_bytes(x: np.ndarray) -> bytes:
    """One (1, H, W, C) float example in [0, 1] as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.round(np.clip(x[0], 0, 1) * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def write_tiny(root: Path, kind: str = "dense", name: str = "tiny", n_train: int = 12, n_test: int = 6,
               seed: int = 0) -> Path:
    """A tiny AutoDL dataset ``root/name`` (DENSE tabular or COMPRESSED PNG images) via the writer."""
    domain = "tabular" if kind == "dense" else "image"
    train, test, y_test = make_dataset(domain, n_train=n_train, n_test=n_test, output_dim=3, seed=seed)
    xs, ys = train.take(0, len(train))
    txs, _ = test.take(0, len(test))
    meta = train.metadata
    if kind == "dense":
        pairs, test_pairs = list(zip(xs, ys)), list(zip(txs, y_test))
    else:
        meta = meta.replace(format="COMPRESSED")
        pairs = [([png_bytes(x)], y) for x, y in zip(xs, ys)]
        test_pairs = [([png_bytes(x)], y) for x, y in zip(txs, y_test)]
    return write_dataset(root, name, meta, pairs, test_pairs)


def record_file(dataset: Path, subset: str = "train") -> Path:
    return next((dataset / f"{dataset.name}.data" / subset).glob("sample*"))


def metadata_file(dataset: Path, subset: str = "train") -> Path:
    return dataset / f"{dataset.name}.data" / subset / "metadata.textproto"


def truncate(dataset: Path, subset: str = "train") -> Path:
    path = record_file(dataset, subset)
    path.write_bytes(path.read_bytes()[:-37])
    return path


def flip_bit(dataset: Path, subset: str = "train", offset: int = 40) -> Path:
    path = record_file(dataset, subset)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x08  # inside the first record's data: its CRC no longer matches
    path.write_bytes(bytes(data))
    return path


def empty_file(dataset: Path, subset: str = "train") -> Path:
    path = record_file(dataset, subset)
    path.write_bytes(b"")
    return path


def edit_metadata(dataset: Path, old: str, new: str, subsets=("train",)) -> Path:
    for subset in subsets:
        path = metadata_file(dataset, subset)
        text = path.read_text()
        assert old in text, text
        path.write_text(text.replace(old, new))
    return metadata_file(dataset, subsets[0])


def more_samples(dataset: Path) -> Path:
    return edit_metadata(dataset, "sample_count: 12", "sample_count: 82")


def wrong_shape(dataset: Path) -> Path:
    """The records hold (1, 1, F, 1); the metadata now says F + 1 columns."""
    import re

    text = metadata_file(dataset).read_text()
    cols = int(re.search(r"col_count: (\d+)", text).group(1))
    edit_metadata(dataset, f"col_count: {cols}", f"col_count: {cols + 1}", ("train", "test"))
    return record_file(dataset)


def corrupt_png(dataset: Path) -> Path:
    """Rewrite the train set with one PNG whose pixel data is damaged (valid record CRC)."""
    train, _, _ = make_dataset("image", n_train=12, n_test=6, output_dim=3, seed=0)
    xs, ys = train.take(0, len(train))
    pairs = [([png_bytes(x)], y) for x, y in zip(xs, ys)]
    bad = bytearray(pairs[3][0][0])
    bad[60:90] = b"\0" * 30  # inside IDAT: the header still reads, decoding fails
    pairs[3] = ([bytes(bad)], pairs[3][1])
    root = dataset.parent / "rebuilt"
    rebuilt = write_dataset(root, dataset.name, train.metadata.replace(format="COMPRESSED"), pairs,
                            [([png_bytes(x)], y) for x, y in zip(*_image_test())])
    shutil.rmtree(dataset)
    shutil.move(str(rebuilt), str(dataset))
    root.rmdir()
    return record_file(dataset)


def _image_test():
    _, test, y_test = make_dataset("image", n_train=12, n_test=6, output_dim=3, seed=0)
    return test.take(0, len(test))[0], y_test


def short_solution(dataset: Path) -> Path:
    path = dataset / f"{dataset.name}.solution"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-2]))
    return path


def hidden_name(dataset: Path) -> Path:
    """Rename ``tiny.data`` to ``..data`` (and the solution to ``..solution``)."""
    (dataset / f"{dataset.name}.data").rename(dataset / "..data")
    (dataset / f"{dataset.name}.solution").rename(dataset / "..solution")
    return dataset / "..data"


BREAKS = {
    "truncated": (truncate, "dense", "cut short"),
    "bit_flip": (flip_bit, "dense", "CRC mismatch"),
    "zero_bytes": (empty_file, "dense", "empty file (0 bytes)"),
    "sample_count": (more_samples, "dense", "sample_count is 82 but the train records hold 12"),
    "shape": (wrong_shape, "dense", "expected row*col*channels"),
    "corrupt_png": (corrupt_png, "image", "record 3: image 0: undecodable image bytes"),
    "short_solution": (short_solution, "dense", "4 rows, expected 6"),
    "hidden_name": (hidden_name, "dense", "is not a plain name"),
}


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    root = tmp_path_factory.mktemp("bases")
    return {"dense": write_tiny(root / "dense"), "image": write_tiny(root / "image", "image")}


def broken(bases, tmp_path, case: str) -> tuple[Path, Path, str]:
    """``(dataset folder, file at fault, expected message part)`` of a fresh broken copy."""
    make, kind, message = BREAKS[case]
    dataset = tmp_path / "data" / "tiny"
    shutil.copytree(bases[kind], dataset)
    return dataset, make(dataset), message


def call(capsys, *argv) -> tuple[int, str, list[str]]:
    status = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err.strip().splitlines()


def assert_nothing_half_written(root: Path) -> None:
    """No temporary file or folder, no prediction file anywhere under ``root``."""
    leftovers = [p for p in root.rglob("*") if p.name.endswith(".tmp") or ".predict_" in p.name]
    assert not leftovers, leftovers


def assert_one_error(status: int, err: list[str], expected_status: int, *parts: str) -> None:
    assert status == expected_status, err
    assert len(err) == 1 and err[0].startswith("error: "), err
    for part in parts:
        assert part in err[0], (part, err[0])


# ----------------------------------------------------------------- inspect
INSPECT_CASES = ["truncated", "bit_flip", "zero_bytes", "sample_count", "shape", "short_solution", "hidden_name"]


@pytest.mark.parametrize("case", INSPECT_CASES)
def test_inspect_refuses_a_broken_dataset(bases, tmp_path, capsys, case):
    dataset, culprit, message = broken(bases, tmp_path, case)
    status, out, err = call(capsys, "inspect", dataset)
    assert_one_error(status, err, 2, message, culprit.name)
    assert out == ""
    assert_nothing_half_written(tmp_path)


@pytest.mark.parametrize("case", ["truncated", "bit_flip", "zero_bytes", "sample_count", "shape", "corrupt_png",
                                  "short_solution"])
def test_inspect_verify_lists_each_problem_with_file_and_record(bases, tmp_path, capsys, case):
    dataset, culprit, message = broken(bases, tmp_path, case)
    status, out, err = call(capsys, "inspect", "--verify", dataset)
    assert_one_error(status, err, 2, "problem")
    problems = [line for line in out.splitlines() if line.startswith("problem: ")]
    assert problems and any(message in p and str(culprit) in p for p in problems), out
    if case in ("bit_flip", "corrupt_png"):
        assert any("record " in p for p in problems)


def test_inspect_verify_json_and_a_sound_dataset(bases, tmp_path, capsys):
    import json

    status, out, err = call(capsys, "inspect", "--verify", bases["image"])
    assert status == 0 and err == [] and "verified:" in out
    dataset, culprit, _ = broken(bases, tmp_path, "corrupt_png")
    flip_bit(dataset, "test")
    status, out, err = call(capsys, "inspect", "--verify", "--json", dataset)
    facts = json.loads(out)
    assert status == 2 and facts["verified"] is False and len(err) == 1
    assert [(Path(p["file"]).parent.name, p["record"]) for p in facts["problems"]] == [("train", 3), ("test", 0)]


def test_plain_inspect_of_a_corrupt_png_says_to_verify(bases, tmp_path, capsys):
    # Plain inspect decodes no image (fast); --verify finds the damaged one.
    dataset, _, _ = broken(bases, tmp_path, "corrupt_png")
    assert call(capsys, "inspect", dataset)[0] == 0
    assert call(capsys, "inspect", "--verify", dataset)[0] == 2


# ------------------------------------------------------------------- run
RUN_CASES = ["truncated", "bit_flip", "zero_bytes", "sample_count", "shape", "corrupt_png", "short_solution",
             "hidden_name"]


@pytest.mark.parametrize("case", RUN_CASES)
def test_run_refuses_broken_data_before_starting(bases, tmp_path, capsys, case):
    dataset, culprit, message = broken(bases, tmp_path, case)
    out = tmp_path / "out"
    tic = time.perf_counter()
    status, stdout, err = call(capsys, "run", dataset, "--output_dir", out, "--time_budget", "2",
                               "--code_dir", MODELS / "constant")
    assert time.perf_counter() - tic < 5.0  # refused in the checks, no ingestion started
    assert_one_error(status, err, 2, message, culprit.name)
    assert not out.exists()
    assert_nothing_half_written(tmp_path)


def _run_argv(bases, out, *extra):
    return ["run", bases["dense"], "--output_dir", out, "--time_budget", "2", *extra]


@pytest.mark.parametrize("extra, where", [
    (["--method", "bogus"], "--method: "),
    (["--time_budget", "0"], "time_budget"),
    (["--time_budget", "nan"], "time_budget"),
    (["--code_dir", "MISSING"], "no model.py"),
    (["--solution_dir", "EMPTY"], "expected exactly one '*.solution' file, found 0"),
    (["--prior", "MISSING"], "MISSING"),
])
def test_run_refuses_bad_options_before_starting(bases, tmp_path, capsys, extra, where):
    (tmp_path / "EMPTY").mkdir()
    extra = [str(tmp_path / e) if e in ("MISSING", "EMPTY") else e for e in extra]
    out = tmp_path / "out"
    tic = time.perf_counter()
    status, _, err = call(capsys, *_run_argv(bases, out, *extra))
    assert time.perf_counter() - tic < 5.0
    assert_one_error(status, err, 2, where)
    assert not out.exists()


def test_run_output_dir_that_is_a_file(bases, tmp_path, capsys):
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    status, _, err = call(capsys, *_run_argv(bases, target))
    assert_one_error(status, err, 2, "results.txt", "not a folder")
    status, _, err = call(capsys, *_run_argv(bases, target / "sub"))
    assert_one_error(status, err, 2, "results.txt", "is a file")
    assert target.read_text() == "keep me"


def test_run_output_dir_under_a_read_only_folder(bases, tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    status, _, err = call(capsys, *_run_argv(bases, locked / "out"))
    assert_one_error(status, err, 2, "not writable")


# ----------------------------------------------------------------- ingest
@pytest.mark.parametrize("case", ["truncated", "bit_flip", "zero_bytes", "sample_count", "shape", "corrupt_png",
                                  "hidden_name"])
def test_ingest_refuses_broken_data_with_one_line(bases, tmp_path, capsys, case):
    dataset, culprit, message = broken(bases, tmp_path, case)
    out = tmp_path / "predictions"
    status, _, err = call(capsys, "ingest", "--dataset_dir", dataset, "--output_dir", out,
                          "--code_dir", MODELS / "constant", "--time_budget", "2")
    assert_one_error(status, err, 2, message, culprit.name)  # one line, no TensorFlow traceback
    assert not out.exists()
    assert_nothing_half_written(tmp_path)


def test_ingest_output_dir_that_is_a_file(bases, tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("")
    status, _, err = call(capsys, "ingest", "--dataset_dir", bases["dense"], "--output_dir", target,
                          "--code_dir", MODELS / "constant")
    assert_one_error(status, err, 2, "--output_dir", "not a folder")


# ------------------------------------------------------------------ score
def _prediction_dir(tmp_path: Path, rows: int, cols: int = 3, value: str = "0.5") -> Path:
    from autodl_solver.challenge.prediction_files import write_end_file, write_start_file

    folder = tmp_path / "predictions"
    folder.mkdir()
    now = time.time()
    write_start_file(folder / "start.txt", ingestion_pid=1, task_name="tiny", time_budget=10, start_time=now)
    (folder / "start.txt").write_text((folder / "start.txt").read_text() + f"0: {now + 1}\n")
    (folder / "tiny.predict_0").write_text((" ".join([value] * cols) + "\n") * rows)
    write_end_file(folder / "end.txt", ingestion_duration=1.0, ingestion_success=True, end_time=now + 1)
    return folder


@pytest.mark.parametrize("rows, cols, value, where", [
    (5, 3, "0.5", "tiny.predict_0"),
    (6, 2, "0.5", "tiny.predict_0"),
    (6, 3, "nan", "tiny.predict_0"),
])
def test_score_refuses_a_bad_prediction(bases, tmp_path, capsys, rows, cols, value, where):
    predictions = _prediction_dir(tmp_path, rows, cols, value)
    scores = tmp_path / "scores"
    status, _, err = call(capsys, "score", "--solution_dir", bases["dense"], "--prediction_dir", predictions,
                          "--score_dir", scores)
    assert_one_error(status, err, 2, where)
    assert not (scores / "scores.txt").exists()
    assert_nothing_half_written(scores) if scores.exists() else None


def test_score_without_a_solution(tmp_path, capsys):
    predictions = _prediction_dir(tmp_path, 6)
    (tmp_path / "nosolution").mkdir()
    status, _, err = call(capsys, "score", "--solution_dir", tmp_path / "nosolution", "--prediction_dir",
                          predictions, "--score_dir", tmp_path / "scores")
    assert_one_error(status, err, 2, "nosolution")


# ---------------------------------------------------------------- convert
def _text_source(tmp_path: Path, filename: str) -> Path:
    src = tmp_path / "src" / "inner"
    src.mkdir(parents=True)
    for i in range(6):
        (src / f"d{i}.txt").write_text(f"word{i % 2} filler text")
    (tmp_path / "SECRET.txt").write_text("do not embed me")
    rows = [f"d{i}.txt,{i % 2}" for i in range(6)] + [f"{filename},1"]
    (src / "labels.csv").write_text("FileName,Labels\n" + "\n".join(rows) + "\n")
    return src


@pytest.mark.parametrize("filename", ["../../SECRET.txt", "ABSOLUTE", "link.txt"])
def test_convert_text_refuses_files_outside_the_source(tmp_path, capsys, filename):
    if filename == "ABSOLUTE":
        filename = str(tmp_path / "SECRET.txt")
    src = _text_source(tmp_path, filename)
    if filename == "link.txt":
        (src / "link.txt").symlink_to(tmp_path / "SECRET.txt")
    out = tmp_path / "out"
    status, _, err = call(capsys, "convert", "text", src, out, "--name", "t")
    assert_one_error(status, err, 2, "labels.csv:8", "outside the source folder")
    assert not (out / "t").exists()
    assert_nothing_half_written(tmp_path)


@pytest.mark.parametrize("setup, where", [
    ("empty", "src"),
    ("test_size", "test_size"),
    ("out_is_file", "out"),
    ("bad_label", "labels.csv:2 (Labels)"),
])
def test_convert_bad_input(tmp_path, capsys, setup, where):
    src = tmp_path / "src"
    src.mkdir()
    extra = []
    out = tmp_path / "out"
    if setup != "empty":
        for i in range(6):
            (src / f"d{i}.txt").write_text(f"word{i % 2} filler")
        labels = "x" if setup == "bad_label" else "0"
        (src / "labels.csv").write_text("FileName,Labels\n" + "".join(
            f"d{i}.txt,{labels if i == 0 else i % 2}\n" for i in range(6)))
    if setup == "test_size":
        extra = ["--test-size", "1.5"]
    if setup == "out_is_file":
        out.write_text("")
    status, _, err = call(capsys, "convert", "text", src, out, "--name", "t", *extra)
    assert_one_error(status, err, 2, where)
    assert_nothing_half_written(tmp_path)


# ---------------------------------------------------------------- library
@pytest.mark.parametrize("make_y, message", [
    (lambda n, rng: rng.normal(size=n), "continuous values"),
    (lambda n, rng: np.linspace(0.0, 1.0, n), "continuous values"),
    (lambda n, rng: np.r_[np.zeros(n - 1), np.inf], "infinite"),
    (lambda n, rng: np.zeros(n - 1), "rows but X has"),
    (lambda n, rng: np.ones(n), "single class|one class"),
])
def test_library_fit_refuses_a_bad_y(make_y, message):
    from autodl_solver import AutoDLClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    with pytest.raises(AutoDLInputError, match=message) as err:
        AutoDLClassifier(time_budget=2).fit(X, make_y(30, rng))
    assert err.value.where == "y"


def test_library_accepts_integer_valued_float_labels():
    from autodl_solver.data.inputs import encode_labels

    encoding = encode_labels(np.array([0.0, 1.0, 2.0, 1.0]), 4)
    assert [float(c) for c in encoding.classes] == [0.0, 1.0, 2.0] and encoding.matrix.shape == (4, 3)


@pytest.mark.parametrize("case", ["truncated", "zero_bytes", "short_solution"])
def test_library_fit_on_a_broken_dataset_names_the_file(bases, tmp_path, case):
    from autodl_solver import AutoDLClassifier

    dataset, culprit, _ = broken(bases, tmp_path, case)
    with pytest.raises(AutoDLInputError) as err:
        AutoDLClassifier(time_budget=2).fit(dataset)
    assert culprit.name in str(err.value)


def test_library_predict_refuses_before_fit_and_wrong_shapes():
    from autodl_solver import AutoDLClassifier

    with pytest.raises(AutoDLInputError, match="not fitted"):
        AutoDLClassifier().predict_proba(np.zeros((2, 4)))


# ------------------------------------------------------------ file modes
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_result_files_honour_the_umask(tmp_path, umask, mode):
    """Atomic writes go through mkstemp (0600): the result must get 0666 & ~umask, like open()."""
    from autodl_solver.utils.atomic import atomic_dir, atomic_write_bytes, atomic_write_text

    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "scores.txt", "score: 1\n")
        atomic_write_bytes(tmp_path / "tiny.predict_0", b"0.5 0.5\n")
        with atomic_dir(tmp_path / "folder") as folder:
            (folder / "inside").write_text("x")
    finally:
        os.umask(old)
    assert (tmp_path / "scores.txt").stat().st_mode & 0o777 == mode
    assert (tmp_path / "tiny.predict_0").stat().st_mode & 0o777 == mode
    assert (tmp_path / "folder").stat().st_mode & 0o777 == 0o777 & ~umask
    assert_nothing_half_written(tmp_path / "folder")


def test_score_outputs_are_readable_by_another_user(bases, tmp_path, capsys):
    predictions = _prediction_dir(tmp_path, 6)
    old = os.umask(0o022)
    try:
        status, _, err = call(capsys, "score", "--solution_dir", bases["dense"], "--prediction_dir", predictions,
                              "--score_dir", tmp_path / "scores")
    finally:
        os.umask(old)
    assert status == 0, err
    for path in (tmp_path / "scores").iterdir():
        assert path.stat().st_mode & 0o044 == 0o044, path  # group and others may read
    assert_nothing_half_written(tmp_path / "scores")
