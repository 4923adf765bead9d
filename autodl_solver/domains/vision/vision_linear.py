"""Fast first models for images and videos: logistic regression on small pixels or frozen features.

* ``vision_linear`` (image and video): every example shrunk to at most
  ``side`` pixels on its longest side (``max_frames`` evenly spread frames for
  video), standardised per channel, flattened, then the tabular logistic
  regression (:class:`~autodl_solver.domains.core.linear.LinearLearner`:
  growing rows, warm-started L-BFGS). It opens the image and video
  portfolios (for video the differences of consecutive frames are appended,
  so the direction of motion is a linear feature): a first prediction in
  about a second, where a network needs
  tens of seconds for its first useful one (``docs/winners.md`` §7 lesson 1).
* ``image_embed_linear`` (image): the same logistic regression on frozen,
  pooled EfficientNet-Lite0 ImageNet features (1280-d, the packaged offline
  weights) — the strongest cheap model on natural photos with few examples,
  where pixels carry little. Features of the test and validation sets are
  computed once (the engine passes the same lists every time).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ...data.metadata import Metadata
from ..core.feature_cache import CachedFeatures
from ..core.linear import LinearConfig, LinearLearner
from ..core.torch_utils import device, import_torch
from ..core.vision_input import VisionPlan, convert, make_plan
from ..registration import register


class _PlanState:
    """Saves and restores the learner's :class:`VisionPlan` beside :class:`LinearLearner`'s state."""

    _plan: Optional[VisionPlan]

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if self._plan is not None:
            state["plan"] = self._plan.to_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if "plan" in state:
            self._plan = VisionPlan.from_dict(state["plan"])


@dataclass
class VisionLinearConfig(LinearConfig):
    """:class:`LinearConfig` plus the pixel grid (``configs/image.yaml`` / ``video.yaml``).

    Attributes
    ----------
    side : int
        Longest side of the shrunk images.
    max_frames : int
        Frames kept per video.
    C : float
        Inverse L2 strength (stronger than the tabular default: pixels are many and correlated).
    """

    side: int = 16
    max_frames: int = 4
    C: float = 0.1


@register("vision_linear", domains=("image", "video"), default_config=VisionLinearConfig, config_file="image.yaml")
class VisionLinearLearner(_PlanState, LinearLearner):
    """Logistic regression on shrunk pixels (see the module docstring)."""

    def __init__(self, metadata: Metadata, config: Optional[VisionLinearConfig] = None, seed: int = 0) -> None:
        super().__init__(metadata, config or self._default_config(VisionLinearConfig), seed)
        self._plan: Optional[VisionPlan] = None
        self._n_features = None

    def _make_plan(self, xs: Sequence[np.ndarray]) -> VisionPlan:
        cfg = self.config
        return make_plan(self.metadata, xs, max_frames=cfg.max_frames, max_side=cfg.side, max_side_wide=cfg.side,
                         min_side=1, multiple=1)

    def _features(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        import torch

        if self._plan is None:
            self._plan = self._make_plan(xs)
        frames = convert(xs, self._plan)  # (n, F, C, H, W)
        if self._plan.frames > 1:
            # frame differences make the direction of motion a linear feature
            frames = torch.cat([frames, frames[:, 1:] - frames[:, :-1]], dim=1)
        return frames.reshape(len(xs), -1).numpy()



@dataclass
class EmbedLinearConfig(LinearConfig):
    """Settings of ``image_embed_linear`` (``configs/image.yaml``).

    Attributes
    ----------
    max_side, max_side_cuda, min_side : int
        Image size fed to the frozen backbone (longest side cap on CPU / CUDA, shortest side floor).
    batch_size : int
        Images per feature-extraction batch.
    weights_path : str, optional
        Explicit EfficientNet-Lite0 checkpoint (default: the packaged ImageNet weights).
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    """

    max_side: int = 128
    max_side_cuda: int = 224
    min_side: int = 64
    batch_size: int = 64
    weights_path: Optional[str] = None
    device: str = "auto"
    C: float = 0.5
    prior_cost_s: float = 3.0


@register("image_embed_linear", domains=("image",), default_config=EmbedLinearConfig)
class EmbedLinearLearner(_PlanState, CachedFeatures, LinearLearner):
    """Logistic regression on frozen pretrained EfficientNet-Lite0 features (see the module docstring)."""

    def __init__(self, metadata: Metadata, config: Optional[EmbedLinearConfig] = None, seed: int = 0) -> None:
        super().__init__(metadata, config or self._default_config(EmbedLinearConfig), seed)
        import_torch()
        from .vision_backbones import build_image_backbone

        cfg = self.config
        self._dev = device(cfg.device)
        channels = metadata.tensor_shape[3]
        self._channels = int(channels) if channels and channels > 0 else 3
        trunk, self._dim, self.weights_source = build_image_backbone("efficientnet_lite0", self._channels, True,
                                                                     cfg.weights_path)
        self._net = trunk.to(self._dev).eval()
        self._plan: Optional[VisionPlan] = None
        self._n_features = self._dim

    def _features(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        if self._plan is None:
            cfg = self.config
            side = cfg.max_side_cuda if self._dev.type == "cuda" else cfg.max_side
            self._plan = make_plan(self.metadata, xs, max_frames=1, max_side=side, max_side_wide=2 * side,
                                   min_side=cfg.min_side)
        return super()._features(xs)

    def _compute(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        import torch

        if len(xs) == 0:
            return np.zeros((0, self._dim), np.float32)
        x = convert(xs, self._plan)[:, 0]
        outs = []
        with torch.no_grad():
            for lo in range(0, len(x), self.config.batch_size):
                xb = x[lo:lo + self.config.batch_size].to(self._dev)
                outs.append(self._net(xb).float().cpu())
        return torch.cat(outs).numpy()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._n_features = self._dim
