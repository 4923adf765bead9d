"""The inputs users have, each fitted without building 4-D tensors: the README quick starts, run with tiny budgets.

Each ``test_quick_start_*`` body is the README snippet of that input kind (with a small
synthetic data set in place of the user's and ``time_budget`` of a few seconds).
"""
from __future__ import annotations

import numpy as np
import pytest

from autodl_solver import AutoDLClassifier
from autodl_solver.data.inputs import InputEncoder, detect_kind, encode_labels
from autodl_solver.errors import AutoDLInputError

BUDGET = 3


def _frame(n=120, seed=0):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(seed)
    size = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    df = pd.DataFrame({
        "size": size,
        "colour": pd.Categorical(colour),
        "city": rng.choice(["Paris", "Oslo", None], size=n),
        "count": rng.integers(0, 5, size=n),
        "flag": rng.random(n) > 0.5,
        "when": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 100, n), unit="D"),
    })
    df.loc[::7, "size"] = np.nan  # missing values
    y = np.where((np.nan_to_num(size) > 0) | (colour == "red"), "yes", "no")
    return df, y


# ---------------------------------------------------------------- DataFrame
def test_quick_start_dataframe():
    df, y = _frame()
    train, test = df.iloc[:90], df.iloc[90:]
    # --- README: DataFrame
    clf = AutoDLClassifier(time_budget=BUDGET).fit(train, y[:90])   # numeric, categorical, string columns, NaN
    proba = clf.predict_proba(test)                                  # rows sum to 1, columns = clf.classes_
    labels = clf.predict(test[list(reversed(test.columns))])         # columns are matched by name
    # ---
    assert clf.domain_ == "tabular" and list(clf.classes_) == ["no", "yes"]
    assert list(clf.feature_names_in_) == list(df.columns) and clf.n_features_in_ == 6
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(labels) <= {"no", "yes"} and clf.score(test, y[90:]) > 0.6
    features = clf.metadata_.feature_to_index
    assert "colour=red" in features and "city=Oslo" in features and "size" in features
    with pytest.raises(AutoDLInputError, match="missing:\n- colour"):
        clf.predict(test.drop(columns="colour"))


def test_dataframe_encoding_is_fitted_on_train_and_applied_at_predict():
    pd = pytest.importorskip("pandas")
    train = pd.DataFrame({"x": [1.0, None, 3.0, 4.0], "c": ["a", "b", None, "a"], "n": ["1", "2", "3", "x4"]})
    encoder = InputEncoder()
    xs, fields = encoder.fit_transform(train)
    assert fields["col_count"] == len(fields["feature_to_index"]) == 1 + 2 + 4  # "x4" makes n a category
    assert InputEncoder().fit_transform(train.iloc[:3])[1]["col_count"] == 1 + 2 + 1  # numbers as text: numeric
    table = np.stack([x.ravel() for x in xs])
    assert np.isnan(table[1, 0]) and np.isnan(table[2, 1:3]).all()  # missing stays missing
    np.testing.assert_array_equal(table[0, 1:3], [1, 0])
    new = pd.DataFrame({"x": [2.0], "c": ["never seen"], "n": ["1"]})
    np.testing.assert_array_equal(encoder.transform(new)[0].ravel()[1:3], [0, 0])  # unseen category: no indicator
    again = InputEncoder.from_dict(encoder.to_dict())  # the encoding survives save / load (JSON)
    np.testing.assert_array_equal(again.transform(new)[0], encoder.transform(new)[0])


# ---------------------------------------------------------------- strings
def test_quick_start_text():
    rng = np.random.default_rng(0)
    good, bad = ["great", "lovely", "fine", "superb"], ["awful", "poor", "bad", "dreadful"]
    texts = [" ".join(rng.choice(good if i % 2 else bad, 4)) + " film" for i in range(80)]
    y = np.array(["pos" if i % 2 else "neg" for i in range(80)])
    # --- README: strings (text)
    clf = AutoDLClassifier(time_budget=BUDGET).fit(texts[:60], y[:60])     # a list or Series of strings
    labels = clf.predict(["a lovely superb film", "an awful poor film, unseen words"])
    # ---
    assert clf.domain_ == "text" and clf.metadata_.vocabulary
    assert list(labels) == ["pos", "neg"]
    assert clf.score(texts[60:], y[60:]) > 0.8


def test_text_vocabulary_comes_from_train_and_new_tokens_are_unknown():
    encoder = InputEncoder()
    xs, fields = encoder.fit_transform(["a b", "b c", ""])
    vocab = fields["channel_to_index"]
    assert list(vocab)[:3] == ["a", "b", "c"] and "<unk>" in vocab and "<empty>" in vocab
    (new, empty) = encoder.transform(["a zzz", ""])
    assert new.ravel().tolist() == [vocab["a"], vocab["<unk>"]] and empty.ravel().tolist() == [vocab["<empty>"]]


# ---------------------------------------------------------------- waveforms
def test_quick_start_waveforms():
    rng = np.random.default_rng(0)
    rate = 8000

    def tone(freq, seconds):
        t = np.arange(int(rate * seconds)) / rate
        return (np.sin(2 * np.pi * freq * t) + 0.1 * rng.normal(size=t.size)).astype(np.float32)

    waves = [tone(300 if i % 2 else 1200, rng.uniform(0.3, 0.8)) for i in range(60)]   # variable lengths
    y = np.arange(60) % 2
    # --- README: waveforms (speech)
    clf = AutoDLClassifier(time_budget=BUDGET, sample_rate=8000).fit(waves[:45], y[:45])   # 1-D arrays
    proba = clf.predict_proba(waves[45:])
    # ---
    assert clf.domain_ == "speech" and clf.metadata_.sample_rate == 8000
    assert clf.metadata_.sequence_size == -1 and proba.shape == (15, 2)
    assert clf.score(waves[45:], y[45:]) > 0.7


def test_a_list_of_waveforms_of_different_lengths_is_a_labelled_test_set():
    """``fit(X_test=(waves, y))`` with ragged waveforms: the (X_test, y_test) pair is recognised."""
    rng = np.random.default_rng(1)
    waves = [rng.normal(size=int(rng.integers(2000, 5000))).astype(np.float32) for _ in range(40)]
    y = np.arange(40) % 2
    clf = AutoDLClassifier(time_budget=BUDGET, sample_rate=8000).fit(waves[:30], y[:30], X_test=(waves[30:], y[30:]))
    assert clf.learning_curve_ and clf.predict_proba(waves[30:]).shape == (10, 2)


def test_waveforms_without_a_rate_warn_and_assume_16k():
    with pytest.warns(UserWarning, match="16000 Hz assumed"):
        _, fields = InputEncoder().fit_transform([np.zeros(100), np.ones(50)])
    assert fields["sample_rate"] == 16000


# ---------------------------------------------------------------- image files
def _images(tmp_path, n=48):
    from PIL import Image

    rng = np.random.default_rng(0)
    paths, y = [], []
    for i in range(n):
        h, w = rng.integers(20, 40, 2)  # every file a different size
        pixels = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
        if i % 2:
            pixels[: h // 2] += 150  # a bright top half
        path = tmp_path / f"img{i}.png"
        Image.fromarray(pixels).save(path)
        paths.append(str(path))
        y.append("bright" if i % 2 else "dark")
    return paths, np.array(y)


def test_quick_start_image_files(tmp_path):
    from PIL import Image

    paths, y = _images(tmp_path)
    # --- README: image files (paths, PIL images or arrays of any size)
    clf = AutoDLClassifier(time_budget=BUDGET, config={"holdout_min_examples": 1000}).fit(paths[:36], y[:36])
    labels = clf.predict(paths[36:])                                # resized to the training size
    more = clf.predict([Image.open(paths[40]), np.asarray(Image.open(paths[41]))])
    # ---
    assert clf.domain_ == "image"
    height, width = clf.metadata_.row_count, clf.metadata_.col_count
    assert 20 <= height <= 40 and 20 <= width <= 40 and clf.metadata_.num_channels == 3
    assert (labels == y[36:]).mean() > 0.7
    assert list(more) == list(clf.predict(paths[40:42]))


def test_images_of_other_sizes_and_channels_fit_the_trained_input():
    encoder = InputEncoder()
    xs, fields = encoder.fit_transform([np.zeros((10, 12)), np.ones((14, 16)), np.ones((12, 14))])
    assert (fields["row_count"], fields["col_count"], fields["raw_num_channels"]) == (12, 14, 1)
    out = encoder.transform([np.ones((50, 60, 3), np.uint8), np.ones((5, 5, 4))])
    assert [x.shape for x in out] == [(1, 12, 14, 1)] * 2
    assert detect_kind(np.zeros((3, 8, 8))) == "image"


# ---------------------------------------------------------------- video arrays
def test_quick_start_video_arrays():
    rng = np.random.default_rng(0)
    videos = rng.normal(0, 0.2, (40, 4, 12, 12, 1)).astype(np.float32)   # (n, T, H, W, C)
    y = np.arange(40) % 2
    videos[y == 1, :, :6] += 1.5
    # --- README: video arrays
    clf = AutoDLClassifier(time_budget=BUDGET, config={"holdout_min_examples": 1000}).fit(videos[:30], y[:30])
    labels = clf.predict(videos[30:])
    # ---
    assert clf.domain_ == "video" and clf.metadata_.tensor_shape == (4, 12, 12, 1)
    assert (labels == y[30:]).mean() > 0.7


# ---------------------------------------------------------------- multi-label
def test_quick_start_multilabel_label_lists():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 5))
    tags = [[t for t, on in (("cat", x[0] > 0), ("dog", x[1] > 0), ("bird", x[0] + x[2] > 0)) if on] for x in X]
    # --- README: multi-label (a list of label lists, or a 0/1 matrix / DataFrame)
    clf = AutoDLClassifier(time_budget=BUDGET).fit(X[:120], tags[:120])
    clf.classes_                                  # array(['bird', 'cat', 'dog'], dtype=object)
    indicator = clf.predict(X[120:])              # (n, 3) 0/1 matrix over classes_
    # ---
    assert clf.multilabel_ and list(clf.classes_) == ["bird", "cat", "dog"]
    assert indicator.shape == (30, 3) and set(np.unique(indicator)) <= {0, 1}
    assert clf.nauc_score(X[120:], tags[120:]) > 0.5
    proba = clf.predict_proba(X[120:])
    assert proba.shape == (30, 3) and proba.min() >= 0 and proba.max() <= 1


def test_label_encodings():
    pd = pytest.importorskip("pandas")
    lists = encode_labels([["a"], ["b", "c"], []], 3)
    assert lists.multilabel and list(lists.classes) == ["a", "b", "c"]
    np.testing.assert_array_equal(lists.matrix, [[1, 0, 0], [0, 1, 1], [0, 0, 0]])
    frame = encode_labels(pd.DataFrame({"x": [1, 0, 1], "y": [1, 1, 0]}), 3)
    assert frame.multilabel and list(frame.classes) == ["x", "y"]
    rows = encode_labels([[0, 1], [1, 1], [1, 0]], 3)  # equal-length 0/1 rows: an indicator matrix
    assert list(rows.classes) == [0, 1] and rows.matrix.tolist() == [[0, 1], [1, 1], [1, 0]]
    column = encode_labels(np.array([[0], [1], [1]]), 3)  # a single 0/1 column: two classes
    assert not column.multilabel and list(column.classes) == [0, 1] and column.matrix.shape == (3, 2)


def test_a_single_label_column_means_the_same_to_the_library_and_the_array_converter(tmp_path):
    from autodl_solver.data.converters.arrays import as_labels

    y = np.array([[0], [1], [1], [0]])
    assert as_labels(y, 4, "y", None).shape == (4, 2)
    assert encode_labels(y, 4).matrix.shape == (4, 2)
    np.testing.assert_array_equal(as_labels(y, 4, "y", None), encode_labels(y, 4).matrix)


@pytest.mark.parametrize("X, problem", [
    (np.zeros(5), "Reshape your data"),
    ([{"a": 1}, {"b": 2}], "cannot|mixing"),
    ([], "no examples"),
])
def test_unreadable_inputs_name_x(X, problem):
    with pytest.raises(AutoDLInputError, match=problem):
        InputEncoder().fit_transform(X)
