"""CachedFeatures: training-prefix rows and repeated prediction lists are featurised once."""
import numpy as np

from autodl_solver.domains.core.feature_cache import CachedFeatures, IdentityCache


class _Base:
    def fit(self, data, budget_s):
        self.seen = self._features(data)


class Counting(CachedFeatures, _Base):
    def __init__(self):
        self.computed = 0

    def _compute(self, xs):
        self.computed += len(xs)
        return np.array([[float(x.sum())] for x in xs]).reshape(len(xs), 1)


def test_prefix_and_prediction_lists_are_computed_once():
    rows = [np.full((1, 1, 1, 1), i, np.float32) for i in range(10)]
    learner = Counting()
    learner.fit(rows[:4], 1.0)
    learner.fit(rows[:10], 1.0)  # only rows 4..9 are new
    assert learner.computed == 10 and learner.seen[:, 0].tolist() == list(range(10))
    test = rows[2:7]
    first = learner._features(test)
    again = learner._features(list(test))  # a new list holding the same arrays hits the cache
    assert learner.computed == 15 and again is first
    learner._features([r.copy() for r in test])  # equal copies are other examples
    assert learner.computed == 20
    learner.forget_training_features()
    learner.fit(rows[:3], 1.0)
    assert learner.computed == 23


def test_identity_cache_matches_the_same_arrays_keeps_two_and_checks_the_version():
    a = [np.zeros(2), np.ones(2)]
    b = [np.zeros(2), np.ones(2)]  # equal, not the same arrays
    c = [np.full(2, 2.0)]
    cache: IdentityCache[str] = IdentityCache(2)
    calls = []

    def compute(tag):
        calls.append(tag)
        return tag

    assert cache.get_or_compute(a, lambda: compute("a")) == "a"
    assert cache.get_or_compute(list(a), lambda: compute("again")) == "a"  # a new list of the same arrays
    assert cache.get(b) is None and cache.get_or_compute(b, lambda: compute("b")) == "b"
    cache.put(c, "c")  # a third list drops the oldest (a)
    assert len(cache) == 2 and cache.get(a) is None and cache.get(b) == "b" and calls == ["a", "b"]
    cache.put(a, "a1", version=1)
    assert cache.get(a) is None and cache.get(a, version=1) == "a1" and cache.get(a, version=2) is None
    cache.put(b, "x", capacity=1)
    assert len(cache) == 1
    cache.clear()
    assert len(cache) == 0
