"""Which backbone ``image_cnn`` uses: EfficientNet-Lite0 (ImageNet, offline) vs ResNet-18 (from scratch here).

Each backbone runs alone in the real engine (``vision_linear`` excluded, so
the numbers are the network's) on one grey and one colour dataset for the
same budget; the table gives the engine's best hold-out NAUC, the test NAUC
of the final prediction, and the training throughput measured by the learner.

Usage::

    .venv/bin/python -m benchmarks.image_backbone --time_budget 120
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from autodl_solver.bench import vision_datasets
from autodl_solver.bench.machine import machine_info
from autodl_solver.bench.protocol_runner import RESULTS, WORK


def run_one(dataset_dir: Path, backbone: str, budget: float) -> dict:
    from autodl_solver.anytime.engine import Engine
    from autodl_solver.challenge.scoring import nauc
    from autodl_solver.data.reader import load_dataset
    from autodl_solver.domains.registry import create

    data = load_dataset(dataset_dir)
    learner = create("image_cnn", data.train.metadata, config={"backbone": backbone}, seed=0)
    engine = Engine(data.train.metadata, [learner])
    tic = time.perf_counter()
    engine.fit(data.train, budget, test=data.test)
    wall = time.perf_counter() - tic
    pred = engine.predict_test(data.test)
    step_s = learner._step_s or float("nan")
    return {"val": engine.best_score, "test": float(nauc(data.solution, pred)), "wall_s": wall,
            "images_per_s": learner.config.batch_size / step_s, "plan": learner._plan.shape,
            "weights": learner.weights_source}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--time_budget", type=float, default=120.0)
    p.add_argument("--datasets", nargs="+", default=["mnist5000", "miniciao"])
    args = p.parse_args(argv)
    info = machine_info()
    lines = ["# image_cnn backbone choice", "",
             f"Command: `python -m benchmarks.image_backbone {' '.join(sys.argv[1:] if argv is None else argv)}`  ",
             f"Machine: {info['cpu']}, CPUs used {info['cpus_used']}, thread caps {info['thread_caps']}, "
             f"GPU: {info['gpu'] or 'none'}; commit {info['git_commit']}; {info['date']}  ",
             f"Each run: image_cnn alone in the engine, T = {args.time_budget:g} s.", "",
             "| dataset | backbone | weights | input (F, C, H, W) | train images/s | best hold-out NAUC | "
             "test NAUC |", "|---|---|---|---|---|---|---|"]
    for name in args.datasets:
        path = vision_datasets.build(name, WORK / "data")
        if path is None:
            continue
        for backbone in ("efficientnet_lite0", "resnet18"):
            r = run_one(path, backbone, args.time_budget)
            weights = "ImageNet (packaged)" if "package" in r["weights"] else r["weights"].split(" (")[0]
            lines.append(f"| {name} | {backbone} | {weights} | {r['plan']} | {r['images_per_s']:.0f} | "
                         f"{r['val']:.4f} | {r['test']:.4f} |")
            print(lines[-1], flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "image_backbone.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
