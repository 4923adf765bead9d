"""Test helpers that ship with the package.

* :func:`make_dataset` — tiny learnable datasets for every domain
  (tabular, image, video, text, speech), multi-class or multi-label;
* :func:`check_learner` — the battery every registered learner passes;
* :class:`CentroidLearner` — a minimal reference learner (any domain) that
  passes it, for testing code that drives learners.
"""
from .check_learner import CentroidConfig, CentroidLearner, check_learner, summary_features
from .datasets import DOMAINS, inject_nan, make_dataset, make_labels

__all__ = ["DOMAINS", "CentroidConfig", "CentroidLearner", "check_learner", "inject_nan", "make_dataset",
           "make_labels", "summary_features"]
