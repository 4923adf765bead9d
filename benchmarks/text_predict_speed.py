"""How fast does ``text_transformer`` predict a test set, per inference batch size and grad mode?

The test prediction of the fine-tuned encoder is what the engine keeps back
after each of its rounds (``budget_use_reserve.md``: on the text sets at
T = 60 s almost all of the unused time). This script times the learner's
own ``predict`` on the whole test set of each text benchmark dataset, for
each ``predict_batch_size`` and with the gradient machinery off by
``torch.no_grad`` or by ``torch.inference_mode`` (the learner's choice since
this benchmark), the variants interleaved and repeated so that a slow spell
of the machine falls on all of them alike; the first call of a variant
counts like the others (one warm-up call runs before any). The encoder is
the pretrained one with a fresh head: a fine-tuned encoder does the same
arithmetic. The largest difference of the predictions between variants is
reported too (they should agree to float rounding: only the padding differs).

No engine and no budget: the protocol numbers come from
``benchmarks/portfolio_members.py`` and ``benchmarks/budget_use.py``.

Usage::

    taskset -c 1 env OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.text_predict_speed
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from autodl_solver.bench import text_datasets
from autodl_solver.bench.machine import machine_info
from autodl_solver.bench.protocol_runner import ALLOW_DIRTY_HELP, RESULTS, WORK, require_clean_tree
from autodl_solver.utils.atomic import atomic_write_text


def time_variants(name: str, batch_sizes: list[int], reps: int) -> list[dict]:
    """Rows ``{dataset, test_documents, batch_size, mode, seconds, median_s, max_abs_diff}`` for one dataset."""
    from autodl_solver.data.reader import load_dataset
    from autodl_solver.domains.text.text_transformer import TextTransformerConfig, TextTransformerLearner

    path = text_datasets.build(name, WORK / "data")
    if path is None:
        print(f"[speed] {name}: source absent, skipped", file=sys.stderr)
        return []
    data = load_dataset(path)
    xt, _ = data.test.take(0, len(data.test))
    learner = TextTransformerLearner(data.train.metadata, TextTransformerConfig(device="cpu"))
    learner._fitted = True  # a fresh head: predict() runs the whole encoder as after a round
    modes = {"no_grad": False, "inference_mode": True}
    learner.predict(xt)  # warm-up; also fills the learner's token-id cache, as the engine's repeated calls do
    seconds: dict[tuple[int, str], list[float]] = {}
    preds: dict[tuple[int, str], np.ndarray] = {}
    for _ in range(reps):
        for bs in batch_sizes:
            for mode, inference in modes.items():
                learner.config.predict_batch_size = bs
                learner.predict_inference_mode = inference
                tic = time.perf_counter()
                preds[bs, mode] = learner.predict(xt)
                seconds.setdefault((bs, mode), []).append(time.perf_counter() - tic)
    ref = preds[batch_sizes[0], "no_grad"]
    return [{"dataset": name, "test_documents": len(xt), "batch_size": bs, "mode": mode,
             "seconds": [round(s, 3) for s in secs], "median_s": round(float(np.median(secs)), 3),
             "max_abs_diff": float(np.abs(preds[bs, mode] - ref).max())}
            for (bs, mode), secs in sorted(seconds.items())]


def main(argv=None) -> int:
    import torch

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="+", default=["O1", "fortunes_categories"])
    p.add_argument("--batch-sizes", nargs="+", type=int, default=[16, 32, 64, 128])
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--out", default="text_predict_speed")
    p.add_argument("--allow-dirty", action="store_true", help=ALLOW_DIRTY_HELP)
    args = p.parse_args(argv)
    state = require_clean_tree(args.allow_dirty)
    rows = [row for name in args.datasets for row in time_variants(name, args.batch_sizes, args.reps)]
    info = machine_info()
    command = f"python -m benchmarks.text_predict_speed {' '.join(sys.argv[1:] if argv is None else argv)}".strip()
    lines = ["# text_transformer: test-prediction seconds per inference batch size and grad mode", "",
             f"Command: `{command}`  ",
             f"Machine: {info['cpu']}, torch threads {torch.get_num_threads()}, CPUs used {info['cpus_used']}; "
             f"commit {info['git_commit']}{' (dirty)' if state.get('git_dirty') else ''}; {info['date']}", "",
             "The pretrained MiniLM-L6 encoder and a fresh head, the whole test set per call, documents sorted by "
             f"length as the learner does; {args.reps} interleaved calls per variant after one warm-up call. "
             "max |diff|: the largest difference of a prediction from the first variant's.", "",
             "| dataset | test documents | batch size | mode | median s | calls (s) | max abs diff |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['dataset']} | {r['test_documents']} | {r['batch_size']} | {r['mode']} | {r['median_s']:.2f} | "
              f"{' '.join(f'{s:.2f}' for s in r['seconds'])} | {r['max_abs_diff']:.1e} |" for r in rows]
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / f"{args.out}.md", "\n".join(lines) + "\n")
    atomic_write_text(RESULTS / f"{args.out}.json", json.dumps(
        {"command": command, "machine": info, **state, "allow_dirty": args.allow_dirty, "rows": rows}, indent=1) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
