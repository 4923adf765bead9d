"""The speech portfolio's fast first model: logistic regression on per-clip log-mel and MFCC statistics.

``speech_linear`` summarises each clip (cropped to its first
``max_seconds``) by the mean and standard deviation over time of its log-mel
bands and MFCCs, the spread of the MFCC deltas and its log duration
(:func:`~autodl_solver.domains.speech.speech_features.clip_statistics`), then fits
the tabular logistic regression
(:class:`~autodl_solver.domains.core.linear.LinearLearner`: standardised
inputs, growing rows, warm-started L-BFGS). This is what the AutoDL winners
opened their speech runs with (DeepWisdom: logistic regression on mel
mean/std; PASA_NJU: on MFCC, ``docs/winners.md`` §2.2, §2.4): a first
prediction within seconds where a network needs tens of them. Measured on
one core: the first fit on 500 one-second 16 kHz clips takes 0.4 s, and the
engine's first prediction on the espeak-ng ``voice_variant`` set came at
0.6 s (test NAUC 0.92).

Features are computed once per clip: the growing training prefix only adds
its new rows, and the validation and test lists (the engine passes the same
arrays every time) are cached by identity.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ...data.metadata import Metadata
from ..core.feature_cache import CachedFeatures
from ..core.linear import LinearConfig, LinearLearner
from ..registration import register
from .speech_features import FeatureSpec, clip_statistics, warm_up


@dataclass
class SpeechLinearConfig(LinearConfig):
    """:class:`LinearConfig` plus the features (``configs/speech.yaml``).

    Attributes
    ----------
    max_seconds : float
        Clips are cropped to their first ``max_seconds`` before feature extraction.
    n_mels, n_mfcc : int
        Log-mel bands and MFCC coefficients summarised.
    win_ms, hop_ms : float
        Frame window and hop in milliseconds (converted to samples at the metadata's rate).
    deltas : bool
        Add the spread of the frame-to-frame MFCC differences.
    C : float
        Inverse L2 strength (features are few and correlated).
    prior_cost_s : float
        ``next_cost_s()`` before anything was measured.
    """

    max_seconds: float = 5.0
    n_mels: int = 40
    n_mfcc: int = 20
    win_ms: float = 25.0
    hop_ms: float = 10.0
    deltas: bool = True
    C: float = 0.5
    prior_cost_s: float = 1.0


@register("speech_linear", domains=("speech",), default_config=SpeechLinearConfig)
class SpeechLinearLearner(CachedFeatures, LinearLearner):
    """Logistic regression on log-mel/MFCC clip statistics (see the module docstring)."""

    def __init__(self, metadata: Metadata, config: Optional[SpeechLinearConfig] = None, seed: int = 0) -> None:
        super().__init__(metadata, config or self._default_config(SpeechLinearConfig), seed)
        cfg = self.config
        self.spec = FeatureSpec(sample_rate=int(metadata.effective_sample_rate), n_mels=int(cfg.n_mels),
                                n_mfcc=int(cfg.n_mfcc), win_ms=float(cfg.win_ms), hop_ms=float(cfg.hop_ms))
        self._max_samples = self.spec.samples(cfg.max_seconds)
        warm_up()  # librosa's numba kernels, off the clock (the protocol does not time __init__)
        self._n_features = None

    def _compute(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        return clip_statistics(xs, self.spec, self._max_samples, deltas=bool(self.config.deltas))

    def load_state_dict(self, state: dict[str, Any]) -> None:
        # the features depend only on the config and the metadata's rate: the linear state is the model
        super().load_state_dict(state)
        self.forget_training_features()
