"""T-NAML tasks: cached inputs of every embedding module, labels and a train/valid/test split.

A child model (:mod:`autodl_solver.naml.child`) must train in about a second,
so everything costly happens once per task, here, and is cached on disk:

* text tasks (:func:`text_task`): the documents are rebuilt from an AutoDL
  text dataset (:mod:`autodl_solver.domains.text.text_vocab`), lower-cased and cut
  to ``max_tokens`` whitespace tokens; the cache holds the frozen MiniLM
  sentence embeddings (``minilm``), a task vocabulary's token ids (the wide
  tower's bag of tokens and the ``fasttext`` mean bag of words), fastText
  skipgram vectors trained on the task's training documents (one per
  vocabulary token) and hashed token ids (``hashed``);
* image tasks (:func:`image_task`): pooled EfficientNet-Lite0 ImageNet
  features (``efficientnet_lite0``), shrunk grey pixels (``pixels``) and, for
  the wide tower, one token per (pixel of an 8x8 grey image, intensity
  quartile) — the image analogue of a one-hot bag of tokens;
* tabular tasks (:func:`tabular_task`): the table's features standardised
  on the training rows with a missing-value indicator per column that has
  gaps (``standardized``), and each feature's empirical CDF on the training
  rows (``quantiles``); the wide tower's tokens are one per (feature,
  quartile bin of the training rows), a missing value having a bin of its
  own (:func:`feature_bin_tokens`);
* speech tasks (:func:`speech_task`): the speech domain's per-clip
  statistics (log-mel and MFCC mean/std, MFCC-delta spread, log duration;
  :func:`~autodl_solver.domains.speech.speech_features.clip_statistics`, the
  ``speech_linear`` learner's input, ``clip_stats``) and the log-mel
  spectrogram of the planned clip length averaged over a few time segments
  (:func:`~autodl_solver.domains.speech.speech_features.log_mel_fixed`,
  ``logmel_grid``); wide tokens: (clip statistic, quartile);
* video tasks (:func:`video_task`): a few evenly spread frames shrunk to a
  small grid and the differences of consecutive frames, planned and
  converted by the vision domain's
  :func:`~autodl_solver.domains.core.vision_input.make_plan` /
  :func:`~autodl_solver.domains.core.vision_input.convert` as the
  ``vision_linear`` learner's video input (``frame_pixels``); wide tokens:
  (feature, quartile).

:data:`TASK_BUILDERS` maps a dataset's domain to its builder.

Dense features are standardised with the training rows' mean and standard
deviation. The seconds each module's inputs took to compute, and for how many
rows, are kept in ``info["feature_seconds"]`` (``{module: {"seconds",
"rows"}}``): the child's cost-aware reward (:mod:`autodl_solver.naml.reward`)
charges a child the share of its module's extraction its rows needed, since
the solver's learner on that module pays it on every row it reads. The
split: train and validation rows are drawn from the dataset's train subset,
test rows from its test subset (labels from ``X.solution``),
each capped (``max_train`` …) with a seeded sample. Tasks are saved as one
``.npz`` file (written atomically) named after the dataset and the settings,
so a second run loads them in milliseconds.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import time
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..errors import AutoDLInputError
from ..utils.atomic import atomic_write_bytes

#: Buckets of the hashed token embedding (index 0 is padding).
HASH_BUCKETS = 2**14
#: Index of padding and of out-of-vocabulary tokens in a task vocabulary.
PAD, OOV = 0, 1
#: Version of the cache files: 2 records the feature seconds (older caches are rebuilt, not reused).
CACHE_VERSION = 2


@dataclass
class Task:
    """One classification task, ready for child models.

    Attributes
    ----------
    name : str
        Task key (the controller's task embedding is looked up by it).
    modality : {"text", "image", "tabular", "speech", "video"}
        Which embedding modules apply (:data:`~autodl_solver.naml.space.EMBEDDINGS`).
    y : ndarray of int64, shape (n,)
        Class of every row.
    n_classes : int
        Number of classes.
    split : dict of str -> ndarray of int64
        Row indices of ``"train"``, ``"valid"`` and ``"test"``.
    dense : dict of str -> ndarray of float32, shape (n, d)
        Frozen features by embedding module name (standardised).
    tokens : ndarray of int64, shape (n, L)
        Token ids of the wide tower (and of ``fasttext``); 0 pads.
    n_tokens : int
        Size of the token vocabulary (ids are below it).
    hashed : ndarray of int64, shape (n, L), optional
        Hashed token ids for the ``hashed`` module (text only); 0 pads.
    word_vectors : ndarray of float32, shape (n_tokens, d), optional
        fastText vectors of the vocabulary (text only); row 0 is zero.
    info : dict
        Where the task came from and how it was built.
    """

    name: str
    modality: str
    y: np.ndarray
    n_classes: int
    split: dict
    dense: dict = field(default_factory=dict)
    tokens: Optional[np.ndarray] = None
    n_tokens: int = 0
    hashed: Optional[np.ndarray] = None
    word_vectors: Optional[np.ndarray] = None
    info: dict = field(default_factory=dict)

    def modules(self) -> list[str]:
        """Embedding modules this task has inputs for."""
        out = list(self.dense)
        if self.word_vectors is not None:
            out.append("fasttext")
        if self.hashed is not None:
            out.append("hashed")
        return out

    def save(self, path: str | os.PathLike) -> Path:
        """Write the task to ``path`` (``.npz``, atomically)."""
        arrays = {"y": self.y, **{f"split_{k}": v for k, v in self.split.items()},
                  **{f"dense_{k}": v for k, v in self.dense.items()}}
        for key in ("tokens", "hashed", "word_vectors"):
            if getattr(self, key) is not None:
                arrays[key] = getattr(self, key)
        meta = {"name": self.name, "modality": self.modality, "n_classes": self.n_classes,
                "n_tokens": self.n_tokens, "info": self.info}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write_bytes(path, buffer.getvalue())
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Task":
        """Read a task written by :meth:`save`."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
            meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
        except (OSError, ValueError, KeyError) as exc:
            raise AutoDLInputError(path, f"not a T-NAML task cache ({exc.__class__.__name__}: {exc})") from None
        return cls(name=meta["name"], modality=meta["modality"], y=arrays["y"], n_classes=int(meta["n_classes"]),
                   split={k[6:]: v for k, v in arrays.items() if k.startswith("split_")},
                   dense={k[6:]: v for k, v in arrays.items() if k.startswith("dense_")},
                   tokens=arrays.get("tokens"), n_tokens=int(meta["n_tokens"]), hashed=arrays.get("hashed"),
                   word_vectors=arrays.get("word_vectors"), info=meta.get("info", {}))


# --------------------------------------------------------------- helpers
def _standardise(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    mean = x[train].mean(0, keepdims=True)
    std = x[train].std(0, keepdims=True)
    return ((x - mean) / np.where(std > 1e-6, std, 1.0)).astype(np.float32)


def _pad(rows: Sequence[Sequence[int]], length: int) -> np.ndarray:
    out = np.zeros((len(rows), length), np.int64)
    for i, row in enumerate(rows):
        row = list(row)[:length]
        out[i, :len(row)] = row
    return out


def _split_labels(y: Optional[np.ndarray], where: str) -> np.ndarray:
    if y is None:
        raise AutoDLInputError(where, "no labels (a T-NAML task needs train labels and X.solution)")
    y = np.asarray(y)
    if y.ndim != 2 or not np.allclose(y.sum(1), 1.0):
        raise AutoDLInputError(where, "expected single-label (one-hot) targets; T-NAML children are softmax models")
    return y.argmax(1).astype(np.int64)


def _draw(n: int, cap: Optional[int], rng: np.random.Generator) -> np.ndarray:
    idx = rng.permutation(n)
    return np.sort(idx[:cap] if cap else idx)


def _read_rows(path: str | os.PathLike, max_train: int, max_valid: int, max_test: int, seed: int):
    """(xs, y, split, dataset info) of an AutoDL dataset, rows sub-sampled."""
    from ..data.reader import load_dataset

    data = load_dataset(path)
    rng = np.random.default_rng(seed)
    n_train = len(data.train)
    pool = rng.permutation(n_train)
    if n_train < 3:
        raise AutoDLInputError(data.data_dir / "train", f"{n_train} examples; a task needs at least 3")
    n_valid = min(max_valid, max(1, n_train // 5))
    valid_rows = np.sort(pool[:n_valid])
    train_rows = np.sort(pool[n_valid:n_valid + max_train])
    if data.solution is None:
        raise AutoDLInputError(data.root, f"no {data.name}.solution: the test rows need labels")
    test_rows = _draw(len(data.test), max_test, rng)
    xs_all, labels = data.train.take(0, n_train)
    y_train = _split_labels(labels, str(data.data_dir / "train"))
    xs_test, _ = data.test.take(0, len(data.test))
    y_test = _split_labels(data.solution, str(data.solution_path))
    xs = [xs_all[i] for i in train_rows] + [xs_all[i] for i in valid_rows] + [xs_test[i] for i in test_rows]
    y = np.concatenate([y_train[train_rows], y_train[valid_rows], y_test[test_rows]])
    a, b = len(train_rows), len(train_rows) + len(valid_rows)
    split = {"train": np.arange(a), "valid": np.arange(a, b), "test": np.arange(b, len(y))}
    return xs, y, split, data


def cache_path(cache_dir: str | os.PathLike, name: str, settings: dict) -> Path:
    """The cache file of task ``name`` built with ``settings``."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    return Path(cache_dir) / f"{name}-{digest}.npz"


def record_feature_seconds(task: Task, module: str, seconds: float, rows: int) -> None:
    """Note that ``module``'s inputs of ``rows`` rows took ``seconds`` (``task.info["feature_seconds"]``)."""
    task.info.setdefault("feature_seconds", {})[module] = {"seconds": float(seconds), "rows": int(rows)}


def feature_seconds_per_row(task: Task, module: str) -> Optional[float]:
    """Seconds per row of ``module``'s feature extraction on ``task``; ``None`` when the cache did not record it."""
    entry = (task.info.get("feature_seconds") or {}).get(module)
    if not isinstance(entry, dict):
        return None
    try:
        seconds, rows = float(entry["seconds"]), int(entry["rows"])
    except (KeyError, TypeError, ValueError):
        return None
    return seconds / rows if rows > 0 and seconds == seconds and seconds >= 0 else None


def _loaded(target: Path) -> Task:
    task = Task.load(target)
    task.info["cache"] = str(target)
    return task


# ------------------------------------------------------------------ text
def _minilm(docs: list[str], max_seq_length: int) -> np.ndarray:
    import torch

    from ..domains.text.text_embed_linear import load_encoder

    encoder = load_encoder(None, max_seq_length, torch.device("cpu"))
    with torch.no_grad():
        out = encoder.encode(docs, batch_size=64, convert_to_numpy=True, show_progress_bar=False)
    return np.nan_to_num(np.asarray(out, np.float32))


def _fasttext_vectors(train_docs: list[str], vocab: list[str], dim: int, seed: int) -> np.ndarray:
    """Skipgram vectors trained on the training documents, one per vocabulary token (padding and OOV rows zero)."""
    from ..domains.text.text_embeddings import train_word_vectors

    vectors, _ = train_word_vectors(train_docs, vocab, dim, epochs=5, seed=seed, threads=1)  # one thread: deterministic
    vectors[: OOV + 1] = 0.0
    return vectors


def text_task_from_docs(name: str, docs: Sequence[str], y: np.ndarray, split: dict, *, max_tokens: int = 64,
                        max_vocab: int = 20000, encoders: Sequence[str] = ("minilm", "fasttext", "hashed"),
                        fasttext_dim: int = 50, minilm_seq_length: int = 64, seed: int = 0,
                        info: Optional[dict] = None) -> Task:
    """A text :class:`Task` from documents (lower-cased, split on whitespace).

    Parameters
    ----------
    name : str
        Task key.
    docs : sequence of str
        One document per row.
    y : ndarray of int, shape (n,)
        Classes.
    split : dict
        ``train`` / ``valid`` / ``test`` row indices.
    max_tokens : int
        Tokens kept per document.
    max_vocab : int
        Most frequent training tokens kept in the vocabulary (others are OOV).
    encoders : sequence of str
        Modules to build inputs for, among ``minilm``, ``fasttext``, ``hashed``.
    """
    from collections import Counter

    tokens = [d.lower().split()[:max_tokens] for d in docs]
    counts = Counter(t for i in split["train"] for t in tokens[i])
    vocab = ["<pad>", "<oov>"] + [t for t, _ in counts.most_common(max_vocab)]
    index = {t: i for i, t in enumerate(vocab)}
    ids = _pad([[index.get(t, OOV) for t in row] for row in tokens], max_tokens)
    task = Task(name, "text", np.asarray(y, np.int64), int(np.max(y)) + 1, split, tokens=ids, n_tokens=len(vocab),
                info=dict(info or {}, max_tokens=max_tokens, vocabulary=len(vocab)))
    if "hashed" in encoders:
        began = time.perf_counter()
        task.hashed = _pad([[1 + zlib.crc32(t.encode()) % (HASH_BUCKETS - 1) for t in row] for row in tokens],
                           max_tokens)
        record_feature_seconds(task, "hashed", time.perf_counter() - began, len(tokens))
    if "fasttext" in encoders:
        began = time.perf_counter()
        train_docs = [" ".join(tokens[i]) for i in split["train"]]
        task.word_vectors = _fasttext_vectors(train_docs, vocab, fasttext_dim, seed)
        record_feature_seconds(task, "fasttext", time.perf_counter() - began, len(train_docs))
    if "minilm" in encoders:
        began = time.perf_counter()
        task.dense["minilm"] = _standardise(_minilm([" ".join(t) for t in tokens], minilm_seq_length),
                                            split["train"])
        record_feature_seconds(task, "minilm", time.perf_counter() - began, len(tokens))
    return task


def text_task(path: str | os.PathLike, name: Optional[str] = None, cache_dir: Optional[str | os.PathLike] = None, *,
              max_train: int = 2000, max_valid: int = 500, max_test: int = 500, seed: int = 0,
              **kwargs) -> Task:
    """A text task from an AutoDL text dataset, cached in ``cache_dir`` (see the module docstring)."""
    from ..domains.text.text_vocab import build_table, documents

    name = name or Path(path).name
    settings = {"path": str(Path(path).resolve()), "kind": "text", "max_train": max_train, "max_valid": max_valid,
                "max_test": max_test, "seed": seed, "cache_version": CACHE_VERSION, **kwargs}
    target = cache_path(cache_dir, name, settings) if cache_dir else None
    if target is not None and target.is_file():
        return _loaded(target)
    xs, y, split, data = _read_rows(path, max_train, max_valid, max_test, seed)
    max_tokens = int(kwargs.get("max_tokens", 64))
    table = build_table(data.metadata)
    docs = documents(xs, table, max_tokens=max_tokens)  # tokens space-separated (Chinese: one per character)
    task = text_task_from_docs(name, docs, y, split, seed=seed, info={"source": str(path)}, **kwargs)
    if target is not None:
        task.info["cache"] = str(target)
        task.save(target)
    return task


# ----------------------------------------------------------------- image
def image_task(path: str | os.PathLike, name: Optional[str] = None, cache_dir: Optional[str | os.PathLike] = None, *,
               max_train: int = 2000, max_valid: int = 500, max_test: int = 500, seed: int = 0,
               encoders: Sequence[str] = ("efficientnet_lite0", "pixels"), side: int = 64,
               pixel_side: int = 16) -> Task:
    """An image task from an AutoDL image dataset, cached in ``cache_dir`` (see the module docstring).

    Parameters
    ----------
    side : int
        Longest side fed to EfficientNet-Lite0 (CPU-sized).
    pixel_side : int
        Side of the grey ``pixels`` input.
    """
    name = name or Path(path).name
    settings = {"path": str(Path(path).resolve()), "kind": "image", "max_train": max_train, "max_valid": max_valid,
                "max_test": max_test, "seed": seed, "encoders": list(encoders), "side": side,
                "pixel_side": pixel_side, "cache_version": CACHE_VERSION}
    target = cache_path(cache_dir, name, settings) if cache_dir else None
    if target is not None and target.is_file():
        return _loaded(target)
    xs, y, split, data = _read_rows(path, max_train, max_valid, max_test, seed)
    frames = [np.asarray(x, np.float32)[:1] for x in xs]  # first frame: images have one
    task = image_task_from_arrays(name, frames, y, split, data.metadata, encoders=encoders, side=side,
                                  pixel_side=pixel_side, info={"source": str(path)})
    if target is not None:
        task.info["cache"] = str(target)
        task.save(target)
    return task


def _grey(frames: Sequence[np.ndarray], size: int) -> np.ndarray:
    """(n, size*size) grey images in [0, 1] per image (min-max), bilinear resize."""
    import torch
    import torch.nn.functional as F

    out = []
    for x in frames:
        t = torch.from_numpy(np.asarray(x, np.float32)[0]).permute(2, 0, 1).mean(0, keepdim=True)[None]
        t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False, antialias=True)[0, 0]
        lo, hi = float(t.min()), float(t.max())
        out.append(((t - lo) / (hi - lo if hi > lo else 1.0)).reshape(-1).numpy())
    return np.stack(out).astype(np.float32)


def image_task_from_arrays(name: str, frames: Sequence[np.ndarray], y: np.ndarray, split: dict, metadata,
                           encoders: Sequence[str] = ("efficientnet_lite0", "pixels"), side: int = 64,
                           pixel_side: int = 16, info: Optional[dict] = None) -> Task:
    """An image :class:`Task` from ``(1, H, W, C)`` examples (see :func:`image_task`)."""
    grey8 = _grey(frames, 8)
    quartile = np.minimum((grey8 * 4).astype(np.int64), 3)
    tokens = 1 + np.arange(64)[None, :] * 4 + quartile  # one token per (pixel, intensity quartile)
    task = Task(name, "image", np.asarray(y, np.int64), int(np.max(y)) + 1, split, tokens=tokens,
                n_tokens=1 + 64 * 4, info=dict(info or {}, side=side, pixel_side=pixel_side))
    if "pixels" in encoders:
        began = time.perf_counter()
        task.dense["pixels"] = _standardise(_grey(frames, pixel_side), split["train"])
        record_feature_seconds(task, "pixels", time.perf_counter() - began, len(frames))
    if "efficientnet_lite0" in encoders:
        began = time.perf_counter()
        task.dense["efficientnet_lite0"] = _standardise(_efficientnet(frames, metadata, side), split["train"])
        task.info["weights"] = getattr(_efficientnet, "source", "")
        record_feature_seconds(task, "efficientnet_lite0", time.perf_counter() - began, len(frames))
    return task


def _efficientnet(frames: Sequence[np.ndarray], metadata, side: int) -> np.ndarray:
    import torch

    from ..domains.vision.vision_backbones import build_image_backbone
    from ..domains.core.vision_input import convert, make_plan

    channels = int(frames[0].shape[-1])
    trunk, dim, source = build_image_backbone("efficientnet_lite0", channels, True, None)
    _efficientnet.source = source  # type: ignore[attr-defined]
    trunk.eval()
    plan = make_plan(metadata, frames, max_frames=1, max_side=side, max_side_wide=2 * side, min_side=min(32, side))
    outs = []
    with torch.no_grad():
        for lo in range(0, len(frames), 64):
            x = convert(frames[lo:lo + 64], plan)[:, 0]
            outs.append(trunk(x).float().numpy())
    return np.concatenate(outs).reshape(len(frames), dim)


# --------------------------------------------------- dense tables: shared
def feature_bin_tokens(x: np.ndarray, train: np.ndarray, bins: int = 4) -> tuple[np.ndarray, int]:
    """Wide-tower tokens of a feature table: one per (feature, quantile bin of the training rows).

    The tabular analogue of the images' (pixel, intensity quartile) tokens:
    a linear model on them is an additive model of per-feature steps.

    Parameters
    ----------
    x : ndarray of float, shape (n, F)
        Features; NaN marks a missing value.
    train : ndarray of int
        Rows whose quantiles set the bin edges.
    bins : int
        Quantile bins per feature (4: quartiles).

    Returns
    -------
    tokens : ndarray of int64, shape (n, F)
        ``1 + feature * (bins + 1) + bin``; ``bin`` is the number of edges
        below the value (so a 0/1 column whose quartiles are all 0 keeps its
        two values apart), ``bins`` for a missing value. 0 (padding) is never used.
    n_tokens : int
        ``1 + F * (bins + 1)``.
    """
    x = np.asarray(x, np.float64)
    n, width = x.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column has no quantiles
        edges = np.nanquantile(x[train], np.arange(1, bins) / bins, axis=0).reshape(bins - 1, width)
    edges = np.nan_to_num(edges, nan=0.0)
    codes = np.empty((n, width), np.int64)
    for j in range(width):
        codes[:, j] = np.searchsorted(edges[:, j], x[:, j], side="left")
    codes[np.isnan(x)] = bins
    per = bins + 1
    return (1 + np.arange(width)[None, :] * per + codes).astype(np.int64), 1 + width * per


def _nan_standardise(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Standardised with the training rows' non-missing values; missing values become 0 (the mean)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns: mean and std NaN, handled below
        mean = np.nan_to_num(np.nanmean(x[train], 0, keepdims=True), nan=0.0)
        std = np.nan_to_num(np.nanstd(x[train], 0, keepdims=True), nan=0.0)
    out = (x - mean) / np.where(std > 1e-6, std, 1.0)
    return np.nan_to_num(out, nan=0.0).astype(np.float32)


def _cached_task(kind: str, path: str | os.PathLike, name: Optional[str], cache_dir: Optional[str | os.PathLike],
                 sizes: dict, params: dict, build: Callable[[str, list, np.ndarray, dict, Any], Task]) -> Task:
    """A task of ``kind`` read from an AutoDL dataset by ``build(name, xs, y, split, data)``, cached by settings."""
    name = name or Path(path).name
    settings = {"path": str(Path(path).resolve()), "kind": kind, **sizes, **params, "cache_version": CACHE_VERSION}
    target = cache_path(cache_dir, name, settings) if cache_dir else None
    if target is not None and target.is_file():
        return _loaded(target)
    xs, y, split, data = _read_rows(path, sizes["max_train"], sizes["max_valid"], sizes["max_test"], sizes["seed"])
    task = build(name, xs, y, split, data)
    task.info.setdefault("source", str(path))
    if target is not None:
        task.info["cache"] = str(target)
        task.save(target)
    return task


# --------------------------------------------------------------- tabular
def _table(xs: Sequence[np.ndarray]) -> np.ndarray:
    """``(n, F)`` float64 of tabular examples (``(1, 1, F, 1)`` each); infinities become missing values."""
    rows = [np.asarray(x, np.float64).reshape(-1) for x in xs]
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise AutoDLInputError("examples", f"tabular rows of different widths {sorted(widths)[:5]}")
    table = np.stack(rows)
    table[~np.isfinite(table)] = np.nan
    return table


def _empirical_cdf(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Each value's mid-rank among its column's non-missing training values, in [0, 1]; missing -> 0.5."""
    out = np.full(x.shape, 0.5)
    for j in range(x.shape[1]):
        ref = x[train, j]
        ref = np.sort(ref[~np.isnan(ref)])
        if len(ref) == 0:
            continue
        col = x[:, j]
        ranks = (np.searchsorted(ref, col, "left") + np.searchsorted(ref, col, "right")) / (2.0 * len(ref))
        out[:, j] = np.where(np.isnan(col), 0.5, ranks)
    return out


def tabular_task_from_table(name: str, table: np.ndarray, y: np.ndarray, split: dict,
                            encoders: Sequence[str] = ("standardized", "quantiles"), bins: int = 4,
                            info: Optional[dict] = None) -> Task:
    """A tabular :class:`Task` from a feature table (see the module docstring).

    Parameters
    ----------
    name : str
        Task key.
    table : ndarray of float, shape (n, F)
        One row per example; NaN marks a missing value.
    y : ndarray of int, shape (n,)
        Classes.
    split : dict
        ``train`` / ``valid`` / ``test`` row indices (statistics come from ``train``).
    encoders : sequence of str
        Modules to build, among ``standardized`` and ``quantiles``.
    bins : int
        Quantile bins per feature of the wide tower's tokens.
    info : dict, optional
        Recorded in ``task.info``.
    """
    table = np.asarray(table, np.float64)
    train = split["train"]
    tokens, n_tokens = feature_bin_tokens(table, train, bins)
    task = Task(name, "tabular", np.asarray(y, np.int64), int(np.max(y)) + 1, split, tokens=tokens,
                n_tokens=n_tokens, info=dict(info or {}, features=int(table.shape[1]), bins=bins))
    if "standardized" in encoders:
        began = time.perf_counter()
        missing = np.isnan(table)
        gaps = missing[train].any(0)  # an indicator only where the training rows have gaps, as tabular_mlp
        task.dense["standardized"] = np.concatenate(
            [_nan_standardise(table, train), _standardise(missing[:, gaps].astype(np.float32), train)], 1)
        record_feature_seconds(task, "standardized", time.perf_counter() - began, len(table))
    if "quantiles" in encoders:
        began = time.perf_counter()
        task.dense["quantiles"] = _standardise(_empirical_cdf(table, train), train)
        record_feature_seconds(task, "quantiles", time.perf_counter() - began, len(table))
    return task


def tabular_task(path: str | os.PathLike, name: Optional[str] = None, cache_dir: Optional[str | os.PathLike] = None,
                 *, max_train: int = 2000, max_valid: int = 500, max_test: int = 500, seed: int = 0,
                 encoders: Sequence[str] = ("standardized", "quantiles"), bins: int = 4) -> Task:
    """A tabular task from an AutoDL tabular dataset, cached in ``cache_dir`` (see the module docstring)."""
    sizes = {"max_train": max_train, "max_valid": max_valid, "max_test": max_test, "seed": seed}

    def build(name: str, xs: list, y: np.ndarray, split: dict, data: Any) -> Task:
        return tabular_task_from_table(name, _table(xs), y, split, encoders=encoders, bins=bins)

    return _cached_task("tabular", path, name, cache_dir, sizes, {"encoders": list(encoders), "bins": bins}, build)


# ---------------------------------------------------------------- speech
def _pool_time(mel: np.ndarray, segments: int) -> np.ndarray:
    """``(n, bands, frames)`` -> ``(n, bands * segments)``: the mean of each of ``segments`` runs of frames."""
    segments = max(1, min(int(segments), mel.shape[-1]))
    parts = [p.mean(-1) for p in np.array_split(mel, segments, axis=-1)]
    return np.stack(parts, -1).reshape(len(mel), -1)


def speech_task_from_clips(name: str, clips: Sequence[np.ndarray], y: np.ndarray, split: dict, sample_rate: int,
                           encoders: Sequence[str] = ("clip_stats", "logmel_grid"), max_seconds: float = 5.0,
                           grid_max_seconds: float = 8.0, time_segments: int = 8, chunk: int = 256,
                           info: Optional[dict] = None) -> Task:
    """A speech :class:`Task` from waveforms (``(T, 1, 1, 1)`` or 1-D; see the module docstring).

    Parameters
    ----------
    name : str
        Task key.
    clips : sequence of ndarray
        One waveform per row.
    y : ndarray of int, shape (n,)
        Classes.
    split : dict
        ``train`` / ``valid`` / ``test`` row indices.
    sample_rate : int
        Samples per second (the metadata's effective rate).
    encoders : sequence of str
        Modules to build, among ``clip_stats`` and ``logmel_grid``.
    max_seconds : float
        Clips are summarised on their first ``max_seconds`` (``speech_linear``'s default).
    grid_max_seconds : float
        Cap of the planned clip length of ``logmel_grid`` (95th percentile of the training
        clips' lengths, as ``speech_cnn`` plans its input, and its default cap).
    time_segments : int
        Time segments the log-mel spectrogram is averaged over.
    chunk : int
        Clips per log-mel batch (bounds the padded batch's memory).
    info : dict, optional
        Recorded in ``task.info``.
    """
    from ..domains.speech.speech_features import FeatureSpec, clip_statistics, log_mel_fixed, plan_length, warm_up

    spec = FeatureSpec(sample_rate=int(sample_rate))
    train = split["train"]
    warm_up()  # librosa's lazy imports and numba kernels: once per process, not a cost of this task's features
    began = time.perf_counter()
    stats = clip_statistics(clips, spec, spec.samples(max_seconds))
    stats_seconds = time.perf_counter() - began
    tokens, n_tokens = feature_bin_tokens(stats, train)  # the statistics' quartiles, as a tabular task's
    task = Task(name, "speech", np.asarray(y, np.int64), int(np.max(y)) + 1, split, tokens=tokens,
                n_tokens=n_tokens, info=dict(info or {}, sample_rate=int(sample_rate), max_seconds=max_seconds))
    if "clip_stats" in encoders:
        task.dense["clip_stats"] = _standardise(stats, train)
        record_feature_seconds(task, "clip_stats", stats_seconds, len(clips))
    if "logmel_grid" in encoders:
        began = time.perf_counter()
        length = plan_length([int(np.shape(clips[i])[0]) for i in train], spec.sample_rate,
                             max_seconds=grid_max_seconds)
        grid = np.concatenate([_pool_time(log_mel_fixed(list(clips[lo:lo + chunk]), spec, length), time_segments)
                               for lo in range(0, len(clips), chunk)])
        task.dense["logmel_grid"] = _standardise(grid, train)
        task.info.update(grid_samples=int(length), time_segments=int(time_segments))
        record_feature_seconds(task, "logmel_grid", time.perf_counter() - began, len(clips))
    return task


def speech_task(path: str | os.PathLike, name: Optional[str] = None, cache_dir: Optional[str | os.PathLike] = None,
                *, max_train: int = 2000, max_valid: int = 500, max_test: int = 500, seed: int = 0,
                encoders: Sequence[str] = ("clip_stats", "logmel_grid"), max_seconds: float = 5.0,
                grid_max_seconds: float = 8.0, time_segments: int = 8) -> Task:
    """A speech task from an AutoDL speech dataset, cached in ``cache_dir`` (see the module docstring)."""
    sizes = {"max_train": max_train, "max_valid": max_valid, "max_test": max_test, "seed": seed}
    params = {"encoders": list(encoders), "max_seconds": max_seconds, "grid_max_seconds": grid_max_seconds,
              "time_segments": time_segments}

    def build(name: str, xs: list, y: np.ndarray, split: dict, data: Any) -> Task:
        return speech_task_from_clips(name, xs, y, split, data.metadata.effective_sample_rate, encoders=encoders,
                                      max_seconds=max_seconds, grid_max_seconds=grid_max_seconds,
                                      time_segments=time_segments)

    return _cached_task("speech", path, name, cache_dir, sizes, params, build)


# ----------------------------------------------------------------- video
def video_task_from_clips(name: str, clips: Sequence[np.ndarray], y: np.ndarray, split: dict, metadata: Any,
                          max_frames: int = 4, side: int = 16, info: Optional[dict] = None) -> Task:
    """A video :class:`Task` from ``(T, H, W, C)`` clips (see the module docstring).

    Parameters
    ----------
    name : str
        Task key.
    clips : sequence of ndarray
        One clip per row.
    y : ndarray of int, shape (n,)
        Classes.
    split : dict
        ``train`` / ``valid`` / ``test`` row indices (the plan comes from the training clips).
    metadata : Metadata
        The dataset's metadata (frames, size and channels of the plan).
    max_frames, side : int
        Frames kept (evenly spread) and longest side of the shrunk frames: ``vision_linear``'s defaults.
    info : dict, optional
        Recorded in ``task.info``.
    """
    import torch

    from ..domains.core.vision_input import convert, make_plan

    began = time.perf_counter()
    train = split["train"]
    plan = make_plan(metadata, [clips[i] for i in train], max_frames=max_frames, max_side=side, max_side_wide=side,
                     min_side=1, multiple=1)
    frames = convert(list(clips), plan)  # (n, F, C, H, W), standardised per channel, frames evenly spread
    if plan.frames > 1:
        # the differences of consecutive frames make the direction of motion a linear feature (as vision_linear)
        frames = torch.cat([frames, frames[:, 1:] - frames[:, :-1]], dim=1)
    features = frames.reshape(len(clips), -1).numpy().astype(np.float64)
    seconds = time.perf_counter() - began
    tokens, n_tokens = feature_bin_tokens(features, train)
    task = Task(name, "video", np.asarray(y, np.int64), int(np.max(y)) + 1, split, tokens=tokens, n_tokens=n_tokens,
                info=dict(info or {}, frames=plan.frames, side=side, plan=list(plan.shape)))
    task.dense["frame_pixels"] = _standardise(features, train)
    record_feature_seconds(task, "frame_pixels", seconds, len(clips))
    return task


def video_task(path: str | os.PathLike, name: Optional[str] = None, cache_dir: Optional[str | os.PathLike] = None, *,
               max_train: int = 2000, max_valid: int = 500, max_test: int = 500, seed: int = 0, max_frames: int = 4,
               side: int = 16) -> Task:
    """A video task from an AutoDL video dataset, cached in ``cache_dir`` (see the module docstring)."""
    sizes = {"max_train": max_train, "max_valid": max_valid, "max_test": max_test, "seed": seed}

    def build(name: str, xs: list, y: np.ndarray, split: dict, data: Any) -> Task:
        return video_task_from_clips(name, xs, y, split, data.metadata, max_frames=max_frames, side=side)

    return _cached_task("video", path, name, cache_dir, sizes, {"max_frames": max_frames, "side": side}, build)


#: The task builder of each dataset domain (:func:`~autodl_solver.domains.inference.infer_domain`'s names).
TASK_BUILDERS: dict[str, Callable[..., Task]] = {"text": text_task, "image": image_task, "tabular": tabular_task,
                                                 "speech": speech_task, "video": video_task}


def task_builder(domain: str) -> Callable[..., Task]:
    """The builder of :data:`TASK_BUILDERS` for ``domain`` (an :class:`AutoDLInputError` for another one)."""
    if domain not in TASK_BUILDERS:
        raise AutoDLInputError("domain", f"got {domain!r}; T-NAML tasks are {sorted(TASK_BUILDERS)} datasets")
    return TASK_BUILDERS[domain]


# -------------------------------------------------------------- synthetic
def synthetic_task(name: str, modality: str = "text", n: int = 300, n_classes: int = 3, seed: int = 0,
                   vocab: int = 60, length: int = 12, dim: int = 16,
                   feature_seconds: Optional[dict] = None) -> Task:
    """A tiny generated task (tests): class-dependent tokens and dense features.

    Text tasks get ``fasttext`` (random word vectors) and ``hashed`` inputs,
    image tasks a ``pixels`` input, tabular, speech and video tasks every
    embedding module of their modality (the same class-dependent features,
    squashed by ``tanh`` for the second module); all get tokens for the
    wide tower. ``feature_seconds`` (module -> seconds per row) records
    made-up feature costs, as a real task's cache records measured ones.
    """
    from .space import EMBEDDINGS, MODALITIES

    if modality not in MODALITIES:
        raise AutoDLInputError("modality", f"got {modality!r}, expected one of {MODALITIES}")
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    prefs = rng.dirichlet(np.full(vocab - 2, 1.0), size=n_classes)  # class-specific token distributions
    tokens = np.stack([2 + rng.choice(vocab - 2, length, p=prefs[c]) for c in y]).astype(np.int64)
    centres = rng.normal(0, 1, (n_classes, dim))
    dense = (centres[y] + rng.normal(0, 3.0, (n, dim))).astype(np.float32)
    a, b = int(n * 0.6), int(n * 0.8)
    split = {"train": np.arange(a), "valid": np.arange(a, b), "test": np.arange(b, n)}
    task = Task(name, modality, y.astype(np.int64), n_classes, split, tokens=tokens, n_tokens=vocab,
                info={"source": "synthetic", "seed": seed})
    if modality == "text":
        task.hashed = np.where(tokens > 0, 1 + tokens * 7919 % (HASH_BUCKETS - 1), 0)
        task.word_vectors = rng.normal(0, 0.3, (vocab, 8)).astype(np.float32)
        task.word_vectors[0] = 0
    elif modality == "image":
        task.dense["pixels"] = _standardise(dense, split["train"])
    else:
        for i, module in enumerate(EMBEDDINGS[modality]):
            task.dense[module] = _standardise(np.tanh(dense) if i else dense, split["train"])
    for module, per_row in (feature_seconds or {}).items():
        record_feature_seconds(task, module, float(per_row) * n, n)
    return task


def class_subset(task: Task, classes: Sequence[int], name: str) -> Task:
    """A derived task: only the rows of ``classes`` (relabelled 0..k-1), same cached inputs.

    Cheap extra tasks for the benchmark (e.g. the five largest fortune
    categories); the split is the parent's, restricted to those rows.
    """
    classes = [int(c) for c in classes]
    if len(set(classes)) < 2 or any(not 0 <= c < task.n_classes for c in classes):
        raise AutoDLInputError("classes", f"expected at least two distinct classes of 0..{task.n_classes - 1}")
    keep = np.nonzero(np.isin(task.y, classes))[0]
    remap = {c: i for i, c in enumerate(classes)}
    position = -np.ones(len(task.y), np.int64)
    position[keep] = np.arange(len(keep))
    split = {k: position[v[np.isin(task.y[v], classes)]] for k, v in task.split.items()}
    return Task(name, task.modality, np.array([remap[int(c)] for c in task.y[keep]], np.int64), len(classes), split,
                dense={k: v[keep] for k, v in task.dense.items()},
                tokens=None if task.tokens is None else task.tokens[keep], n_tokens=task.n_tokens,
                hashed=None if task.hashed is None else task.hashed[keep], word_vectors=task.word_vectors,
                info={**task.info, "parent": task.name, "classes": classes})
