"""``tabular_linear``: logistic regression on standardised tabular features.

The learner is :class:`~autodl_solver.domains.core.linear.LinearLearner`
(shared with the image, video, speech and text linear learners, which
subclass it); this module registers it for tabular data, with
:class:`~autodl_solver.domains.core.linear.LinearConfig` as its config
(``configs/tabular.yaml``).
"""
from __future__ import annotations

from ..core.linear import LinearConfig, LinearLearner
from ..registration import register

__all__ = ["LinearConfig", "LinearLearner"]

register("tabular_linear", domains=("tabular",), default_config=LinearConfig)(LinearLearner)
