"""CachedFeatures: training-prefix rows and repeated prediction lists are featurised once."""
import numpy as np

from autodl_solver.domains.core.feature_cache import CachedFeatures


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
