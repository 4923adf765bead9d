"""``autodl-solver demo``: the whole product on a small real dataset, offline.

Builds an AutoDL-format dataset from data that ships inside scikit-learn
(by default the Wisconsin breast-cancer table), runs the solver on it
through our ingestion + scoring programs under a short budget, prints the
ALC and points at the learning-curve PNG and the HTML report.
"""
from __future__ import annotations

import argparse
from pathlib import Path

DEMO_DATASETS = ("breast_cancer", "wine", "digits", "iris")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("demo", help="build a small real dataset, run the solver on it, score it")
    p.add_argument("--output_dir", default="demo_output", help="where the dataset, predictions and scores go")
    p.add_argument("--dataset", choices=DEMO_DATASETS, default="breast_cancer",
                   help="scikit-learn dataset to convert (digits is converted as 8x8 images)")
    p.add_argument("--time_budget", type=float, default=30.0, help="seconds for train + test (default 30)")
    p.add_argument("--method", default="solver", help="solver or a baseline (baseline0, baseline1, baseline2, mlp)")
    p.add_argument("--seed", type=int, default=42, help="seed of the train/test split")
    p.set_defaults(func=main)


def build_demo_dataset(name: str, out_dir: Path, seed: int = 42) -> Path:
    """Convert a scikit-learn dataset to the AutoDL layout under ``out_dir``; returns the dataset dir."""
    import numpy as np
    from sklearn import datasets

    from ..data.converters import from_arrays

    loader = getattr(datasets, f"load_{name}")
    bunch = loader()
    x = np.asarray(bunch.data, dtype=np.float32)
    if name == "digits":  # keep the image shape: (n, 8, 8) -> image domain
        x = x.reshape(-1, 8, 8) / 16.0
    label_names = [str(n) for n in getattr(bunch, "target_names", sorted(set(bunch.target)))]
    return from_arrays(x, np.asarray(bunch.target), out_dir, name, test_size=0.3, seed=seed,
                       label_names=label_names, overwrite=True).path


def main(args: argparse.Namespace) -> int:
    from ..challenge.runner import run_challenge
    from ..errors import AutoDLInputError

    if args.time_budget <= 0:
        raise AutoDLInputError("--time_budget", f"must be > 0 seconds, got {args.time_budget}")
    out = Path(args.output_dir)
    dataset_dir = build_demo_dataset(args.dataset, out / "data", seed=args.seed)
    print(f"[demo] dataset written to {dataset_dir}")
    result = run_challenge(dataset_dir, out / "run", time_budget=args.time_budget, method=args.method)
    if result.get("error"):
        import sys

        print(f"error: {result['error']['message']}", file=sys.stderr)
        return int(result["error"]["status"])
    score_dir = Path(result["score_dir"])
    print(f"[demo] learning curve: {next(score_dir.glob('learning-curve-*.png'), score_dir)}")
    print(f"[demo] report:         {score_dir / 'detailed_results.html'}")
    return 0
