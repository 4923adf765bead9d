"""Converters from raw sources: split, arrays, images, video, speech, text, tabular.

Every domain gets a round trip: convert, ``load_dataset``, compare values,
shapes and labels, and check the official domain rule on the metadata.
"""
from __future__ import annotations

import csv
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autodl_solver.data.converters import (EMPTY_TOKEN, convert, detect_language, first_labels, from_arrays,
                                           from_audio_folder, from_automl, from_autonlp, from_csv,
                                           from_image_folder, from_text_folder, from_video_folder, split_indices)
from autodl_solver.data.reader import load_dataset
from autodl_solver.domains.inference import infer_domain
from autodl_solver.errors import AutoDLInputError


def all_examples(subset):
    xs, ys = subset.take(0, len(subset))
    return xs, ys


def assert_nothing_written(out: Path) -> None:
    """No dataset folder, and no temporary leftover either."""
    assert not out.exists() or not any(out.iterdir()), sorted(out.iterdir())


def write_labels_csv(folder: Path, rows, header=("FileName", "Labels")) -> None:
    with open(folder / "labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


# ------------------------------------------------------------------ split
def test_split_is_seeded_stratified_and_complete():
    strata = np.repeat([0, 1, 2], [50, 30, 20])
    train, test = split_indices(100, 0.2, 42, strata=strata)
    again = split_indices(100, 0.2, 42, strata=strata)
    other = split_indices(100, 0.2, 7, strata=strata)
    assert np.array_equal(train, again[0]) and np.array_equal(test, again[1])
    assert not np.array_equal(test, other[1])
    assert len(test) == 20 and sorted(np.concatenate([train, test]).tolist()) == list(range(100))
    assert np.bincount(strata[test]).tolist() == [10, 6, 4]  # exactly 20 % of each class


def test_split_falls_back_when_a_class_is_a_singleton():
    strata = np.array([0] * 9 + [1])
    train, test = split_indices(10, 0.3, 0, strata=strata)
    assert len(test) == 3 and len(train) == 7
    small_train, small_test = split_indices(2, 0.2, 0)
    assert len(small_train) == 1 and len(small_test) == 1
    with pytest.raises(AutoDLInputError, match="at least 2"):
        split_indices(1, 0.2, 0)
    with pytest.raises(AutoDLInputError, match="test_size"):
        split_indices(10, 1.5, 0)
    assert first_labels(np.array([[0, 1, 1], [0, 0, 0]])).tolist() == [1, -1]


# ------------------------------------------------------------------ arrays
def test_arrays_tabular_round_trip_keeps_nan(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 5)).astype(np.float32)
    x[3, 2] = np.nan
    y = np.arange(30) % 3
    result = from_arrays(x, y, tmp_path, "tab", test_size=0.2, seed=1)
    assert (result.num_train, result.num_test, result.domain) == (24, 6, "tabular")
    data = load_dataset(result.path)
    assert data.metadata.tensor_shape == (1, 1, 5, 1) and infer_domain(data.metadata) == "tabular"
    train_idx, test_idx = split_indices(30, 0.2, 1, strata=y)
    xs, ys = all_examples(data.train)
    np.testing.assert_array_equal(np.stack(xs).reshape(24, 5), x[train_idx])  # NaN == NaN here
    np.testing.assert_array_equal(ys.argmax(1), y[train_idx])
    np.testing.assert_array_equal(data.solution.argmax(1), y[test_idx])
    test_xs, test_ys = all_examples(data.test)
    np.testing.assert_array_equal(np.stack(test_xs).reshape(6, 5), x[test_idx])


def test_arrays_images_and_given_test_set(tmp_path):
    rng = np.random.default_rng(1)
    x, x_test = rng.random((8, 4, 6)), rng.random((3, 4, 6))
    y = np.eye(3)[[0, 1, 2, 0, 1, 2, 0, 1]]
    y_test = np.array([2, 1, 0])
    result = from_arrays(x, y, tmp_path, "img", x_test=x_test, y_test=y_test, label_names=["a", "b", "c"])
    data = load_dataset(result.path)
    assert data.metadata.tensor_shape == (1, 4, 6, 1) and result.domain == "image"
    assert data.label_names == ["a", "b", "c"]
    xs, ys = all_examples(data.train)
    np.testing.assert_allclose(np.stack(xs)[:, 0, :, :, 0], x, rtol=1e-6)
    np.testing.assert_array_equal(ys, y)
    np.testing.assert_array_equal(data.solution, np.eye(3)[y_test])


def test_arrays_variable_length_sequences(tmp_path):
    rng = np.random.default_rng(2)
    x = [rng.normal(size=(t, 1, 1, 1)) for t in (5, 9, 3, 7, 4, 6)]
    result = from_arrays(x, [0, 1, 0, 1, 0, 1], tmp_path, "seq", test_size=0.34)
    data = load_dataset(result.path)
    assert data.metadata.sequence_size == -1 and infer_domain(data.metadata) == "speech"
    lengths = sorted(len(e) for e in all_examples(data.train)[0] + all_examples(data.test)[0])
    assert lengths == [3, 4, 5, 6, 7, 9]


@pytest.mark.parametrize("x, y, match", [
    (np.zeros((4, 3)), np.array([0, 1, 0]), "rows"),
    (np.full((4, 3), np.inf), np.array([0, 1, 0, 1]), "infinite"),
    (np.zeros((4, 3)), np.array([0, -1, 0, 1]), "negative"),
    (np.zeros((4, 3)), np.array([[0.0, 2.0]] * 4), r"\[0, 1\]"),
])
def test_arrays_bad_input(tmp_path, x, y, match):
    with pytest.raises(AutoDLInputError, match=match):
        from_arrays(x, y, tmp_path, "bad")
    assert_nothing_written(tmp_path)


def test_existing_output_needs_overwrite(tmp_path):
    x, y = np.zeros((6, 2)), np.array([0, 1] * 3)
    from_arrays(x, y, tmp_path, "d")
    with pytest.raises(AutoDLInputError, match="already exists"):
        from_arrays(x + 1, y, tmp_path, "d")
    from_arrays(x + 1, y, tmp_path, "d", overwrite=True)
    assert np.all(np.stack(load_dataset(tmp_path / "d").train.take(0, 4)[0]) == 1)


# ------------------------------------------------------------------ images
def _png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def test_images_round_trip_original_bytes_and_row_is_height(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(3)
    pixels, rows = [], []
    for i in range(6):
        image = rng.integers(0, 256, size=(6, 10, 3), dtype=np.uint8)  # height 6, width 10
        pixels.append(image)
        (src / f"im{i}.png").write_bytes(_png(image))
        rows.append((f"im{i}.png", f"{i % 3}", "test" if i >= 4 else "train"))
    (src / "label.name").write_text("cat\ndog\nbird\n")
    write_labels_csv(src, rows, ("FileName", "Labels", "subset"))
    result = from_image_folder(src, tmp_path / "out", "pics")
    assert (result.num_train, result.num_test) == (4, 2)
    data = load_dataset(result.path)
    meta = data.metadata
    assert (meta.row_count, meta.col_count, meta.num_channels, meta.format) == (6, 10, 3, "COMPRESSED")
    assert infer_domain(meta) == "image" and data.label_names == ["cat", "dog", "bird"]
    xs, ys = all_examples(data.train)
    for i in range(4):
        assert xs[i].shape == (1, 6, 10, 3)
        np.testing.assert_allclose(xs[i][0], pixels[i] / 255.0, atol=1e-6)
        assert (src / f"im{i}.png").read_bytes() in data.train.record_bytes(i)  # stored as is
    np.testing.assert_array_equal(ys.argmax(1), [0, 1, 2, 0])
    np.testing.assert_array_equal(data.solution.argmax(1), [1, 2])


def test_images_class_folders_mixed_sizes_and_gif(tmp_path):
    src = tmp_path / "src"
    for k, cls in enumerate(["ants", "bees"]):
        (src / cls).mkdir(parents=True)
        for i in range(3):
            colour = np.full((5 + i, 7, 3), 40 * (k + 1) + i, np.uint8)
            fmt = "GIF" if i == 2 else "JPEG"
            Image.fromarray(colour).save(src / cls / f"{i}.{fmt.lower()}", format=fmt)
    result = from_image_folder(src, tmp_path / "out", num_channels=1, test_size=0.34, seed=0)
    data = load_dataset(result.path)
    meta = data.metadata
    assert (meta.row_count, meta.col_count, meta.num_channels) == (-1, -1, 1)
    assert data.label_names == ["ants", "bees"] and result.name == "src"
    assert result.num_train + result.num_test == 6 and result.num_test == 2
    xs, ys = all_examples(data.train)
    assert all(x.shape[-1] == 1 and x.shape[2] == 7 for x in xs)
    assert set(ys.argmax(1)) == {0, 1}


def test_images_bad_input_leaves_nothing(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    with pytest.raises(AutoDLInputError, match=r"no \*labels\*\.csv"):
        from_image_folder(src, out)  # empty folder
    (src / "a.png").write_bytes(_png(np.zeros((2, 2, 3), np.uint8)))
    (src / "b.png").write_bytes(b"not an image at all")
    write_labels_csv(src, [("a.png", "0"), ("missing.png", "1")])
    with pytest.raises(AutoDLInputError, match="missing.png"):
        from_image_folder(src, out)
    (src / "label.name").write_text("x\ny\n")
    write_labels_csv(src, [("a.png", "0"), ("b.png", "5")])
    with pytest.raises(AutoDLInputError, match="out of range"):
        from_image_folder(src, out)
    write_labels_csv(src, [("a.png", "0"), ("b.png", "1")] * 3)
    with pytest.raises(AutoDLInputError, match="b.png"):
        from_image_folder(src, out, "broken")
    assert_nothing_written(out)


# ------------------------------------------------------------------ video
def _frames_clip(folder: Path, n: int, colour) -> None:
    folder.mkdir(parents=True)
    for t in range(n):  # f10 must sort after f9
        Image.fromarray(np.full((8, 12, 3), colour, np.uint8)).save(folder / f"f{t}.png")


def test_video_frame_folders_grayscale_is_luminance(tmp_path):
    src = tmp_path / "clips"
    _frames_clip(src / "red" / "c0", 11, (255, 0, 0))
    _frames_clip(src / "red" / "c1", 11, (250, 0, 0))
    _frames_clip(src / "blue" / "c0", 11, (0, 0, 255))
    _frames_clip(src / "blue" / "c1", 11, (0, 0, 250))
    result = from_video_folder(src, tmp_path / "out", "vid", num_channels=1, test_size=0.5)
    data = load_dataset(result.path)
    meta = data.metadata
    assert meta.tensor_shape == (11, 8, 12, 1) and infer_domain(meta) == "video"
    assert data.label_names == ["blue", "red"]
    xs, ys = all_examples(data.train)
    for x, y in zip(xs, ys):
        # ITU-R 601 luma: red -> 0.299, blue -> 0.114 (the toolkit kept the blue channel: 0 for red)
        expected = 0.114 if y.argmax() == 0 else 0.299
        assert abs(float(x.mean()) - expected) < 0.02


def test_video_files_decoded_with_pyav(tmp_path):
    av = pytest.importorskip("av")
    src = tmp_path / "src"
    src.mkdir()
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30)]
    for i, colour in enumerate(colours):
        with av.open(str(src / f"v{i}.avi"), "w") as container:
            stream = container.add_stream("mjpeg", rate=10)
            stream.width, stream.height, stream.pix_fmt = 16, 8, "yuvj420p"
            for _ in range(4 + i % 2):  # 4 or 5 frames: variable length
                frame = av.VideoFrame.from_ndarray(np.full((8, 16, 3), colour, np.uint8), format="rgb24")
                container.mux(stream.encode(frame))
            container.mux(stream.encode())
    write_labels_csv(src, [(f"v{i}.avi", str(i % 2), "test" if i == 3 else "train") for i in range(4)],
                     ("FileName", "Labels", "subset"))
    result = from_video_folder(src, tmp_path / "out")
    data = load_dataset(result.path)
    assert data.metadata.tensor_shape == (-1, 8, 16, 3) and infer_domain(data.metadata) == "video"
    xs, _ = all_examples(data.train)
    assert [len(x) for x in xs] == [4, 5, 4]
    for x, colour in zip(xs, colours):
        np.testing.assert_allclose(x.mean(axis=(0, 1, 2)), np.array(colour) / 255.0, atol=0.04)


def test_video_unreadable_file(tmp_path):
    src = tmp_path / "src" / "cls"
    src.mkdir(parents=True)
    (src / "a.mp4").write_bytes(b"\x00" * 100)
    (src / "b.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(AutoDLInputError, match="a.mp4|b.mp4"):
        from_video_folder(tmp_path / "src", tmp_path / "out")
    assert_nothing_written(tmp_path / "out")


# ------------------------------------------------------------------ speech
def test_speech_resampled_mono_round_trip(tmp_path):
    import soundfile

    src = tmp_path / "src"
    src.mkdir()
    rows, waves = [], {}
    for i, rate in enumerate([8000, 22050, 8000, 22050, 16000]):
        t = np.arange(rate // 2) / rate  # half a second
        stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.1 * np.ones_like(t)], axis=1)
        soundfile.write(src / f"s{i}.wav", stereo, rate, subtype="PCM_16")
        waves[i] = stereo.mean(axis=1)
        rows.append((f"s{i}.wav", str(i % 2), "test" if i == 4 else "train"))
    write_labels_csv(src, rows, ("FileName", "Labels", "subset"))
    result = from_audio_folder(src, tmp_path / "out", "sp")
    assert result.metadata.sample_rate == 16000
    data = load_dataset(result.path)
    assert data.metadata.tensor_shape == (-1, 1, 1, 1) and infer_domain(data.metadata) == "speech"
    xs, ys = all_examples(data.train)
    assert [len(x) for x in xs] == [8000] * 4  # 0.5 s at 16 kHz, whatever the source rate
    assert all(np.abs(x).max() <= 1.0 for x in xs)
    assert abs(float(xs[0].mean()) - 0.05) < 0.01  # the channel average (0.1 offset / 2)
    np.testing.assert_allclose(all_examples(data.test)[0][0].ravel(), waves[4], atol=1e-4)
    np.testing.assert_array_equal(ys.argmax(1), [0, 1, 0, 1])


def test_speech_unreadable_wav_leaves_nothing(tmp_path):
    import soundfile

    src = tmp_path / "src"
    for cls in ("yes", "no"):
        (src / cls).mkdir(parents=True)
        for i in range(2):
            soundfile.write(src / cls / f"{i}.wav", np.zeros(100), 8000)
    (src / "no" / "1.wav").write_bytes(b"RIFF garbage")
    with pytest.raises(AutoDLInputError, match="1.wav"):
        from_audio_folder(src, tmp_path / "out")
    assert_nothing_written(tmp_path / "out")


# ------------------------------------------------------------------ text
def _autonlp(root: Path, train, test, train_y, test_y, language="EN") -> Path:
    data = root / "tiny" / "tiny.data"
    data.mkdir(parents=True)
    meta = {"class_num": 2, "train_num": len(train), "test_num": len(test), "language": language}
    (data / "meta.json").write_text(json.dumps(meta))
    (data / "train.data").write_text("".join(f"{d}\n" for d in train), encoding="utf-8")
    (data / "test.data").write_text("".join(f"{d}\n" for d in test), encoding="utf-8")
    (data / "train.solution").write_text("".join(f"{1 - k} {k}\n" for k in train_y))
    (root / "tiny" / "tiny.solution").write_text("".join(f"{1 - k} {k}\n" for k in test_y))
    return root / "tiny"


def _decode(xs, vocabulary) -> list[list[str]]:
    inverse = {i: t for t, i in vocabulary.items()}
    return [[inverse[int(v)] for v in x.ravel()] for x in xs]


def test_autonlp_o1_sample(shared_samples, tmp_path):
    result = from_autonlp(shared_samples / "O1", tmp_path)
    assert (result.num_train, result.num_test, result.metadata.output_dim) == (7792, 1821, 2)
    data = load_dataset(result.path)
    vocabulary = data.metadata.channel_to_index
    assert "" not in vocabulary and EMPTY_TOKEN not in vocabulary and infer_domain(data.metadata) == "text"
    first_line = (shared_samples / "O1" / "O1.data" / "train.data").read_text().split("\n")[0]
    assert _decode(data.train.take(0, 1)[0], vocabulary)[0] == first_line.split()
    assert data.solution.shape == (1821, 2)


def test_autonlp_chinese_per_character_and_empty_document(tmp_path):
    # meta.json says CH (as documented); the toolkit only recognised ZH.
    src = _autonlp(tmp_path, ["我爱 北京", "", "天气很好 "], ["北京天气"], [1, 0, 1], [0], language="CH")
    result = from_autonlp(src, tmp_path / "out")
    assert result.stats["language"] == "ZH" and result.stats["empty_documents"] == 1
    data = load_dataset(result.path)
    vocabulary = data.metadata.channel_to_index
    assert list(sorted(vocabulary, key=vocabulary.get))[:4] == ["我", "爱", "北", "京"]
    assert " " not in vocabulary and "" not in vocabulary
    docs = _decode(all_examples(data.train)[0], vocabulary)
    assert docs == [["我", "爱", "北", "京"], [EMPTY_TOKEN], ["天", "气", "很", "好"]]
    assert _decode(all_examples(data.test)[0], vocabulary) == [["北", "京", "天", "气"]]
    np.testing.assert_array_equal(data.train.labels().argmax(1), [1, 0, 1])


def test_autonlp_declared_language_wins_with_a_warning(tmp_path):
    src = _autonlp(tmp_path, ["我爱 北京", "天气很好"], ["北京天气"], [1, 0], [0], language="EN")
    with pytest.warns(UserWarning, match="looks ZH"):
        result = from_autonlp(src, tmp_path / "out")
    assert result.stats["language"] == "EN" and result.stats["vocabulary_size"] == 4  # split on spaces
    assert from_autonlp(src, tmp_path / "out", language="ZH", overwrite=True).stats["vocabulary_size"] == 8


def test_autonlp_english_trailing_space_and_bad_solution(tmp_path):
    src = _autonlp(tmp_path, ["a b ", "b  c "], ["c a"], [0, 1], [1])
    data = load_dataset(from_autonlp(src, tmp_path / "out").path)
    assert sorted(data.metadata.channel_to_index, key=data.metadata.channel_to_index.get) == ["a", "b", "c"]
    (src / "tiny.solution").write_text("1 0\n0 1\n")
    with pytest.raises(AutoDLInputError, match="tiny.solution"):
        from_autonlp(src, tmp_path / "out2")
    assert_nothing_written(tmp_path / "out2")


def test_text_folder_detects_language_and_reports_encoding_fallback(tmp_path):
    src = tmp_path / "src"
    for cls, docs in {"neg": ["bad film", "awful plot here"], "pos": ["good film", "caf\u00e9 great"]}.items():
        (src / cls).mkdir(parents=True)
        for i, doc in enumerate(docs):
            (src / cls / f"{i}.txt").write_text(doc, encoding="utf-8")
    (src / "pos" / "1.txt").write_bytes("caf\u00e9 great".encode("cp1252"))  # not UTF-8
    with pytest.warns(UserWarning, match="1 file"):
        result = from_text_folder(src, tmp_path / "out", test_size=0.5)
    assert result.stats["language"] == "EN"
    assert [Path(p).name for p in result.stats["encoding_fallback"]] == ["1.txt"]
    data = load_dataset(result.path)
    vocabulary = data.metadata.channel_to_index
    assert "caf\u00e9" in vocabulary and infer_domain(data.metadata) == "text"
    docs = _decode(all_examples(data.train)[0] + all_examples(data.test)[0], vocabulary)
    assert sorted(map(tuple, docs)) == sorted([("bad", "film"), ("awful", "plot", "here"), ("good", "film"),
                                               ("caf\u00e9", "great")])
    assert detect_language(["今天天气很好", "hello"]) == "ZH" and detect_language(["hello world"]) == "EN"


def test_text_folder_chinese_auto_detected(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    texts = ["今天 天气\n很好", "我们去公园", "明天下雨", "他喜欢读书"]
    for i, text in enumerate(texts):
        (src / f"{i}.txt").write_text(text, encoding="utf-8")
    write_labels_csv(src, [(f"{i}.txt", str(i % 2), "test" if i == 3 else "train") for i in range(4)],
                     ("FileName", "Labels", "subset"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # all UTF-8: no fallback warning
        result = from_text_folder(src, tmp_path / "out")
    assert result.stats["language"] == "ZH" and result.stats["encoding_fallback"] == []
    data = load_dataset(result.path)
    docs = _decode(all_examples(data.train)[0], data.metadata.channel_to_index)
    assert docs[0] == list("今天天气很好")


# ------------------------------------------------------------------ tabular
def test_automl_iris_sample(shared_samples, tmp_path):
    result = from_automl(shared_samples / "iris-AutoML", tmp_path)
    assert (result.num_train, result.num_test, result.metadata.output_dim) == (105, 45, 3)
    data = load_dataset(result.path)
    assert data.metadata.tensor_shape == (1, 1, 4, 1) and infer_domain(data.metadata) == "tabular"
    assert data.label_names == ["setosa", "versicolor", "virginica"]
    assert set(data.metadata.feature_to_index) == {"sepal_length", "sepal_width", "petal_length", "petal_width"}
    raw = np.loadtxt(shared_samples / "iris-AutoML" / "iris_train.data")
    np.testing.assert_allclose(np.stack(all_examples(data.train)[0]).reshape(105, 4), raw, rtol=1e-6)
    np.testing.assert_array_equal(data.solution, np.loadtxt(shared_samples / "iris-AutoML" / "iris_test.solution"))


def test_automl_binary_column_and_valid_merge(tmp_path):
    src = tmp_path / "bin"
    src.mkdir()
    np.savetxt(src / "bin_train.data", np.arange(12.0).reshape(6, 2))
    np.savetxt(src / "bin_train.solution", [0, 1, 0, 1, 0, 1], fmt="%d")
    np.savetxt(src / "bin_valid.data", [[20.0, 21.0]])
    np.savetxt(src / "bin_valid.solution", [1], fmt="%d")
    np.savetxt(src / "bin_test.data", [[1.0, np.nan], [3.0, 4.0]])
    np.savetxt(src / "bin_test.solution", [1, 0], fmt="%d")
    data = load_dataset(from_automl(src, tmp_path / "out").path)
    assert len(data.train) == 7 and data.metadata.output_dim == 2
    np.testing.assert_array_equal(data.train.labels()[-1], [0, 1])  # [1 - y, y] as the toolkit
    np.testing.assert_array_equal(data.solution, [[0, 1], [1, 0]])
    assert np.isnan(all_examples(data.test)[0][0]).sum() == 1


def test_csv_with_missing_values_and_string_column(tmp_path):
    path = tmp_path / "people.csv"
    rows = [("age", "city", "score", "label")]
    cities = ["paris", "rome", "", "oslo"]
    for i in range(20):
        rows.append((str(20 + i), cities[i % 4], "NA" if i == 5 else f"{i / 10}", ["no", "yes"][i % 2]))
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    result = from_csv(path, tmp_path / "out", label_column="label")
    data = load_dataset(result.path)
    meta = data.metadata
    features = sorted(meta.feature_to_index, key=meta.feature_to_index.get)
    assert features == ["age", "city=oslo", "city=paris", "city=rome", "score"]
    assert meta.tensor_shape == (1, 1, 5, 1) and data.label_names == ["no", "yes"]
    xs = np.stack(all_examples(data.train)[0] + all_examples(data.test)[0]).reshape(20, 5)
    by_age = xs[np.argsort(xs[:, 0])]
    np.testing.assert_array_equal(by_age[0, 1:4], [0, 1, 0])          # paris
    assert np.isnan(by_age[2, 1:4]).all() and np.isnan(by_age[5, 4])  # missing city, missing score
    ordinal = from_csv(path, tmp_path / "out2", label_column=3, categorical="ordinal")
    assert ordinal.metadata.col_count == 3 and ordinal.domain == "tabular"
    with pytest.raises(AutoDLInputError, match="nope"):
        from_csv(path, tmp_path / "out3", label_column="nope")


def test_convert_dispatch_rejects_unknown_kind(tmp_path):
    with pytest.raises(AutoDLInputError, match="kind"):
        convert("pictures", tmp_path, tmp_path / "out")


def test_split_shuffles_a_source_sorted_by_class():
    # statsmodels' fair data lists every positive first; the written order must not.
    strata = np.repeat([1, 0], [300, 700])
    train, test = split_indices(1000, 0.3, 42, strata=strata)
    assert 0 < strata[train[:100]].mean() < 1
    assert not np.array_equal(train, np.sort(train))


# ------------------------------------------------------------ sample rate / label column
def test_sample_rate_survives_convert_write_reload(tmp_path):
    """The AutoDL metadata has no sample-rate field: it is a comment line that text-format parsers skip."""
    from google.protobuf import text_format

    from autodl_solver.api import _restore_sample_rate
    from autodl_solver.data.metadata import EXTRAS_PREFIX, read_extras
    from autodl_solver.data.protos import DataSpecification

    rng = np.random.default_rng(0)
    waves = [rng.normal(size=(n, 1, 1, 1)).astype(np.float32) for n in (800, 1200, 400, 900, 1000, 700)]
    result = from_arrays(waves, np.arange(6) % 2, tmp_path, "tones", test_size=0.34, sample_rate=8000)
    train_meta = result.path / "tones.data" / "train" / "metadata.textproto"
    text = train_meta.read_text(encoding="utf-8")
    assert f'{EXTRAS_PREFIX}{{"sample_rate": 8000}}' in text
    spec = DataSpecification()
    text_format.Merge(text, spec)  # the official reader's parser (AutoDLMetadata uses text_format.Merge)
    assert spec.output_dim == 2 and spec.matrix_spec[0].row_count == 1
    assert read_extras(train_meta.parent) == {"sample_rate": 8000}
    data = load_dataset(result.path)
    _restore_sample_rate(data)  # what AutoDLClassifier.fit(path) does
    assert data.train.metadata.sample_rate == data.test.metadata.sample_rate == 8000
    assert infer_domain(data.train.metadata) == "speech"
    plain = from_arrays(waves, np.arange(6) % 2, tmp_path, "plain", test_size=0.34)  # no rate: nothing added
    assert EXTRAS_PREFIX not in (plain.path / "plain.data" / "train" / "metadata.textproto").read_text()
    with pytest.raises(AutoDLInputError, match="sample_rate"):
        from_arrays(waves, np.arange(6) % 2, tmp_path, "bad", sample_rate=0)


def test_a_single_01_label_column_is_two_classes_as_in_the_library(tmp_path):
    from autodl_solver.data.inputs import encode_labels

    y = np.array([[0], [1], [1], [0], [1], [0]])
    result = from_arrays(np.zeros((6, 3)), y, tmp_path, "bin", test_size=0.34)
    assert load_dataset(result.path).metadata.output_dim == 2 == encode_labels(y, 6).matrix.shape[1]


def test_convert_speech_sample_rate_reaches_every_reader(tmp_path):
    """``convert speech --sample-rate 8000``, then every reader (load_dataset, read_metadata, so ingestion's Model)
    sees 8 kHz."""
    import soundfile

    from autodl_solver.cli import main
    from autodl_solver.data.textproto import parse_metadata, read_metadata

    src = tmp_path / "src"
    for cls in ("yes", "no"):
        (src / cls).mkdir(parents=True)
        for i in range(3):
            soundfile.write(src / cls / f"{i}.wav", np.sin(np.arange(4000) / (3.0 + i)) * 0.3, 16000)
    assert main(["convert", "speech", str(src), str(tmp_path / "out"), "--name", "sp", "--sample-rate", "8000"]) == 0
    data = load_dataset(tmp_path / "out" / "sp")
    assert data.metadata.sample_rate == data.train.metadata.sample_rate == data.test.metadata.sample_rate == 8000
    assert read_metadata(data.data_dir / "test").sample_rate == 8000
    assert len(all_examples(data.train)[0][0]) == 2000  # 0.25 s resampled to 8 kHz
    # a file without the comment, or with a damaged one, reads as unknown (16 kHz assumed), never an error
    plain = "output_dim: 2\nmatrix_spec { row_count: 1 col_count: 1 }\nsequence_size: -1\n"
    assert parse_metadata(plain).sample_rate is None
    assert parse_metadata(plain + "# autodl_solver extras: {not json\n").sample_rate is None
    assert parse_metadata(plain + '# autodl_solver extras: {"sample_rate": -5}\n').effective_sample_rate == 16000
