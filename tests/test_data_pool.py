"""DataPool: progressive reading, hold-out carving, multi-label detection, bad labels."""
from __future__ import annotations

import numpy as np
import pytest

from autodl_solver.anytime.config import EngineConfig
from autodl_solver.anytime.data_pool import DataPool, carve_holdout, plan_holdout_size
from autodl_solver.data.dataset import ArrayDataset
from autodl_solver.data.metadata import Metadata
from autodl_solver.errors import AutoDLInputError
from autodl_solver.testing import make_dataset


class CountingDataset(ArrayDataset):
    """An ArrayDataset that records every take() call."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[int, int]] = []

    @property
    def rows_taken(self) -> int:
        return sum(stop - start for start, stop in self.calls)

    def take(self, start, stop):
        self.calls.append((start, stop))
        return super().take(start, stop)


def counting(n, k=3, multilabel=False, seed=0):
    train, _, _ = make_dataset("tabular", n_train=n, n_test=1, output_dim=k, multilabel=multilabel, seed=seed)
    xs, y = train.take(0, n)
    return CountingDataset(xs, y, train.metadata)


def test_reads_nothing_until_asked_and_never_more_than_asked():
    ds = counting(5000)
    pool = DataPool(ds, EngineConfig(first_rows=300), seed=0)
    assert ds.calls == [] and pool.n_total == 5000 - 500
    xs, y = pool.get(100)
    assert ds.calls == [(0, 800)]  # first chunk: 300 training rows + the 500-row hold-out
    assert len(xs) == 100 and y.shape == (100, 3)
    pool.get(300)
    assert ds.rows_taken == 800  # cached
    pool.get(1000)
    assert ds.calls[-1] == (800, 1500) and ds.rows_taken == 1500  # exactly the 700 missing rows
    assert pool.rows_read == 1500 and pool.train_rows_read == 1000
    pool.set_window(1200)
    xs, _ = pool.get(10_000)
    assert len(xs) == 1200 and pool.requested == 1200 and pool.n_available == 1200
    assert ds.rows_taken == 1700
    pool.set_window(None)
    assert len(pool.get(10 ** 9)[0]) == pool.n_total == 4500
    assert ds.rows_taken == 5000


def test_returned_labels_are_copies():
    pool = DataPool(counting(100), seed=0)
    _, y = pool.get(10)
    y[:] = -1
    assert np.all(pool.get(10)[1] >= 0)


@pytest.mark.parametrize("n, expected", [(10, 0), (19, 0), (20, 10), (100, 10), (1000, 100), (10 ** 6, 500)])
def test_planned_holdout_sizes(n, expected):
    assert plan_holdout_size(n, EngineConfig()) == expected
    assert plan_holdout_size(n, EngineConfig(holdout=False)) == 0


@pytest.mark.parametrize("n, k, expected", [(210, 8, 32), (210, 10, 40), (124, 3, 13), (82, 10, 10), (26, 10, 10),
                                            (1000, 10, 100), (400, 1, 40), (250, 12, 48), (250, 13, 25)])
def test_a_small_many_class_set_gets_a_few_holdout_examples_per_class(n, k, expected):
    assert plan_holdout_size(n, EngineConfig(), k) == expected
    assert plan_holdout_size(n, EngineConfig(holdout_per_class=0), k) == plan_holdout_size(n, EngineConfig())


def test_the_pool_plans_its_holdout_from_the_number_of_classes():
    from autodl_solver.testing import make_dataset

    train, _, _ = make_dataset("tabular", n_train=210, output_dim=8, seed=1)
    pool = DataPool(train, seed=0)
    assert pool.holdout_size == 32
    pool.read_first()
    assert len(pool.validation()[0]) == 32 and pool.n_total == 210 - 32


def test_holdout_is_stratified_for_multiclass():
    rng = np.random.default_rng(0)
    cls = rng.choice(4, size=1000, p=[0.55, 0.25, 0.15, 0.05])
    y = np.eye(4)[cls]
    val = carve_holdout(y, 100, rng)
    assert len(val) == 100 and len(set(val)) == 100
    share = y[val].mean(axis=0)
    np.testing.assert_allclose(share, y.mean(axis=0), atol=0.02)


def test_holdout_multilabel_covers_classes_and_keeps_singletons_in_train():
    rng = np.random.default_rng(1)
    y = (rng.random((200, 12)) < 0.2).astype(np.float32)
    y[:, 10] = 0
    y[[3, 50], 10] = 1  # two positives: one goes to validation
    y[:, 11] = 0
    y[7, 11] = 1  # a single positive: stays in train
    val = carve_holdout(y, 20, np.random.default_rng(0))
    assert len(val) == 20
    in_val = np.zeros(200, bool)
    in_val[val] = True
    counts = (y > 0).sum(axis=0)
    assert np.all((y[in_val] > 0).sum(axis=0)[counts >= 2] >= 1)
    assert not in_val[7]
    assert np.all((y[~in_val] > 0).sum(axis=0)[counts >= 1] >= 1)


def test_one_example_per_class_gives_no_holdout():
    y = np.eye(30, dtype=np.float32)
    assert len(carve_holdout(y, 10, np.random.default_rng(0))) == 0
    meta = Metadata(output_dim=30, col_count=4)
    pool = DataPool(ArrayDataset(np.zeros((30, 1, 1, 4, 1)), y, meta))
    assert pool.holdout_size == 10  # planned...
    xs, yv = pool.validation()
    assert pool.holdout_size == 0 and not pool.has_holdout and pool.n_total == 30  # ...but impossible
    assert len(xs) == 30  # falls back to the training rows


def test_small_set_validation_falls_back_to_training_rows():
    pool = DataPool(counting(12), seed=0)
    xs, y = pool.validation()
    assert not pool.has_holdout and len(xs) == 12 and pool.n_total == 12


def test_validation_rows_are_disjoint_from_training_rows():
    ds = counting(300)
    pool = DataPool(ds, EngineConfig(first_rows=100), seed=3)
    vx, _ = pool.validation()
    tx, _ = pool.get(pool.n_total)
    val_ids = {x.tobytes() for x in vx}
    assert len(vx) == 30 and not val_ids & {x.tobytes() for x in tx}
    assert len(tx) + len(vx) == 300


def test_multilabel_detection_and_metadata_override():
    assert DataPool(counting(100, multilabel=True)).multilabel is True
    assert DataPool(counting(100)).multilabel is False
    ds = counting(100)
    ds.metadata = ds.metadata.replace(multilabel=True)
    pool = DataPool(ds)
    assert pool.multilabel is True and ds.calls == []


def test_same_seed_same_split():
    a, b = DataPool(counting(400), seed=5), DataPool(counting(400), seed=5)
    np.testing.assert_array_equal(a.validation()[1], b.validation()[1])
    assert not np.array_equal(a.validation()[1], DataPool(counting(400), seed=6).validation()[1])


def test_bad_training_sets_are_rejected():
    meta = Metadata(output_dim=2, col_count=3)
    with pytest.raises(AutoDLInputError, match="empty"):
        DataPool(ArrayDataset(np.zeros((0, 1, 1, 3, 1)), np.zeros((0, 2)), meta))
    with pytest.raises(AutoDLInputError, match="no labels"):
        DataPool(ArrayDataset(np.zeros((4, 1, 1, 3, 1)), None, meta))
    y = np.ones((4, 2))
    y[1, 0] = np.nan
    pool = DataPool(ArrayDataset(np.zeros((4, 1, 1, 3, 1)), y, meta))
    with pytest.raises(AutoDLInputError, match="NaN"):
        pool.get(4)


def test_first_read_goes_past_a_chunk_of_one_class():
    # A dataset stored sorted by class: the first 800 rows are all class 1.
    train, _, _ = make_dataset("tabular", n_train=3000, n_test=1, output_dim=2, seed=0)
    xs, y = train.take(0, 3000)
    order = np.argsort(-y[:, 1], kind="stable")
    y_sorted = y[order]
    assert y_sorted[:800, 1].all() and not y_sorted[-1, 1]
    ds = CountingDataset([xs[i] for i in order], y_sorted, train.metadata)
    pool = DataPool(ds, EngineConfig(first_rows=300), seed=0)
    pool.read_first()
    _, y_val = pool.validation()
    assert (y_val.sum(axis=0) > 0).all()  # both classes in the hold-out: NAUC can be measured
    assert ds.calls[0] == (0, 600) and ds.rows_taken < 3000
