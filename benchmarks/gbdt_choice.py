"""LightGBM or scikit-learn's HistGradientBoosting for the tabular GBDT learner?

Measures, on four real tabular datasets that ship inside installed packages
(no network), what matters for an any-time learner:

* **time to first model**: build + 10 boosting rounds on the first 500
  training rows + predict the validation rows (best of several runs);
* **time per 10 rounds**: 10 more rounds on all training rows after 10
  warm-up rounds (continued boosting: ``Booster.update`` for LightGBM,
  ``warm_start`` + ``max_iter += 10`` for HistGradientBoosting);
* **validation NAUC after equal wall time**: NAUC (``2 * macro AUC - 1``) on
  a stratified 30 % hold-out after as many rounds as fit in the budget, i.e.
  10 + 10 * floor((budget - setup) / per10) where *setup* is the best time
  to build on all rows and boost 10 rounds and *per10* the best time of 10
  more (0 rounds, NAUC 0, when even the setup does not fit). Deriving the
  rounds from measured timings, rather than timing one training run against the
  clock, keeps a single scheduler hiccup on a shared 2-core machine from
  deciding a cell; training itself is deterministic.

Timings are the *minimum* of several runs: the development machine is
shared with other test runs, and the minimum is the estimate least affected
by that noise.

Both libraries use 1 thread (the learner's default, see the threads
table), learning rate 0.1, 31 leaves, 20 examples per leaf, and the same
seed. Two more tables follow: LightGBM with 1 and 2 threads, and the tabular
portfolio with and without logistic regression, run in the real engine. Run from the repository root::

    .venv/bin/python benchmarks/gbdt_choice.py [--out benchmarks/results/gbdt_choice.md]

The table is written (atomically) with the machine it ran on.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autodl_solver.challenge.scoring import nauc  # noqa: E402
from autodl_solver.utils.atomic import atomic_write_text  # noqa: E402

THREADS = 1
SEED = 0
LR = 0.1
LEAVES = 31
MIN_LEAF = 20
BUDGETS_S = (0.1, 0.3, 1.0)
REPEATS = 7
MAX_ROUNDS = 2000


# ----------------------------------------------------------------- datasets
def _penguins() -> tuple[np.ndarray, np.ndarray]:
    import palmerpenguins

    df = palmerpenguins.load_penguins()
    species = df["species"].astype(str)
    num = df[["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]].to_numpy(float)
    # Categoricals as integer codes; missing stays NaN (both libraries handle it).
    island = df["island"].astype("category").cat.codes.to_numpy(float)
    sex = df["sex"].astype("category").cat.codes.to_numpy(float)
    sex[sex < 0] = np.nan
    x = np.column_stack([num, island, sex])
    _, y = np.unique(species, return_inverse=True)
    return x, y


def load_datasets() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Name -> (features float64, integer class labels)."""
    from sklearn.datasets import load_breast_cancer, load_digits, load_wine

    out = {}
    for name, loader in (("breast_cancer", load_breast_cancer), ("wine", load_wine), ("digits", load_digits)):
        bunch = loader()
        out[name] = (bunch.data.astype(float), bunch.target.astype(int))
    out["penguins"] = _penguins()
    return out


# ------------------------------------------------------------------ runners
class LightGBMRunner:
    """Continued boosting with the low-level Booster API (as the learner does)."""

    name = "lightgbm"

    def __init__(self, n_classes: int) -> None:
        self.n_classes = n_classes

    def start(self, x: np.ndarray, y: np.ndarray) -> None:
        import lightgbm as lgb

        params = {
            "objective": "binary" if self.n_classes == 2 else "multiclass",
            "learning_rate": LR, "num_leaves": LEAVES, "min_data_in_leaf": MIN_LEAF,
            "num_threads": THREADS, "seed": SEED, "deterministic": True,
            "force_row_wise": True, "verbose": -1,
        }
        if self.n_classes > 2:
            params["num_class"] = self.n_classes
        self.booster = lgb.Booster(params, lgb.Dataset(x, y, free_raw_data=False))

    def rounds(self, k: int) -> None:
        for _ in range(k):
            self.booster.update()

    def predict(self, x: np.ndarray) -> np.ndarray:
        p = self.booster.predict(x)
        return np.column_stack([1 - p, p]) if p.ndim == 1 else p


class HistGBRunner:
    """scikit-learn HistGradientBoostingClassifier with warm_start."""

    name = "sklearn_hgb"

    def __init__(self, n_classes: int) -> None:
        self.n_classes = n_classes

    def start(self, x: np.ndarray, y: np.ndarray) -> None:
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.x, self.y = x, y
        self.model = HistGradientBoostingClassifier(
            learning_rate=LR, max_leaf_nodes=LEAVES, min_samples_leaf=MIN_LEAF, max_iter=0,
            early_stopping=False, warm_start=True, random_state=SEED)

    def rounds(self, k: int) -> None:
        self.model.max_iter += k
        self.model.fit(self.x, self.y)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(x)


RUNNERS: tuple[Callable, ...] = (LightGBMRunner, HistGBRunner)


# ------------------------------------------------------------- measurements
def _one_hot(y: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k, dtype=np.float32)[y]


def time_to_first_model(runner_cls, xtr, ytr, xva, k) -> float:
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        r = runner_cls(k)
        r.start(xtr[:500], ytr[:500])
        r.rounds(10)
        r.predict(xva)
        times.append(time.perf_counter() - t)
    return min(times)


def time_per_10_rounds(runner_cls, xtr, ytr, k) -> float:
    times = []
    for _ in range(REPEATS):
        r = runner_cls(k)
        r.start(xtr, ytr)
        r.rounds(10)
        t = time.perf_counter()
        r.rounds(10)
        times.append(time.perf_counter() - t)
    return min(times)


def setup_time(runner_cls, xtr, ytr, k) -> float:
    """Best time to build on all training rows and boost the first 10 rounds."""
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        r = runner_cls(k)
        r.start(xtr, ytr)
        r.rounds(10)
        times.append(time.perf_counter() - t)
    return min(times)


def nauc_by_rounds(runner_cls, xtr, ytr, xva, yva, k, rounds: list[int]) -> dict[int, float]:
    """Validation NAUC after each number of rounds in ``rounds`` (training is deterministic)."""
    r = runner_cls(k)
    r.start(xtr, ytr)
    out, done = {}, 0
    for target in sorted(set(rounds)):
        if target > done:
            r.rounds(target - done)
            done = target
        out[target] = nauc(_one_hot(yva, k), r.predict(xva)) if target > 0 else 0.0
    return out


def rounds_in_budget(setup_s: float, per10_s: float, budget_s: float) -> int:
    """Rounds that fit in ``budget_s`` from the best timings (0: not even the first model)."""
    if budget_s < setup_s:
        return 0
    return int(min(MAX_ROUNDS, 10 + 10 * int((budget_s - setup_s) / per10_s)))


def _round_times(boosters: dict, repeats: int = 15) -> dict[int, list[float]]:
    times: dict[int, list[float]] = {t: [] for t in boosters}
    for _ in range(repeats):
        for threads, booster in boosters.items():
            t = time.perf_counter()
            for _ in range(3):
                booster.update()
            times[threads].append((time.perf_counter() - t) / 3)
    return times


def thread_table() -> tuple[list[str], dict]:
    """LightGBM seconds per round with 1 and 2 threads, quiet and beside CPU spinners.

    "busy" starts one CPU-spinning process per core (killed afterwards).
    Reported: the median of 15 repeats of 3 rounds.
    """
    import subprocess

    import lightgbm as lgb

    rng = np.random.default_rng(SEED)
    x, y = load_datasets()["digits"]
    xs = rng.normal(size=(100_000, 50))
    cases = [("digits, 500 rows, 10 classes", x[:500], y[:500], {"objective": "multiclass", "num_class": 10}),
             ("synthetic, 100000 x 50, binary", xs, (xs[:, 0] + xs[:, 1] * xs[:, 2] > 0).astype(int),
              {"objective": "binary"})]
    lines = ["| case | machine | 1 thread, s/round | 2 threads, s/round | 2 threads / 1 thread |",
             "|---|---|---|---|---|"]
    ratios: dict[str, list[float]] = {"quiet": [], "busy": []}
    for label, cx, cy, objective in cases:
        boosters = {}
        for threads in (1, 2):
            params = {**objective, "num_threads": threads, "seed": SEED, "deterministic": True,
                      "force_row_wise": True, "verbose": -1}
            boosters[threads] = lgb.Booster(params, lgb.Dataset(cx, cy, params=params))
        for machine in ("quiet", "busy"):
            spinners = []
            try:
                if machine == "busy":
                    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                                for _ in range(os.cpu_count() or 2)]
                    time.sleep(0.5)
                times = _round_times(boosters)
            finally:
                for proc in spinners:
                    proc.kill()
                    proc.wait()
            one, two = (float(np.median(times[t])) for t in (1, 2))
            ratios[machine].append(two / one)
            lines.append(f"| {label} | {machine} | {one:.4f} | {two:.4f} | {two / one:.2f} |")
    return lines, ratios


PORTFOLIOS = {
    "gbdt": ("tabular_gbdt",),
    "linear": ("tabular_linear",),
    "gbdt+mlp": ("tabular_gbdt", "tabular_mlp"),
    "gbdt+mlp+linear": ("tabular_gbdt", "tabular_mlp", "tabular_linear"),
    "gbdt+linear+mlp": ("tabular_gbdt", "tabular_linear", "tabular_mlp"),
    "linear+gbdt+mlp": ("tabular_linear", "tabular_gbdt", "tabular_mlp"),
}
ENGINE_BUDGET_S = 15.0
ENGINE_REPEATS = 2


def portfolio_table() -> list[str]:
    """Does logistic regression earn a place in the solver's tabular portfolio?

    Each portfolio runs in the real engine (hold-out, validation gating,
    ensembling) for ``ENGINE_BUDGET_S`` seconds; every emitted test prediction
    is scored, giving the final test NAUC and the ALC of the run (official
    formula, t0 = 60 s, T = the budget).
    """
    from autodl_solver.anytime.callbacks import Callback
    from autodl_solver.anytime.engine import Engine
    from autodl_solver.challenge.scoring import alc
    from autodl_solver.data.dataset import ArrayDataset
    from autodl_solver.data.metadata import Metadata
    from autodl_solver.domains.registry import create
    from sklearn.model_selection import train_test_split

    class Recorder(Callback):
        def __init__(self, y_test: np.ndarray) -> None:
            self.y_test, self.times, self.scores = y_test, [], []

        def on_prediction(self, engine, prediction, elapsed_s):
            self.times.append(float(elapsed_s))
            self.scores.append(nauc(self.y_test, prediction))

    header = " | ".join(f"{name}: final NAUC / ALC" for name in PORTFOLIOS)
    lines = [f"| dataset | {header} |", "|---|" + "---|" * len(PORTFOLIOS)]
    for name, (x, y) in load_datasets().items():
        k = int(y.max()) + 1
        xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.3, stratify=y, random_state=SEED)
        meta = Metadata(output_dim=k, sample_count=len(xtr), col_count=x.shape[1], name=name)
        train = ArrayDataset(xtr.reshape(len(xtr), 1, 1, -1, 1), _one_hot(ytr, k), meta)
        test = ArrayDataset(xte.reshape(len(xte), 1, 1, -1, 1), None, meta.replace(sample_count=len(xte)))
        cells = []
        for learners in PORTFOLIOS.values():
            finals, alcs = [], []
            for _ in range(ENGINE_REPEATS):
                rec = Recorder(_one_hot(yte, k))
                engine = Engine(meta, [create(n, meta, seed=SEED) for n in learners], seed=SEED, callbacks=[rec])
                engine.fit(train, ENGINE_BUDGET_S, test)
                finals.append(rec.scores[-1] if rec.scores else 0.0)
                alcs.append(alc(rec.times, rec.scores, ENGINE_BUDGET_S))
            cells.append(f"{np.mean(finals):.4f} / {np.mean(alcs):.4f} (±{(max(alcs) - min(alcs)) / 2:.4f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    return lines


def summary(rows: list) -> list[str]:
    """Ratios and win counts computed from the table (so the text always matches the numbers)."""
    by = {}
    for name, _, _, lib, first, per10, naucs in rows:
        by.setdefault(name, {})[lib] = (first, per10, [v for v, _ in naucs])
    first_ratio = [d["sklearn_hgb"][0] / d["lightgbm"][0] for d in by.values()]
    per10_ratio = [d["sklearn_hgb"][1] / d["lightgbm"][1] for d in by.values()]
    wins = {"lightgbm": 0, "sklearn_hgb": 0, "tie": 0}
    for d in by.values():
        for a, b in zip(d["lightgbm"][2], d["sklearn_hgb"][2]):
            wins["tie" if abs(a - b) < 1e-3 else ("lightgbm" if a > b else "sklearn_hgb")] += 1
    return [
        "## Summary",
        "",
        f"- First model: HistGradientBoosting takes {min(first_ratio):.1f}x to {max(first_ratio):.1f}x "
        "LightGBM's time (per-fit overhead dominates on small data).",
        f"- 10 more rounds: HistGradientBoosting takes {min(per10_ratio):.1f}x to {max(per10_ratio):.1f}x "
        "LightGBM's time (warm_start re-validates and re-bins the data on every fit call).",
        f"- NAUC at equal wall time ({len(by) * len(BUDGETS_S)} dataset x budget cells, ties within 1e-3): "
        f"LightGBM better in {wins['lightgbm']}, HistGradientBoosting better in {wins['sklearn_hgb']}, "
        f"tie in {wins['tie']}.",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/gbdt_choice.md")
    args = parser.parse_args(argv)
    from sklearn.model_selection import train_test_split
    from threadpoolctl import threadpool_limits

    import lightgbm
    import sklearn

    rows = []
    with threadpool_limits(THREADS):  # HistGradientBoosting uses OpenMP threads
        for name, (x, y) in load_datasets().items():
            k = int(y.max()) + 1
            xtr, xva, ytr, yva = train_test_split(x, y, test_size=0.3, stratify=y, random_state=SEED)
            for runner_cls in RUNNERS:
                first = time_to_first_model(runner_cls, xtr, ytr, xva, k)
                per10 = time_per_10_rounds(runner_cls, xtr, ytr, k)
                setup = setup_time(runner_cls, xtr, ytr, k)
                budget_rounds = [rounds_in_budget(setup, per10, b) for b in BUDGETS_S]
                curve = nauc_by_rounds(runner_cls, xtr, ytr, xva, yva, k, budget_rounds)
                naucs = [(curve[n], n) for n in budget_rounds]
                rows.append((name, x.shape, k, runner_cls.name, first, per10, naucs))
                print(rows[-1], flush=True)

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    budget_cols = " | ".join(f"NAUC @ {b:g} s (rounds)" for b in BUDGETS_S)
    lines = [
        "# GBDT choice: LightGBM vs scikit-learn HistGradientBoosting",
        "",
        f"Machine: {platform.node() or 'unknown'}, nproc={os.cpu_count()}, CPU: {cpu}; "
        f"Python {platform.python_version()}, lightgbm {lightgbm.__version__}, scikit-learn {sklearn.__version__}.",
        f"Command: `.venv/bin/python benchmarks/gbdt_choice.py` ({THREADS} thread(s), lr {LR}, {LEAVES} leaves, "
        f"min {MIN_LEAF} per leaf, 70/30 stratified split, seed {SEED}, timings are the best of {REPEATS} runs; "
        f"rounds capped at {MAX_ROUNDS}).",
        "",
        "| dataset (n x F, classes) | library | first model, 500 rows + 10 rounds + predict (s) "
        f"| 10 more rounds, all rows (s) | {budget_cols} |",
        "|---|---|---|---|" + "---|" * len(BUDGETS_S),
    ]
    for name, shape, k, lib, first, per10, naucs in rows:
        cells = " | ".join(f"{v:.4f} ({n})" for v, n in naucs)
        lines.append(f"| {name} ({shape[0]} x {shape[1]}, {k}) | {lib} | {first:.4f} | {per10:.4f} | {cells} |")
    lines += ["", *summary(rows)]
    lines += [
        "",
        "**Decision: LightGBM.** At equal wall time neither library wins consistently on these small sets",
        "(the largest gap, penguins, comes from one test row whose measurements are all missing, which",
        "LightGBM sends confidently to the wrong class). The any-time behaviour decides: LightGBM's first",
        "model is several times faster and continued boosting is much cheaper per round (the two ratios",
        "above), so the first predictions come sooner; and its text dump saves a fitted learner without",
        "pickle.",
    ]
    threads, ratios = thread_table()
    lines += [
        "",
        "## LightGBM threads",
        "",
        *threads,
        "",
        f"Two threads take {min(ratios['quiet']):.2f}x to {max(ratios['quiet']):.2f}x the time of one on the quiet "
        f"machine and {min(ratios['busy']):.2f}x to {max(ratios['busy']):.2f}x with single-threaded CPU spinners "
        "beside them.",
        "",
        "Spinners do not reproduce what multi-threaded neighbours do. While other test suites (torch,",
        "TensorFlow, LightGBM, each with its own OpenMP pool) ran on this 2-core machine, ad-hoc runs of the",
        "same kind of loop measured, for 2 threads vs 1: 0.089 vs 0.0007 s/round (2000 x 8, binary),",
        "0.14 vs 0.037 s/round (100000 x 50), and 1.57 vs 0.0056 s/round (500 x 40, 5 classes), where a",
        "single round outlasted a 0.3 s fit budget; 1 thread slowed down by at most about 3.5x.",
        "Hence the learner's `num_threads` default of 1: the first models, which weigh most in the ALC, gain",
        "nothing from a second thread, and several solver processes side by side (the benchmark and T-NAML",
        "executors) are exactly such neighbours. On a quiet machine with large tables, `num_threads: 2` in",
        "`configs/tabular.yaml` is faster.",
        "",
        "## Tabular portfolio: does logistic regression earn its place?",
        "",
        f"Each portfolio in the real engine for {ENGINE_BUDGET_S:g} s (default EngineConfig: hold-out,",
        "validation gating, greedy ensemble): test NAUC of the last emitted prediction and ALC of the run",
        f"(official formula, t0 = 60 s, T = {ENGINE_BUDGET_S:g} s; with T this short the ALC mostly measures how",
        f"fast the first good prediction came), means of {ENGINE_REPEATS} runs, ± half the ALC range (the",
        "engine's choices depend on measured times, so runs differ).",
        "",
        *portfolio_table(),
    ]
    lines += [
        "",
        "Save/load: LightGBM dumps a booster as text (`model_to_string()` / `Booster(model_str=...)`), so a",
        "fitted learner saves without pickle (`torch.load(weights_only=True)` accepts the string);",
        "HistGradientBoosting can only be pickled.",
        "",
    ]
    atomic_write_text(args.out, "\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
