"""The library against the protocol on the same data and budget (issue 15); not run in CI.

For each domain the same examples and the same seeded 70/30 split go both ways:

* **library**: ``AutoDLClassifier(time_budget=T).fit(X_train, y_train, X_test=(X_test, y_test))`` on the raw
  inputs, then ``clf.nauc_score(X_test, y_test)``; the fit's wall time (``time.perf_counter`` around
  ``fit``, and the classifier's own ``fit_time_s_``) and the ALC of its test-NAUC learning curve
  (``LearningCurve.from_classifier``, same formula as the protocol's);
* **protocol**: the raw source written as files, ``convert`` (``autodl_solver.data.converters.convert``, the
  split fixed by a ``subset`` column, or for the CSV checked to be the same) then ``run``
  (``autodl_solver.challenge.runner.run_challenge``: ingestion in a child process and live scoring):
  ALC and final NAUC, and the run's wall time.

Domains: (a) ``tabular``: a mixed-type DataFrame, statsmodels' ``fair`` table (6366 rows, shipped offline)
with the occupation codes as string categories (``occupation``, ``occupation_husb``), integer and float
columns, and the label ``had_affair`` (yes/no); (b) ``text``: raw strings, fortune cookies by language
(``autodl_solver/bench/text_datasets.py``); (c) ``speech``: waveforms, spoken digit words synthesised with espeak-ng
(``autodl_solver/bench/speech_datasets.py``), 16 kHz.

Then (d) the library's fit wall time against ``time_budget`` for ``--fit-budgets`` (default 2 5 10 30 s;
goal: wall <= budget + 1 s), without a test set, per domain; and (e) per domain, the model saved by
``clf.save`` loaded in a fresh subprocess: load time, time to predict 20 examples, and the peak resident
memory beside that of a subprocess that only imports the package (``VmHWM``; ``resource.getrusage``'s
``ru_maxrss`` is recorded too, but Linux carries it over ``execve`` from this process: see :func:`_probe`).

Results: ``results/library_vs_protocol.{json,md}`` (written atomically) with ``machine_info()``, the command
and the commit. A dirty checkout is refused unless ``--allow-dirty``.

Usage (one core, as the other benchmarks)::

    taskset -c 1 python -m benchmarks.library_vs_protocol --time-budget 60
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import pickle
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from autodl_solver.bench.machine import machine_info
from autodl_solver.bench.protocol_runner import ALLOW_DIRTY_HELP, RESULTS, WORK, require_clean_tree
from autodl_solver.utils.atomic import atomic_write_text

DOMAINS = ("tabular", "text", "speech")
FIT_BUDGETS = (2.0, 5.0, 10.0, 30.0)
#: Goal of (d): the fit returns within the budget plus this many seconds.
FIT_SLACK_S = 1.0
TEST_SIZE = 0.3
N_PREDICT = 20
HERE = WORK / "library_vs_protocol"


# ------------------------------------------------------------------ data: one source, one split
class Task:
    """The raw examples of one domain, their split, and how to write them for ``convert``."""

    def __init__(self, domain: str, name: str, x_train, y_train, x_test, y_test, *, kind: str,
                 source: Path, options: dict, note: str, sample_rate: Optional[int] = None) -> None:
        self.domain, self.name = domain, name
        self.x_train, self.y_train, self.x_test, self.y_test = x_train, y_train, x_test, y_test
        self.kind, self.source, self.options, self.note = kind, source, options, note
        self.sample_rate = sample_rate

    def sizes(self) -> dict:
        return {"n_train": len(self.y_train), "n_test": len(self.y_test),
                "n_classes": len(set(map(str, self.y_train)) | set(map(str, self.y_test)))}


def _split(labels: Sequence, seed: int, file_order: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The seeded stratified split ``convert`` makes (``split_indices``, classes sorted by name).

    ``file_order``: indices sorted, the order in which ``convert`` writes rows fixed by a ``subset`` column.
    """
    from autodl_solver.data.converters import split_indices

    classes = sorted(set(map(str, labels)))
    strata = np.array([classes.index(str(v)) for v in labels])
    train, test = split_indices(len(labels), TEST_SIZE, seed, strata=strata)
    return (np.sort(train), np.sort(test)) if file_order else (train, test)


def _ragged(examples: list):
    """A list of variable-length arrays as a 1-D object array: ``fit(X_test=(X, y))`` calls ``np.ndim(X)``,
    which a ragged list of waveforms makes raise (the library's bug, not the data's)."""
    out = np.empty(len(examples), dtype=object)
    out[:] = examples
    return out


def _labels_csv(folder: Path, names: Sequence[str], ids: Sequence[int], subsets: Sequence[str],
                class_names: Sequence[str]) -> None:
    with open(folder / "labels.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["FileName", "Labels", "subset"])
        writer.writerows([n, str(i), s] for n, i, s in zip(names, ids, subsets))
    (folder / "label.name").write_text("\n".join(class_names) + "\n", encoding="utf-8")


def tabular_task(root: Path, seed: int, max_rows: Optional[int]) -> Task:
    """(a) statsmodels' fair table as a mixed-type DataFrame (strings, ints, floats)."""
    import statsmodels.api as sm

    df = sm.datasets.fair.load_pandas().data
    y = np.where(df.pop("affairs").to_numpy() > 0, "yes", "no")
    jobs = {1: "student", 2: "farming", 3: "white-collar", 4: "teacher", 5: "professional", 6: "manager"}
    for column in ("occupation", "occupation_husb"):
        df[column] = df[column].round().astype(int).map(jobs).astype(str)  # string categories
    for column in ("rate_marriage", "children", "religious", "educ"):
        df[column] = df[column].round().astype(int)
    if max_rows:
        keep = np.random.default_rng(seed).permutation(len(df))[:max_rows]
        df, y = df.iloc[np.sort(keep)].reset_index(drop=True), y[np.sort(keep)]
    train, test = _split(y, seed)
    folder = root / "tabular_src"
    folder.mkdir(parents=True, exist_ok=True)
    table = df.copy()
    table["had_affair"] = y
    table.to_csv(folder / "fair.csv", index=False)
    return Task("tabular", "fair_mixed", df.iloc[train].reset_index(drop=True), y[train],
                df.iloc[test].reset_index(drop=True), y[test], kind="tabular", source=folder / "fair.csv",
                options={"label_column": "had_affair", "test_size": TEST_SIZE, "seed": seed},
                note="statsmodels fair: 2 string columns (occupation, occupation_husb), 4 int, 2 float; "
                     "label had_affair (affairs > 0)")


def text_task(root: Path, seed: int, cap: int) -> Task:
    """(b) fortune cookies (raw strings) by language, at most ``cap`` per class."""
    from autodl_solver.bench import text_datasets as td

    corpus = td.language_corpus()
    if len(corpus.texts) < 2:
        raise SystemExit(f"error: {td.FORTUNES}: the fortunes packages are missing (see the Makefile's APT_PACKAGES)")
    docs = td.sample(corpus, cap, seed)
    class_names = list(corpus.texts)
    texts = [t for t, _ in docs]
    ids = np.array([c for _, c in docs])
    labels = np.array([class_names[c] for c in ids])
    train, test = _split(labels, seed, file_order=True)
    folder = root / "text_src"
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"doc_{i:05d}.txt" for i in range(len(texts))]
    for name, text in zip(names, texts):
        (folder / name).write_text(text + "\n", encoding="utf-8")
    subsets = np.array(["train"] * len(texts), dtype=object)
    subsets[test] = "test"
    _labels_csv(folder, names, ids, subsets, class_names)
    return Task("text", f"fortunes_language_c{cap}", [texts[i] for i in train], labels[train],
                [texts[i] for i in test], labels[test], kind="text", source=folder,
                options={"language": "EN"},
                note=f"fortune cookies by language ({len(class_names)} classes, at most {cap} each)")


def speech_task(root: Path, seed: int, n: int) -> Task:
    """(c) ``n`` spoken digit words synthesised by espeak-ng, read back as 16 kHz waveforms."""
    from autodl_solver.data.converters.speech import read_audio

    from autodl_solver.bench import speech_datasets as sd

    if not sd.espeak_available():
        raise SystemExit("error: espeak-ng: not installed (apt-get install espeak-ng)")
    folder = root / f"speech_src_n{n}"
    clips, class_names = sd.PLANNERS["spoken_words"](n, seed)
    names = [f"clip_{i:05d}.wav" for i in range(len(clips))]
    if not all((folder / name).is_file() for name in names):
        folder.mkdir(parents=True, exist_ok=True)
        sd.synthesise(clips, folder, workers=1)
    ids = np.array([c.label for c in clips])
    labels = np.array([class_names[c] for c in ids])
    train, test = _split(labels, seed, file_order=True)
    subsets = np.array(["train"] * len(clips), dtype=object)
    subsets[test] = "test"
    _labels_csv(folder, names, ids, subsets, class_names)
    waves = [read_audio(folder / name, sd.SAMPLE_RATE) for name in names]  # what convert does: mono, 16 kHz
    return Task("speech", f"spoken_words_n{n}", [waves[i] for i in train], labels[train],
                [waves[i] for i in test], labels[test], kind="speech", source=folder,
                options={"sample_rate": sd.SAMPLE_RATE}, sample_rate=sd.SAMPLE_RATE,
                note=f"espeak-ng spoken digit words, {n} clips, 10 classes, 16 kHz")


# ------------------------------------------------------------------ the two ways
def library_row(task: Task, budget: float, seed: int) -> tuple[dict, Any]:
    from autodl_solver.api import AutoDLClassifier
    from autodl_solver.challenge.learning_curve import LearningCurve

    clf = AutoDLClassifier(time_budget=budget, seed=seed, sample_rate=task.sample_rate)
    tic = time.perf_counter()
    x_test = _ragged(task.x_test) if task.domain == "speech" else task.x_test
    clf.fit(task.x_train, task.y_train, X_test=(x_test, task.y_test))
    wall = time.perf_counter() - tic
    curve = LearningCurve.from_classifier(clf, score="test_nauc")
    return {"nauc": float(clf.nauc_score(task.x_test, task.y_test)), "alc": curve.alc(),
            "fit_wall_s": wall, "fit_time_s": float(clf.fit_time_s_), "n_predictions": len(curve),
            "first_prediction_s": curve.timestamps[0] if len(curve) else None,
            "learners": sorted({p.get("learner") for p in clf.learning_curve_ if p.get("learner")}),
            "best_learner": clf.learning_curve_[-1].get("learner") if clf.learning_curve_ else None,
            "domain": clf.domain_}, clf


def protocol_row(task: Task, budget: float, root: Path) -> dict:
    from autodl_solver.challenge.runner import run_challenge
    from autodl_solver.data.converters import convert
    from autodl_solver.data.reader import load_dataset

    tic = time.perf_counter()
    converted = convert(task.kind, task.source, root / "converted", task.name, overwrite=True, **task.options)
    convert_s = time.perf_counter() - tic
    data = load_dataset(converted.path)
    same_split = (len(data.test) == len(task.y_test) and len(data.train) == len(task.y_train))
    if same_split and data.label_names and data.solution is not None:  # test labels in order (convert splits the CSV)
        test_labels = [data.label_names[int(i)] for i in np.asarray(data.solution).argmax(axis=1)]
        same_split = test_labels == [str(v) for v in task.y_test]
    tic = time.perf_counter()
    result = run_challenge(converted.path, root / "run", time_budget=budget, verbose=False)
    wall = time.perf_counter() - tic
    scores = result["scores"]
    naucs = list(scores.get("nauc_scores") or [])
    return {"alc": float(result["alc"]), "nauc": float(naucs[-1]) if naucs else None,
            "n_predictions": len(naucs), "first_prediction_s": (scores.get("timestamps") or [None])[0],
            "run_wall_s": wall, "convert_s": convert_s, "same_split": bool(same_split),
            "killed": bool(result["killed"]), "error": result.get("error")}


def fit_time_rows(task: Task, budgets: Sequence[float], seed: int) -> list[dict]:
    from autodl_solver.api import AutoDLClassifier

    rows = []
    for budget in budgets:
        clf = AutoDLClassifier(time_budget=budget, seed=seed, sample_rate=task.sample_rate)
        tic = time.perf_counter()
        try:
            clf.fit(task.x_train, task.y_train)
            error = None
        except Exception as exc:  # noqa: BLE001 - e.g. a budget too short for any learner: recorded
            error = f"{type(exc).__name__}: {exc}"
        wall = time.perf_counter() - tic
        rows.append({"time_budget": budget, "fit_wall_s": wall, "over_s": wall - budget,
                     "within_goal": wall <= budget + FIT_SLACK_S, "error": error,
                     "nauc": None if error else float(clf.nauc_score(task.x_test, task.y_test))})
    return rows


_LOAD_PROBE = r"""
import json, pickle, resource, sys, time
mode, model, examples = sys.argv[1:4]
tic = time.perf_counter()
from autodl_solver.api import AutoDLClassifier
import_s = time.perf_counter() - tic
out = {"import_s": import_s}
if mode == "load":
    tic = time.perf_counter()
    clf = AutoDLClassifier.load(model)
    out["load_s"] = time.perf_counter() - tic
    with open(examples, "rb") as handle:
        x = pickle.load(handle)
    tic = time.perf_counter()
    clf.predict_proba(x)
    out["predict_s"] = time.perf_counter() - tic
out["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
try:
    with open("/proc/self/status") as handle:
        out["vmhwm_mib"] = [int(l.split()[1]) / 1024 for l in handle if l.startswith("VmHWM:")][0]
except (OSError, IndexError, ValueError):
    out["vmhwm_mib"] = None
print(json.dumps(out))
"""


def _probe(mode: str, model: Path, examples: Path) -> dict:
    """Run :data:`_LOAD_PROBE` in a fresh interpreter.

    Linux keeps ``ru_maxrss`` across ``execve``: a child of this (large) process starts with this process's
    peak. Both are recorded; ``vmhwm_mib`` (``VmHWM`` of ``/proc/self/status``, the new address space's own
    peak) is the one to read, ``maxrss_mib`` only bounds it from above.
    """
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(Path(__file__).resolve().parents[1]),
                                                                 os.environ.get("PYTHONPATH", "")) if p))
    done = subprocess.run([sys.executable, "-c", _LOAD_PROBE, mode, str(model), str(examples)], env=env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def load_row(task: Task, clf, root: Path) -> dict:
    model = root / "saved_model"
    clf.save(model)
    examples = root / "examples.pkl"
    x = task.x_test.iloc[:N_PREDICT] if hasattr(task.x_test, "iloc") else list(task.x_test[:N_PREDICT])
    with open(examples, "wb") as handle:
        pickle.dump(x, handle)
    loaded = _probe("load", model, examples)
    bare = _probe("import", model, examples)
    size = sum(p.stat().st_size for p in model.rglob("*") if p.is_file())
    return {**loaded, "import_only_maxrss_mib": bare.get("maxrss_mib"),
            "import_only_vmhwm_mib": bare.get("vmhwm_mib"), "model_mib": size / 2**20, "n_predicted": N_PREDICT}


# ------------------------------------------------------------------ report
def _f(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown(doc: dict) -> str:
    lines = ["# Library vs protocol (issue 15)", "", f"`{doc['command']}`", "",
             f"commit {doc['machine'].get('git_commit')}, dirty {doc['machine'].get('git_dirty')}, "
             f"{doc['machine'].get('cpu')}, {doc['created']}", "",
             f"## Same data, same budget (T = {doc['time_budget']:g} s)", "",
             "| domain | data | train/test | library NAUC | library ALC | fit wall s | protocol NAUC | protocol ALC "
             "| run wall s | same split |", "|---|---|---|---|---|---|---|---|---|---|"]
    for d in doc["domains"]:
        lib, pro = d.get("library") or {}, d.get("protocol") or {}
        lines.append(f"| {d['domain']} | {d['name']} | {d['n_train']}/{d['n_test']} | {_f(lib.get('nauc'))} | "
                     f"{_f(lib.get('alc'))} | {_f(lib.get('fit_wall_s'), 1)} | {_f(pro.get('nauc'))} | "
                     f"{_f(pro.get('alc'))} | {_f(pro.get('run_wall_s'), 1)} | {_f(pro.get('same_split'))} |")
    lines += ["", f"## Fit wall time vs time_budget (goal: <= budget + {FIT_SLACK_S:g} s)", "",
              "| domain | budget s | fit wall s | over s | within goal | NAUC |", "|---|---|---|---|---|---|"]
    for d in doc["domains"]:
        for r in d.get("fit_times") or []:
            lines.append(f"| {d['domain']} | {r['time_budget']:g} | {_f(r['fit_wall_s'], 2)} | {_f(r['over_s'], 2)} "
                         f"| {_f(r['within_goal'])} | {_f(r['nauc']) if not r['error'] else r['error'][:60]} |")
    lines += ["", "## Saved model in a fresh process", "",
              "Peak RSS: `VmHWM` of the probe process (ru_maxrss is inherited across exec on Linux, so it is in the "
              "JSON only).", "",
              f"| domain | model MiB | import s | load s | predict {N_PREDICT} s | peak RSS MiB "
              "| import-only RSS MiB |",
              "|---|---|---|---|---|---|---|"]
    for d in doc["domains"]:
        r = d.get("load") or {}
        lines.append(f"| {d['domain']} | {_f(r.get('model_mib'), 1)} | {_f(r.get('import_s'), 2)} | "
                     f"{_f(r.get('load_s'), 2)} | {_f(r.get('predict_s'), 2)} | {_f(r.get('vmhwm_mib'), 0)} | "
                     f"{_f(r.get('import_only_vmhwm_mib'), 0)} |")
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--time-budget", type=float, default=60.0, help="T of (a)-(c), both ways (default 60)")
    p.add_argument("--fit-budgets", type=float, nargs="*", default=list(FIT_BUDGETS),
                   help="budgets of (d) (default 2 5 10 30; none: skip)")
    p.add_argument("--domains", nargs="+", choices=DOMAINS, default=list(DOMAINS))
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--max-rows", type=int, default=None, help="tabular: sample this many rows (default all 6366)")
    p.add_argument("--text-cap", type=int, default=300, help="text: cookies per language (default 300)")
    p.add_argument("--speech-n", type=int, default=600, help="speech: clips (default 600)")
    p.add_argument("--out-dir", type=Path, default=RESULTS, help="where library_vs_protocol.{json,md} go")
    p.add_argument("--work-dir", type=Path, default=HERE, help="sources, converted data, runs, saved models")
    p.add_argument("--allow-dirty", dest="allow_dirty", action="store_true", help=ALLOW_DIRTY_HELP)
    args = p.parse_args(argv)
    require_clean_tree(args.allow_dirty)
    machine = machine_info()
    command = " ".join(shlex.quote(a) for a in ["python", "-m", "benchmarks.library_vs_protocol",
                                                 *(sys.argv[1:] if argv is None else argv)])
    builders = {"tabular": lambda root: tabular_task(root, args.seed, args.max_rows),
                "text": lambda root: text_task(root, args.seed, args.text_cap),
                "speech": lambda root: speech_task(root, args.seed, args.speech_n)}
    doc = {"benchmark": "library_vs_protocol", "command": command, "machine": machine,
           "allow_dirty": bool(args.allow_dirty), "time_budget": args.time_budget,
           "fit_budgets": list(args.fit_budgets), "seed": args.seed,
           "created": time.strftime("%Y-%m-%d %H:%M:%S %z"), "domains": []}
    out_json, out_md = args.out_dir / "library_vs_protocol.json", args.out_dir / "library_vs_protocol.md"
    for domain in args.domains:
        root = args.work_dir / domain
        root.mkdir(parents=True, exist_ok=True)
        task = builders[domain](root)
        row: dict = {"domain": domain, "name": task.name, "note": task.note, **task.sizes()}
        print(f"[{domain}] {task.name}: {row['n_train']} train / {row['n_test']} test, T = {args.time_budget:g} s",
              file=sys.stderr, flush=True)
        row["library"], clf = library_row(task, args.time_budget, args.seed)
        print(f"[{domain}] library: NAUC {row['library']['nauc']:.4f}, ALC {row['library']['alc']:.4f}, "
              f"fit {row['library']['fit_wall_s']:.1f} s", file=sys.stderr, flush=True)
        row["protocol"] = protocol_row(task, args.time_budget, root)
        print(f"[{domain}] protocol: NAUC {_f(row['protocol']['nauc'])}, ALC {row['protocol']['alc']:.4f}, "
              f"same split {row['protocol']['same_split']}", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(dir=root) as tmp:
            row["load"] = load_row(task, clf, Path(tmp))
        row["fit_times"] = fit_time_rows(task, args.fit_budgets, args.seed)
        doc["domains"].append(row)
        args.out_dir.mkdir(parents=True, exist_ok=True)  # written after every domain: a stopped run keeps its part
        atomic_write_text(out_json, json.dumps(doc, indent=1, default=str) + "\n")
        atomic_write_text(out_md, markdown(doc))
    print(markdown(doc))
    print(f"wrote {out_json} and {out_md}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
