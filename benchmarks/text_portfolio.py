"""Which learners should the solver's text portfolio run? Candidates measured in the real engine.

Each candidate portfolio runs in :class:`~autodl_solver.anytime.engine.Engine`
(hold-out, gating, ensembling as the solver uses them) on the text benchmark
datasets for the same budget; every emitted test prediction is scored with
the official NAUC, and the ALC is computed with the official formula over
the emission times. This is an in-process measurement (no ingestion
subprocess, no TensorFlow pipeline), so its first-prediction times are a
little earlier than the protocol's: it ranks candidates, the protocol
numbers come from ``benchmarks/run_text.py``.

Usage::

    .venv/bin/python -m benchmarks.text_portfolio --time_budget 90
"""
from __future__ import annotations

import argparse
import sys

from autodl_solver.bench import text_datasets
from autodl_solver.bench.machine import machine_info
from autodl_solver.bench.protocol_runner import RESULTS, WORK

CANDIDATES = {
    "generic (today)": ("baseline1", "baseline2"),
    "linear": ("text_linear",),
    "linear+fasttext": ("text_linear", "text_fasttext"),
    "linear+fasttext+minilm": ("text_linear", "text_fasttext", "text_embed_linear"),
}


def run_one(dataset_dir, names, budget: float, seed: int = 0) -> dict:
    from autodl_solver.anytime.callbacks import Callback
    from autodl_solver.anytime.engine import Engine
    from autodl_solver.challenge.scoring import alc, nauc
    from autodl_solver.data.reader import load_dataset
    from autodl_solver.domains.registry import create

    data = load_dataset(dataset_dir)
    learners = [create(n, data.train.metadata, seed=seed) for n in names]

    class Curve(Callback):
        def __init__(self) -> None:
            self.points: list[tuple[float, float]] = []

        def on_prediction(self, engine, prediction, elapsed_s):
            self.points.append((float(elapsed_s), float(nauc(data.solution, prediction))))

    curve = Curve()
    Engine(data.train.metadata, learners, seed=seed, callbacks=[curve]).fit(data.train, budget, test=data.test)
    times = [t for t, _ in curve.points]
    scores = [s for _, s in curve.points]
    return {"alc": alc(times, scores, budget) if times else 0.0, "final": scores[-1] if scores else 0.0,
            "first": times[0] if times else float("nan"), "n": len(times)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--time_budget", type=float, default=90.0)
    p.add_argument("--datasets", nargs="+", default=["fortunes_categories", "O1"], choices=text_datasets.ALL)
    p.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=list(CANDIDATES))
    args = p.parse_args(argv)
    info = machine_info()
    lines = ["# Text portfolio candidates (in-process engine runs)", "",
             f"Command: `python -m benchmarks.text_portfolio {' '.join(sys.argv[1:] if argv is None else argv)}`  ",
             f"Machine: {info['cpu']}, CPUs used {info['cpus_used']}, thread caps {info['thread_caps']}, "
             f"GPU: {info['gpu'] or 'none'}; commit {info['git_commit']}; {info['date']}  ",
             f"T = {args.time_budget:g} s per run; ALC by the official formula over the emission times.", "",
             "| dataset | portfolio | ALC | final test NAUC | first prediction (s) | predictions |",
             "|---|---|---|---|---|---|"]
    for name in args.datasets:
        path = text_datasets.build(name, WORK / "data")
        if path is None:
            continue
        for label in args.candidates:
            r = run_one(path, CANDIDATES[label], args.time_budget)
            lines.append(f"| {name} | {label} | {r['alc']:.4f} | {r['final']:.4f} | {r['first']:.2f} | {r['n']} |")
            print(lines[-1], flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "text_portfolio.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
