"""Bad or awkward vision input through the real writer and reader, and the engine's neutral rows.

Datasets are written with :func:`autodl_solver.data.writer.write_dataset` (or
the image-folder converter) as tiny COMPRESSED JPEG sets in ``tmp_path``:

* a test record with corrupt JPEG bytes: ``on_corrupt="skip"`` warns naming
  the record and lists it in ``corrupt_rows``; the engine gives that row the
  class prior; ``on_corrupt="raise"`` names the file and record;
* grey and RGB JPEGs mixed in a 3-channel set; 1x1 and 4x300 / 300x4 images;
* a one-frame video and a video whose frames differ in size.
"""
from __future__ import annotations

import io
import logging

import numpy as np
import pytest
from PIL import Image

from autodl_solver.anytime.config import EngineConfig
from autodl_solver.anytime.engine import Engine
from autodl_solver.data.converters.image import from_image_folder
from autodl_solver.data.dataset import ArrayDataset
from autodl_solver.data.metadata import Metadata
from autodl_solver.data.reader import AutoDLSubset, load_dataset
from autodl_solver.data.writer import write_dataset
from autodl_solver.errors import AutoDLInputError
from autodl_solver.testing import CentroidLearner


# ------------------------------------------------------------------ helpers
def _jpeg(color, size=(8, 8), mode="RGB") -> bytes:
    """A solid JPEG; ``size`` is PIL's ``(width, height)``."""
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def _corrupt_jpeg(size=(8, 8)) -> bytes:
    """A JPEG whose header is intact (the writer accepts it) but whose scan data is missing."""
    data = _jpeg((120, 60, 30), size)
    sos = data.index(b"\xff\xda")  # start of scan: marker, 2-byte length, then the entropy-coded data
    length = int.from_bytes(data[sos + 2:sos + 4], "big")
    return data[:sos + 2 + length]


def _label(k: int, output_dim: int) -> np.ndarray:
    return np.eye(output_dim, dtype=np.float32)[k]


def _image_meta(output_dim: int, rows: int = 8, cols: int = 8, seq: int = 1) -> Metadata:
    return Metadata(output_dim=output_dim, sequence_size=seq, row_count=rows, col_count=cols,
                    raw_num_channels=3, format="COMPRESSED", has_locality_row=True, has_locality_col=True,
                    is_sequence=seq != 1)


# Three classes told apart by brightness; 5 / 3 / 1 training examples, so the prior is not uniform.
TRAIN_CLASSES = [0, 0, 0, 0, 0, 1, 1, 1, 2]
SHADES = {0: (20, 20, 20), 1: (128, 128, 128), 2: (235, 235, 235)}
TEST_CLASSES = [0, 1, 2, 0]
CORRUPT = 2  # the test row whose JPEG is broken


@pytest.fixture(scope="module")
def corrupt_set(tmp_path_factory):
    """A 3-class 8x8 RGB JPEG dataset whose test record 2 holds corrupt bytes."""
    out = tmp_path_factory.mktemp("corrupt")
    train = [([_jpeg(SHADES[k])], _label(k, 3)) for k in TRAIN_CLASSES]
    test = [([_corrupt_jpeg() if i == CORRUPT else _jpeg(SHADES[k])], _label(k, 3))
            for i, k in enumerate(TEST_CLASSES)]
    return write_dataset(out, "broken", _image_meta(3), train, test)


# ------------------------------------------------------------- corrupt JPEG
def test_corrupt_jpeg_is_skipped_with_a_warning_and_listed(corrupt_set):
    test = AutoDLSubset(corrupt_set / "broken.data" / "test", on_corrupt="skip")
    assert test.corrupt_rows == []
    xs, _ = test.take(0, 2)  # rows before the corrupt one: nothing to report
    assert test.corrupt_rows == [] and all(x.any() for x in xs)
    with pytest.warns(UserWarning, match=r"sample-broken-test\.tfrecord: record 2 \(example 2\): image 0: "
                                         r"undecodable image bytes"):
        xs, _ = test.take(0, len(test))
    assert test.corrupt_rows == [CORRUPT]
    assert xs[CORRUPT].shape == (1, 8, 8, 3) and not xs[CORRUPT].any()
    assert all(x.shape == (1, 8, 8, 3) and x.any() for i, x in enumerate(xs) if i != CORRUPT)
    with pytest.warns(UserWarning, match="record 2"):
        test.example(CORRUPT)  # read again: listed once
    assert test.corrupt_rows == [CORRUPT]
    assert AutoDLSubset(corrupt_set / "broken.data" / "train").corrupt_rows == []


def test_corrupt_jpeg_raises_naming_file_and_record(corrupt_set):
    test = AutoDLSubset(corrupt_set / "broken.data" / "test")  # on_corrupt="raise" is the default
    test.take(0, CORRUPT)
    with pytest.raises(AutoDLInputError, match=r"sample-broken-test\.tfrecord: record 2 \(example 2\): image 0: "
                                               r"undecodable image bytes"):
        test.take(0, len(test))
    assert test.corrupt_rows == []


def test_in_memory_datasets_have_no_corrupt_rows():
    meta = Metadata(output_dim=2, row_count=1, col_count=3)
    assert ArrayDataset(np.zeros((2, 1, 1, 3, 1)), None, meta).corrupt_rows == []


def test_engine_gives_corrupt_test_rows_the_class_prior(corrupt_set, caplog, recwarn):
    data = load_dataset(corrupt_set, on_corrupt="skip")
    meta = data.train.metadata
    engine = Engine(meta, [CentroidLearner(meta)], config=EngineConfig(holdout=False, max_rounds=1))
    with caplog.at_level(logging.WARNING, logger="autodl_solver.anytime.engine"):
        engine.fit(data.train, 30.0, data.test)
    notes = [r.getMessage() for r in caplog.records if r.name == "autodl_solver.anytime.engine"]
    assert len(notes) == 1 and notes[0].startswith("1 test row(s) had corrupt input")
    assert any("record 2" in str(w.message) for w in recwarn)
    assert engine.pool.train_rows_read == len(TRAIN_CLASSES)  # every training label was read

    prediction = engine.predict_test(data.test)
    prior = np.bincount(TRAIN_CLASSES, minlength=3) / len(TRAIN_CLASSES)
    assert prediction.shape == (4, 3)
    assert np.allclose(prediction[CORRUPT], prior, atol=1e-6)
    xs = engine.prepare_test(data.test)
    others = [i for i in range(4) if i != CORRUPT]
    assert np.array_equal(prediction[others], engine.predict([xs[i] for i in others]))
    assert prediction[others].argmax(axis=1).tolist() == [TEST_CLASSES[i] for i in others]
    # the model's own score of the zero image is not what the corrupt row got
    assert not np.allclose(engine.predict([xs[CORRUPT]])[0], prediction[CORRUPT])

    # no training labels read (a restored engine): uniform 1/output_dim for single-label data
    restored = Engine(meta, [CentroidLearner(meta)])
    restored.load_state_dict(engine.state_dict())
    again = restored.predict_test(data.test)
    assert np.allclose(again[CORRUPT], 1 / 3) and np.array_equal(again[others], prediction[others])


def test_classifier_on_a_dataset_with_a_corrupt_test_image(corrupt_set, tmp_path):
    from autodl_solver.api import AutoDLClassifier

    with pytest.warns(UserWarning, match=r"record 2 \(example 2\)"):
        clf = AutoDLClassifier(time_budget=30, method="baseline1", config={"max_rounds": 1},
                               output_dir=tmp_path / "out").fit(corrupt_set)
    assert len(clf.learning_curve_) == 1
    predictions = sorted((tmp_path / "out").glob("broken.predict_*"))
    assert predictions
    rows = np.loadtxt(predictions[-1])
    prior = np.bincount(TRAIN_CLASSES, minlength=3) / len(TRAIN_CLASSES)
    assert rows.shape == (4, 3) and np.allclose(rows[CORRUPT], prior, atol=1e-5)


# ----------------------------------------------------------- awkward images
def test_mixed_grey_and_rgb_jpegs_read_as_three_channels(tmp_path):
    src = tmp_path / "src"
    grey, rgb = 90, (200, 40, 70)
    for k, cls in enumerate(("cats", "dogs")):
        (src / cls).mkdir(parents=True)
        for i in range(5):
            image = Image.new("L", (6, 5), grey) if i % 2 else Image.new("RGB", (6, 5), rgb)
            image.save(src / cls / f"{i}.jpg", "JPEG", quality=95)
    result = from_image_folder(src, tmp_path / "out", "mixed", num_channels=3)
    data = load_dataset(result.path)
    assert data.metadata.tensor_shape == (1, 5, 6, 3)
    xs = data.train.take(0, len(data.train))[0] + data.test.take(0, len(data.test))[0]
    assert len(xs) == 10 and all(x.shape == (1, 5, 6, 3) for x in xs)
    greys = [x for x in xs if np.allclose(x[..., 0], x[..., 1]) and np.allclose(x[..., 0], x[..., 2])]
    assert len(greys) == 4  # files 1 and 3 of each class
    for x in greys:
        assert np.allclose(x, grey / 255, atol=2 / 255)  # grey repeated into R, G and B
    for x in xs:
        if not any(x is g for g in greys):
            assert np.allclose(x[0, 0, 0], np.array(rgb) / 255, atol=4 / 255)


def test_tiny_and_extreme_aspect_images(tmp_path):
    sizes = [(1, 1), (300, 4), (4, 300), (1, 1)]  # PIL (width, height)
    train = [([_jpeg((k * 60, 50, 50), size)], _label(k % 2, 2)) for k, size in enumerate(sizes)]
    test = [([_jpeg((10, 200, 10), (300, 4))], _label(0, 2)), ([_jpeg((10, 200, 10), (1, 1))], _label(1, 2))]
    path = write_dataset(tmp_path, "shapes", _image_meta(2, rows=-1, cols=-1), train, test)
    data = load_dataset(path)
    xs, ys = data.train.take(0, len(data.train))
    assert [x.shape for x in xs] == [(1, 1, 1, 3), (1, 4, 300, 3), (1, 300, 4, 3), (1, 1, 1, 3)]
    assert ys.argmax(1).tolist() == [0, 1, 0, 1]
    for x, k in zip(xs, range(4)):
        assert np.allclose(x[0].reshape(-1, 3).mean(0), np.array([k * 60, 50, 50]) / 255, atol=4 / 255)
    test_xs, _ = data.test.take(0, 2)
    assert [x.shape for x in test_xs] == [(1, 4, 300, 3), (1, 1, 1, 3)]
    assert data.train.corrupt_rows == [] and data.test.corrupt_rows == []


def test_one_frame_video_and_frames_of_different_sizes(tmp_path):
    red, green, blue = (230, 20, 20), (20, 230, 20), (20, 20, 230)
    videos = [
        [_jpeg(red, (6, 4))],  # a single frame
        [_jpeg(red, (6, 4)), _jpeg(green, (10, 8)), _jpeg(blue, (3, 2))],  # later frames resized to 4x6
        [_jpeg(green, (5, 7)), _jpeg(red, (5, 7))],
    ]
    train = [(v, _label(i % 2, 2)) for i, v in enumerate(videos)]
    test = [([_jpeg(blue, (2, 2))], _label(0, 2))]
    path = write_dataset(tmp_path, "clips", _image_meta(2, rows=-1, cols=-1, seq=-1), train, test)
    data = load_dataset(path)
    xs, _ = data.train.take(0, 3)
    assert [x.shape for x in xs] == [(1, 4, 6, 3), (3, 4, 6, 3), (2, 7, 5, 3)]
    assert np.allclose(xs[0][0], np.array(red) / 255, atol=4 / 255)
    for t, colour in enumerate((red, green, blue)):  # each resized frame keeps its own colour
        assert np.allclose(xs[1][t], np.array(colour) / 255, atol=6 / 255)
    (x,), _ = data.test.take(0, 1)
    assert x.shape == (1, 2, 2, 3)
