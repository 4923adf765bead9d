"""T-NAML leave-tasks-out experiment over the five domains, and the solver with and without priors.

Run from the repository root, pinned to one core::

    taskset -c 1 env OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.naml_experiment

1. Datasets (built once under ``benchmarks/work/data`` by the benchmark
   registry, :mod:`autodl_solver.bench.datasets`): text
   ``fortunes_categories``, ``fortunes_language``, ``O1``; image ``mnist5000``,
   ``digits``; tabular ``wine``, ``breast_cancer``, ``penguins``,
   ``seattle_weather``, ``fair_affairs``; speech ``spoken_words``,
   ``voice_variant`` (espeak-ng); video ``moving_digits``. The registry's
   small variants (``spoken_words_n300``, ``moving_digits_n300``,
   ``fortunes_language_c100``) are left out: they hold the same examples as
   their parents (the same generator and seed), so they would add no task a
   fold could honestly transfer to.
2. Tasks (cached under ``benchmarks/work/naml_cache``): each dataset
   sub-sampled to at most ``--max-train`` / ``--max-valid`` / ``--max-test``
   rows, with every embedding module's inputs computed once
   (:mod:`autodl_solver.naml.tasks`, the builder of the dataset's domain).
   Two derived text tasks are added by
   keeping some classes of a parent (:func:`~autodl_solver.naml.tasks.class_subset`):
   ``fortunes_categories5`` (its five largest categories) and
   ``fortunes_language3`` (three languages); each is held out together with its
   parent, so no held-out task is transferred to from its own parent.
   15 tasks in all (13 datasets), every domain in the experiment.
3. The experiment (:func:`~autodl_solver.naml.experiment.run_experiment`):
   two folds (:data:`FOLDS`), each holding out tasks of four or five domains
   and pre-training a multitask controller on the other fold's tasks, then
   transferring to each held-out task; random search and
   single-task NAML get the same budget. Every searcher is rewarded by
   ``--reward``: ``accuracy`` (the paper's) or ``cost_aware`` (accuracy times
   the ALC share left after the child's measured cost on the log time axis
   of ``T = --reward-budget``, :mod:`autodl_solver.naml.reward`). Each
   held-out task's transferred controller exports its solver prior with the
   transfer's measured costs (``<out stem>_priors/<task>.json``).
4. The prior comparison (:func:`prior_comparison`): the solver on each
   held-out task that is a dataset (the derived class subsets are not) at
   each ``--prior-budgets`` T, three ways, through ``autodl-solver run``'s
   path (:func:`~autodl_solver.challenge.runner.run_challenge`): no prior
   (``AUTODL_SOLVER_SCHEDULER_PRIOR=off``), the fitted prior
   (``configs/scheduler_prior.json``) and the T-NAML prior (``--prior`` on top
   of the fitted one, :func:`~autodl_solver.naml.prior.scheduling_prior`).

CPU time on one core (an estimate, not a measurement of this task set): the
seven-task run took about 26 min per seed for 7 x 300 + 2 x 200 = 2500
children (about 0.6 s each, text children the slowest); this one has
15 x 300 + 2 x 200 = 4900 children, the eight tabular, speech and video tasks
cheaper per child (a few hundred rows, dense inputs of at most 1.8k
columns), so about 45-50 min of search per seed, plus building the new task
caches once (speech statistics and log-mel grids of 2200 clips, video frames
of 1500 clips: a few minutes). The prior comparison adds, per held-out
dataset (13), three solver runs at each T: at the default T = 60 s and 300 s
at most 3 x (60 + 300) s plus start-up, about 20 min per dataset. Measured
(the tabular runs end early): ``--prior-budgets 60`` took 29 min on one
core, and both budgets with ``--prior-workers 2`` (two rows at once, each
worker pinned to its own core, the three runs of a row on one) took 64 min.
``--skip-prior`` runs none.

Writes the per-seed experiment ``--out`` (default
``benchmarks/results/naml_experiment[_<reward>][_seed<N>].json``, its
``summary`` as before, with ``_trials.jsonl``, ``_test_top10.png``,
``_valid_top10.png``, the controllers and priors), its ``.md``, and
``benchmarks/results/naml_prior_<tag>.json`` (``--tag``, default
``<reward>_seed<N>``) with the list ``prior_comparison`` of rows
``{task, domain, time_budget, alc_without_prior, alc_with_prior,
alc_with_fitted_prior}`` and its summary.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "work" / "data"
CACHE = HERE / "work" / "naml_cache"
RESULTS = HERE / "results"
#: The benchmark registry's datasets the experiment uses, by domain (each one's task builder is its domain's).
DATASETS = {"text": ("fortunes_categories", "fortunes_language", "O1"), "image": ("mnist5000", "digits"),
            "tabular": ("wine", "breast_cancer", "penguins", "seattle_weather", "fair_affairs"),
            "speech": ("spoken_words", "voice_variant"), "video": ("moving_digits",)}
#: Derived tasks: (parent, classes kept: its k largest, name); each is held out in its parent's fold.
DERIVED = (("fortunes_categories", 5, "fortunes_categories5"), ("fortunes_language", 3, "fortunes_language3"))
#: Held-out groups. Each mixes four or five domains, so every fold's pre-training sees text, image, tabular and
#: speech tasks (video has one dataset: it is pre-trained on when the first fold is held out); derived tasks go
#: with their parents.
FOLDS = [["fortunes_categories", "fortunes_categories5", "O1", "digits", "wine", "penguins", "fair_affairs",
          "spoken_words"],
         ["fortunes_language", "fortunes_language3", "mnist5000", "breast_cancer", "seattle_weather",
          "voice_variant", "moving_digits"]]


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def build_tasks(args) -> tuple[dict[str, str], dict[str, Path]]:
    """(task name -> cache file of every task, task name -> dataset folder); built when missing."""
    from autodl_solver.bench.datasets import build_dataset, get_dataset
    from autodl_solver.naml.tasks import Task, class_subset, task_builder

    paths: dict[str, str] = {}
    folders: dict[str, Path] = {}
    for domain, names in DATASETS.items():
        for name in names:
            began = time.perf_counter()
            if get_dataset(name).domain != domain:  # the registry is the authority on domains
                raise SystemExit(f"dataset {name} is a {get_dataset(name).domain} dataset, listed as {domain}")
            folder = build_dataset(name, DATA)
            if folder is None:
                raise SystemExit(f"dataset {name} is not available offline")
            folders[name] = Path(folder)
            task = task_builder(domain)(folder, name, CACHE, max_train=args.max_train, max_valid=args.max_valid,
                                        max_test=args.max_test, seed=0)
            paths[name] = task.info["cache"]
            say(f"task {name} ({domain}): {task.n_classes} classes, rows {[len(v) for v in task.split.values()]}, "
                f"modules {task.modules()} ({time.perf_counter() - began:.1f} s)")
    for parent, k, name in DERIVED:
        task = Task.load(paths[parent])
        largest = np.argsort(-np.bincount(task.y[task.split["train"]]), kind="stable")[:k]
        derived = class_subset(task, sorted(largest.tolist()), name)
        target = Path(paths[parent]).with_name(f"{name}-of-{Path(paths[parent]).name}")
        derived.info["cache"] = str(target)
        derived.save(target)
        paths[name] = str(target)
        say(f"task {name}: classes {derived.info['classes']} of {parent}, "
            f"rows {[len(v) for v in derived.split.values()]}")
    return paths, folders


@contextlib.contextmanager
def scheduler_prior_env(value: str):
    """``AUTODL_SOLVER_SCHEDULER_PRIOR`` set to ``value`` for the solver runs inside (the child inherits it)."""
    from autodl_solver.anytime.prior import PRIOR_ENV

    before = os.environ.get(PRIOR_ENV)
    os.environ[PRIOR_ENV] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(PRIOR_ENV, None)
        else:
            os.environ[PRIOR_ENV] = before


#: The three solver runs of one comparison row: (row key, T-NAML prior file used, scheduler prior setting).
VARIANTS = (("alc_without_prior", False, "off"), ("alc_with_fitted_prior", False, "fitted"),
            ("alc_with_prior", True, "fitted"))


def comparison_row(task: str, domain: str, folder: Path, prior_file: Path, time_budget: float, work: Path,
                   run=None) -> dict:
    """One ``prior_comparison`` row: the solver on ``folder`` at ``time_budget`` with no, fitted and T-NAML prior.

    ``run`` is :func:`~autodl_solver.challenge.runner.run_challenge` (a test passes a stand-in).
    """
    from autodl_solver.anytime.prior import default_prior_path

    if run is None:
        from autodl_solver.challenge.runner import run_challenge as run
    fitted = default_prior_path()
    if fitted is None:
        raise SystemExit("configs/scheduler_prior.json not found: the fitted prior is needed for the comparison")
    row: dict = {"task": task, "domain": domain, "time_budget": float(time_budget), "prior_file": str(prior_file),
                 "cpus_used": sorted(os.sched_getaffinity(0)), "runs": {}}
    for key, with_tnaml, scheduler in VARIANTS:
        began = time.perf_counter()
        with scheduler_prior_env("off" if scheduler == "off" else str(fitted)):
            result = run(folder, work / f"{task}_T{time_budget:g}_{key}", time_budget=time_budget,
                         prior=prior_file if with_tnaml else None, verbose=False)
        row[key] = result["alc"]
        row["runs"][key] = {"ingestion_success": result["ingestion_success"], "wall_s": time.perf_counter() - began}
        say(f"solver on {task} T={time_budget:g} {key}: ALC {result['alc']:.4f}")
    return row


def summarise_comparison(rows: list) -> dict:
    """Per T: tasks where the T-NAML prior beats no prior / the fitted prior, and the median differences."""
    import statistics

    out: dict = {}
    for budget in sorted({r["time_budget"] for r in rows}):
        at = [r for r in rows if r["time_budget"] == budget]
        vs_none = [r["alc_with_prior"] - r["alc_without_prior"] for r in at]
        vs_fitted = [r["alc_with_prior"] - r["alc_with_fitted_prior"] for r in at]
        fitted_vs_none = [r["alc_with_fitted_prior"] - r["alc_without_prior"] for r in at]
        out[f"T{budget:g}"] = {
            "tasks": len(at), "tnaml_beats_no_prior": sum(d > 0 for d in vs_none),
            "tnaml_beats_fitted": sum(d > 0 for d in vs_fitted),
            "median_tnaml_minus_no_prior": statistics.median(vs_none) if at else None,
            "median_tnaml_minus_fitted": statistics.median(vs_fitted) if at else None,
            "median_fitted_minus_no_prior": statistics.median(fitted_vs_none) if at else None}
    return out


def exported_prior(out: str | os.PathLike, task: str, entry: dict) -> Path:
    """The held-out task's exported prior: ``<out stem>_priors/<task>.json`` beside the experiment file.

    The recorded ``prior_file`` is an absolute path of the machine and checkout that ran the search; the
    folder beside the results file is what a clone has.
    """
    beside = Path(out).with_name(Path(out).stem + "_priors") / f"{task}.json"
    if beside.is_file():
        return beside
    recorded = Path(entry["prior_file"])
    if recorded.is_file():
        return recorded
    raise SystemExit(f"{out}: the exported prior of {task} is neither {beside} nor {recorded}")


def _pin_worker(cores) -> None:
    """A comparison worker's initializer: pin this process (and the ingestion it starts) to one free core."""
    os.sched_setaffinity(0, {cores.get()})


def run_rows(jobs: list[dict], workers: int, row=None) -> list[dict]:
    """:func:`comparison_row` of every job, in ``jobs``' order; ``workers`` > 1 runs them in processes, one per core.

    Each worker is pinned to its own core of this process's affinity set, so the three runs of a row share one
    core as they do with ``workers=1``; jobs are started longest budget first so the cores finish together.
    """
    row = row or comparison_row
    if workers <= 1:
        return [row(**job) for job in jobs]
    import concurrent.futures as cf
    import multiprocessing as mp

    cores = sorted(os.sched_getaffinity(0))
    if workers > len(cores):
        raise SystemExit(f"--prior-workers {workers}: this process may use only {len(cores)} cores {cores}")
    context = mp.get_context("spawn")  # no inherited torch threads or locks
    queue = context.Queue()
    for core in cores[:workers]:
        queue.put(core)
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i]["time_budget"])
    with cf.ProcessPoolExecutor(workers, mp_context=context, initializer=_pin_worker, initargs=(queue,)) as pool:
        futures = {i: pool.submit(row, **jobs[i]) for i in order}
        return [futures[i].result() for i in range(len(jobs))]


def prior_comparison(args, result: dict, folders: dict) -> dict:
    """The solver on every held-out dataset at every ``--prior-budgets`` T, with no / fitted / T-NAML prior."""
    jobs, skipped = [], []
    for task, entry in result["per_task"].items():
        if task not in folders:
            skipped.append(task)  # a derived class subset: no AutoDL dataset to run the solver on
            continue
        for budget in args.prior_budgets:
            jobs.append({"task": task, "domain": entry["modality"], "folder": folders[task],
                         "prior_file": exported_prior(args.out, task, entry), "time_budget": budget,
                         "work": HERE / "work" / "runs" / f"naml_prior_{args.tag}"})
    rows = run_rows(jobs, args.prior_workers)
    from autodl_solver.bench.machine import machine_info

    return {"format": "autodl_solver.naml.prior_comparison/1", "tag": args.tag, "machine": machine_info(),
            "workers": args.prior_workers,
            "experiment": str(Path(args.out).resolve().relative_to(ROOT)) if Path(args.out).resolve().is_relative_to(
                ROOT) else str(args.out),
            "reward": result["settings"].get("reward", {"kind": "accuracy"}), "seed": result["settings"]["seed"],
            "skipped_tasks": skipped, "prior_comparison": rows, "summary": summarise_comparison(rows)}


def write_markdown(result: dict, path: Path) -> None:
    """The human summary of the result."""
    s = result["summary"]
    lines = [f"# T-NAML leave-tasks-out experiment ({result['space_name']}, space {result['space_fingerprint'][:12]})",
             "", f"Command: `{result['command']}`  ", f"Machine: {result['machine'].get('cpu')}, pinned to one core "
             f"(cpus {result['machine'].get('cpus_used')}), shared with other jobs; {result['seconds']:.0f} s in all.",
             "", f"Budget B = {result['settings']['budget']} trials per method and held-out task; multitask "
             f"pre-training {result['settings']['pretrain_trials']} trials per fold; controller learning rate "
             f"{result['settings']['controller']['lr']} (the paper: 1e-4 over thousands of trials), entropy weight "
             f"{result['settings']['controller']['entropy_weight']}, seed {result['settings']['seed']}. "
             "Accuracy-top10 is defined from the 10th trial on, so a speed-up cannot exceed (RS trials) / 10, "
             f"here {ceiling_text(result)}: the paper's B = 5000 allowed up to 500x. Folds (held out together, "
             "pre-trained on the "
             f"other fold): {result['settings']['folds']}. The derived tasks (`fortunes_categories5`, "
             "`fortunes_language3`: some classes of a parent, same cached inputs) are held out with their parent, "
             "so no task is transferred to from its own parent. Domains held out by each fold (each pre-trains on "
             "the other fold's tasks): " + "; ".join(
                 ", ".join(sorted({result["tasks"][t]["modality"] for t in fold}))
                 for fold in result["settings"]["folds"]) + ".", "",
             "| held-out task | classes | RS trials to its B-value | NAML trials | T-NAML trials | NAML speed-up | "
             "T-NAML speed-up | valid top10 RS / NAML / T-NAML | test top10 RS / NAML / T-NAML |",
             "|---|---|---|---|---|---|---|---|---|"]

    def fmt(u):
        if u["speedup"] is not None:
            return f"{u['speedup']:.2f}x"
        return f"not reached (< {u['speedup_upper_bound']:.2f}x)"

    for name, e in result["per_task"].items():
        up, at = e["speedup"], e["at_budget"]
        lines.append(f"| {name} | {result['tasks'][name]['n_classes']} | {up['naml']['rs_trials']} | "
                     f"{up['naml']['method_trials'] or '-'} | {up['tnaml']['method_trials'] or '-'} | "
                     f"{fmt(up['naml'])} | {fmt(up['tnaml'])} | "
                     + " / ".join(f"{at[m]['valid_top10']:.3f}" for m in ("random", "naml", "tnaml"))
                     + " | " + " / ".join(f"{at[m]['test_top10']:.3f}" for m in ("random", "naml", "tnaml")) + " |")
    lines += ["", "Medians over the held-out tasks (speed-up of unreached tasks counted at their upper bound):", ""]
    for m, label in (("tnaml", "T-NAML"), ("naml", "NAML")):
        lines.append(f"* {label}: median speed-up {s[m]['median_speedup_bounded']:.2f}x, reached RS's value on "
                     f"{s[m]['tasks_reached']}/{s[m]['tasks']} tasks, over 10x on {s[m]['tasks_over_10x']}, "
                     f"over 1x on {s[m]['tasks_over_1x']}" + (" (the paper: over 10x on 10 of 13, median 22)."
                                                               if m == "tnaml" else "."))
    if "reward" in s:  # another reward than accuracy: the same speed-ups on what the searchers maximised
        kind = result["settings"]["reward"]["kind"]
        for m, label in (("tnaml", "T-NAML"), ("naml", "NAML")):
            r = s["reward"][m]
            lines.append(f"* {label} on the {kind} reward: median speed-up {r['median_speedup_bounded']:.2f}x, "
                         f"reached RS's value on {r['tasks_reached']}/{r['tasks']} tasks, over 10x on "
                         f"{r['tasks_over_10x']}, over 1x on {r['tasks_over_1x']}.")
    at_ceiling = [n for n, e in result["per_task"].items() if e["speedup"]["tnaml"]["method_trials"] == 10]
    if at_ceiling:
        lines.append(f"* T-NAML reached random search's B-value at trial 10, the earliest possible, on {at_ceiling}: "
                     "there the speed-up is a lower bound (a larger B would be needed to measure it).")
    mean = s["mean_at_budget"]
    lines.append("* mean test accuracy-top10 at B: " + ", ".join(
        f"{m} {mean[m]['test_top10']:.4f}" for m in ("random", "naml", "tnaml")))
    pc = result.get("prior_check")
    if pc:
        runs = pc["runs"]
        lines += ["", f"## `--prior` check on {pc['task']} (T = {pc['time_budget']} s)", "",
                  "Prior (most likely configuration of the transferred controller): "
                  f"`{json.dumps(pc['prior_config'])}` "
                  f"-> preferred learner `{pc['solver_settings']['first']}`, overrides "
                  f"`{json.dumps(pc['solver_settings']['config_overrides'])}`. `with_prior_after_opener` (the "
                  "default placement) runs it right after the portfolio's cheap opener, `with_prior_first` before "
                  "everything. One run each, in sequence, on a core shared with other jobs: ALC differences of a "
                  "few hundredths are within run-to-run noise.", "",
                  "| run | ALC |", "|---|---|"]
        lines += [f"| {k} | {v['alc']:.4f} |" for k, v in runs.items()]
        for earlier in pc.get("earlier_runs", []):
            lines += ["", f"Earlier pair ({earlier['note']}): " + ", ".join(
                f"{k} ALC {v:.4f}" for k, v in earlier["alc"].items()) + "."]
    others = sorted(path.parent.glob(f"{path.stem}_seed*.json"))
    if others:
        lines += ["", "## Other seeds (same settings, `--seed N --skip-prior --out ...`)", "",
                  "| seed | " + " | ".join(result["per_task"]) + " | median T-NAML | median NAML |",
                  "|---|" + "---|" * (len(result["per_task"]) + 2)]
        for other_path in [None] + others:
            other = result if other_path is None else json.loads(other_path.read_text())
            cells = []
            for name in result["per_task"]:
                up = other["per_task"][name]["speedup"]
                cells.append(f"{fmt(up['tnaml'])} / {fmt(up['naml'])}")
            so = other["summary"]
            lines.append(f"| {other['settings']['seed']} | " + " | ".join(cells) +
                         f" | {so['tnaml']['median_speedup_bounded']:.2f}x"
                         f" | {so['naml']['median_speedup_bounded']:.2f}x |")
        lines.append("")
        lines.append("Cells: T-NAML / NAML speed-up over random search of the same seed; a cell of about 9x is at "
                     "the ceiling (T-NAML reached the target at trial 10, the first trial where accuracy-top10 "
                     "exists). Mean test accuracy-top10 at B (random / NAML / T-NAML): " + "; ".join(
                         f"seed {o['settings']['seed']}: " + " / ".join(
                             f"{o['summary']['mean_at_budget'][m]['test_top10']:.4f}"
                             for m in ("random", "naml", "tnaml"))
                         for o in [result] + [json.loads(q.read_text()) for q in others]) + ".")
    lines += ["", "Curves: `naml_experiment_test_top10.png`, `naml_experiment_valid_top10.png`; every trial: "
              "`naml_experiment_trials.jsonl`."]
    from autodl_solver.utils.atomic import atomic_write_text

    atomic_write_text(path, "\n".join(lines) + "\n")


def ceiling_text(result: dict) -> str:
    """The range over the held-out tasks of the largest measurable speed-up, ``(RS trials) / 10``."""
    bounds = [e["speedup"]["tnaml"]["rs_trials"] / 10 for e in result["per_task"].values()]
    if not bounds:
        return "no task"
    low, high = min(bounds), max(bounds)
    return f"{low:.1f}x" if low == high else f"{low:.1f}-{high:.1f}x"


def default_out(reward: str, seed: int) -> Path:
    """``naml_experiment[_<reward>][_seed<N>].json`` under ``benchmarks/results`` (the paper's reward, seed 0: the
    recorded file's name)."""
    return RESULTS / (f"naml_experiment{'' if reward == 'accuracy' else '_' + reward}"
                      f"{'' if seed == 0 else f'_seed{seed}'}.json")


def write_comparison(args, result: dict, folders: dict) -> Path:
    """Run :func:`prior_comparison` and write ``benchmarks/results/naml_prior_<tag>.json``."""
    from autodl_solver.utils.atomic import atomic_write_text

    missing = [t for t, e in result["per_task"].items() if "prior_file" not in e]
    if missing:
        raise SystemExit(f"{args.out}: no exported prior for {missing} (a result of an older version); rerun it")
    comparison = prior_comparison(args, result, folders)
    comparison["experiment_command"] = result.get("command")
    comparison["command"] = "python -m benchmarks.naml_experiment " + " ".join(args.argv)
    path = RESULTS / f"naml_prior_{args.tag}.json"
    atomic_write_text(path, json.dumps(comparison, indent=1))
    say(f"wrote {path}: {json.dumps(comparison['summary'])}")
    return path


def main(argv=None) -> int:
    from autodl_solver.bench.protocol_runner import ALLOW_DIRTY_HELP, require_clean_tree
    from autodl_solver.naml.reward import REWARDS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--pretrain-trials", type=int, default=200)
    parser.add_argument("--lr", type=float, default=0.005)
    parser.add_argument("--entropy-weight", type=float, default=1e-3)
    parser.add_argument("--max-train", type=int, default=2000)
    parser.add_argument("--max-valid", type=int, default=500)
    parser.add_argument("--max-test", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reward", default="accuracy", choices=REWARDS,
                        help="what the searchers are rewarded with (accuracy: the paper's)")
    parser.add_argument("--reward-budget", type=float, default=60.0,
                        help="T in seconds of the cost-aware reward's log time axis")
    parser.add_argument("--prior-budgets", type=float, nargs="+", default=[60.0, 300.0],
                        help="solver time budgets of the prior comparison")
    parser.add_argument("--prior-workers", type=int, default=1, choices=range(1, (os.cpu_count() or 1) + 1),
                        metavar="N",
                        help="rows of the prior comparison run at once, each worker pinned to its own core")
    parser.add_argument("--tag", default=None, help="names benchmarks/results/naml_prior_<tag>.json "
                                                    "(default <reward>_seed<N>)")
    parser.add_argument("--skip-prior", action="store_true", help="no prior comparison")
    parser.add_argument("--out", default=None, help="the experiment JSON (default by reward and seed)")
    parser.add_argument("--report-only", action="store_true", help="rewrite the .md from an existing .json")
    parser.add_argument("--prior-only", action="store_true", help="redo the prior comparison of an existing .json")
    parser.add_argument("--allow-dirty", dest="allow_dirty", action="store_true", help=ALLOW_DIRTY_HELP)
    args = parser.parse_args(argv)
    if not args.report_only:  # a report is rebuilt from recorded results; anything that runs needs a clean tree
        require_clean_tree(args.allow_dirty)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.out = args.out or str(default_out(args.reward, args.seed))
    args.tag = args.tag or f"{args.reward}_seed{args.seed}"
    sys.path.insert(0, str(ROOT))

    if args.report_only or args.prior_only:
        result = json.loads(Path(args.out).read_text())
        if args.prior_only:
            write_comparison(args, result, build_tasks(args)[1])
        write_markdown(result, Path(args.out).with_suffix(".md"))
        return 0
    from autodl_solver.naml.controller import ControllerConfig
    from autodl_solver.naml.experiment import ExperimentConfig, run_experiment
    from autodl_solver.naml.space import load_space
    from autodl_solver.utils.executors import make_executor
    from autodl_solver.bench.machine import machine_info

    paths, folders = build_tasks(args)
    config = ExperimentConfig(folds=FOLDS, budget=args.budget, pretrain_trials=args.pretrain_trials, seed=args.seed,
                              controller=ControllerConfig(lr=args.lr, entropy_weight=args.entropy_weight),
                              reward=args.reward, reward_time_budget=args.reward_budget)
    command = "taskset -c 1 env OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.naml_experiment " + " ".join(
        argv if argv is not None else sys.argv[1:])
    out = Path(args.out)
    with make_executor("serial") as executor:  # one core: children run one at a time in this process
        result = run_experiment(load_space(), paths, config, executor, out, progress=say,
                                extra={"command": command.strip(), "machine": machine_info()})
    write_markdown(result, out.with_suffix(".md"))
    say(f"wrote {out} and {out.with_suffix('.md')}")
    if not args.skip_prior:
        write_comparison(args, result, folders)
    return 0


if __name__ == "__main__":
    sys.exit(main())
