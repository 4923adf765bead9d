"""T-NAML leave-tasks-out experiment on offline text and image tasks, and the solver ``--prior`` check.

Run from the repository root, pinned to one core::

    taskset -c 1 env OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.naml_experiment

1. Datasets (built once under ``benchmarks/work/data``): text
   ``fortunes_categories``, ``fortunes_language``, ``O1``
   (:mod:`autodl_solver.bench.text_datasets`) and image ``mnist5000``, ``digits``
   (:mod:`autodl_solver.bench.vision_datasets`).
2. Tasks (cached under ``benchmarks/work/naml_cache``): each dataset
   sub-sampled to at most ``--max-train`` / ``--max-valid`` / ``--max-test``
   rows, with every embedding module's inputs computed once
   (:mod:`autodl_solver.naml.tasks`). Two derived text tasks are added by
   keeping some classes of a parent (:func:`~autodl_solver.naml.tasks.class_subset`):
   ``fortunes_categories5`` (its five largest categories) and
   ``fortunes_language3`` (three languages); each is held out together with its
   parent, so no held-out task is transferred to from its own parent.
3. The experiment (:func:`~autodl_solver.naml.experiment.run_experiment`):
   two folds; each pre-trains a multitask controller on the other fold's
   tasks, then transfers to each held-out task; random search and
   single-task NAML get the same budget.
4. The ``--prior`` check: the transferred controller of ``--prior-task``
   exports its most likely configuration as a prior; the solver runs on that
   dataset with and without it (``autodl-solver run ... --prior``, budget
   ``--prior-budget``) and both ALCs are recorded.

Writes ``benchmarks/results/naml_experiment.json`` (and ``_trials.jsonl``,
``_test_top10.png``, ``_valid_top10.png``, the controllers) and
``naml_experiment.md``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "work" / "data"
CACHE = HERE / "work" / "naml_cache"
RESULTS = HERE / "results"
TEXT = ("fortunes_categories", "fortunes_language", "O1")
IMAGE = ("mnist5000", "digits")
FOLDS = [["fortunes_categories", "fortunes_categories5", "O1", "digits"],
         ["fortunes_language", "fortunes_language3", "mnist5000"]]


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def build_tasks(args) -> dict[str, str]:
    """Task name -> cache file of every task (datasets and features built when missing)."""
    from autodl_solver.naml.tasks import Task, class_subset, image_task, text_task
    from autodl_solver.bench import text_datasets, vision_datasets

    paths: dict[str, str] = {}
    for name in TEXT + IMAGE:
        began = time.perf_counter()
        builder = text_datasets if name in TEXT else vision_datasets
        folder = builder.build(name, DATA)
        if folder is None:
            raise SystemExit(f"dataset {name} is not available offline")
        maker = text_task if name in TEXT else image_task
        task = maker(folder, name, CACHE, max_train=args.max_train, max_valid=args.max_valid,
                     max_test=args.max_test, seed=0)
        paths[name] = task.info["cache"]
        say(f"task {name}: {task.n_classes} classes, rows {[len(v) for v in task.split.values()]}, "
            f"modules {task.modules()} ({time.perf_counter() - began:.1f} s)")
    for parent, k, name in (("fortunes_categories", 5, "fortunes_categories5"),
                            ("fortunes_language", 3, "fortunes_language3")):
        task = Task.load(paths[parent])
        largest = np.argsort(-np.bincount(task.y[task.split["train"]]), kind="stable")[:k]
        derived = class_subset(task, sorted(largest.tolist()), name)
        target = Path(paths[parent]).with_name(f"{name}-of-{Path(paths[parent]).name}")
        derived.info["cache"] = str(target)
        derived.save(target)
        paths[name] = str(target)
        say(f"task {name}: classes {derived.info['classes']} of {parent}, "
            f"rows {[len(v) for v in derived.split.values()]}")
    return paths


def prior_check(args, result: dict) -> dict:
    """Run the solver on ``--prior-task`` without the prior, then with it in both placements."""
    from autodl_solver.challenge.runner import run_challenge
    from autodl_solver.naml.controller import load_controller
    from autodl_solver.naml.prior import export_prior, solver_settings
    from autodl_solver.naml.space import load_space

    task = args.prior_task
    folder = result["per_task"][task]["transfer_controller"]
    controller, _, _ = load_controller(folder, load_space())
    source = str(Path(folder).relative_to(ROOT))
    priors = {placement: RESULTS / f"naml_prior_{task}{'' if placement == 'after_opener' else '_' + placement}.json"
              for placement in ("after_opener", "first")}
    prior = {p: export_prior(path, controller, task, source=source, placement=p) for p, path in priors.items()}
    out: dict = {"task": task, "time_budget": args.prior_budget,
                 "prior_files": {p: str(path.relative_to(ROOT)) for p, path in priors.items()},
                 "prior_config": prior["after_opener"]["config"], "solver_settings": solver_settings(prior["first"]),
                 "runs": {}}
    for label, prior_arg in (("without_prior", None), ("with_prior_after_opener", priors["after_opener"]),
                             ("with_prior_first", priors["first"])):
        began = time.perf_counter()
        run = run_challenge(DATA / task, HERE / "work" / "runs" / f"naml_prior_{task}_{label}",
                            time_budget=args.prior_budget, prior=prior_arg, verbose=False)
        out["runs"][label] = {"alc": run["alc"], "ingestion_success": run["ingestion_success"],
                              "wall_s": time.perf_counter() - began}
        say(f"solver on {task} {label}: ALC {run['alc']:.4f}")
    return out


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
             "here 8.5-9x: the paper's B = 5000 allowed up to 500x. Folds (held out together, pre-trained on the "
             f"other fold): {result['settings']['folds']}. The derived tasks (`fortunes_categories5`, "
             "`fortunes_language3`: some classes of a parent, same cached inputs) are held out with their parent, "
             "so no task is transferred to from its own parent; each fold's pre-training mixes text and image tasks "
             "(the image task of the held-out fold learns from the other image task).", "",
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--pretrain-trials", type=int, default=200)
    parser.add_argument("--lr", type=float, default=0.005)
    parser.add_argument("--entropy-weight", type=float, default=1e-3)
    parser.add_argument("--max-train", type=int, default=2000)
    parser.add_argument("--max-valid", type=int, default=500)
    parser.add_argument("--max-test", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prior-task", default="O1")
    parser.add_argument("--prior-budget", type=float, default=60.0)
    parser.add_argument("--skip-prior", action="store_true")
    parser.add_argument("--out", default=str(RESULTS / "naml_experiment.json"))
    parser.add_argument("--report-only", action="store_true", help="rewrite the .md from an existing .json")
    parser.add_argument("--prior-only", action="store_true", help="redo the --prior check of an existing .json")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from autodl_solver.utils.atomic import atomic_write_text

    if args.report_only or args.prior_only:
        result = json.loads(Path(args.out).read_text())
        if args.prior_only:
            result["prior_check"] = prior_check(args, result)
            atomic_write_text(Path(args.out), json.dumps(result, indent=1))
        write_markdown(result, Path(args.out).with_suffix(".md"))
        return 0
    from autodl_solver.naml.controller import ControllerConfig
    from autodl_solver.naml.experiment import ExperimentConfig, run_experiment
    from autodl_solver.naml.space import load_space
    from autodl_solver.utils.executors import make_executor
    from autodl_solver.bench.machine import machine_info

    paths = build_tasks(args)
    config = ExperimentConfig(folds=FOLDS, budget=args.budget, pretrain_trials=args.pretrain_trials, seed=args.seed,
                              controller=ControllerConfig(lr=args.lr, entropy_weight=args.entropy_weight))
    command = "taskset -c 1 env OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.naml_experiment " + " ".join(
        argv if argv is not None else sys.argv[1:])
    out = Path(args.out)
    with make_executor("serial") as executor:  # one core: children run one at a time in this process
        result = run_experiment(load_space(), paths, config, executor, out, progress=say,
                                extra={"command": command.strip(), "machine": machine_info()})
    if not args.skip_prior:
        result["prior_check"] = prior_check(args, result)
        atomic_write_text(out, json.dumps(result, indent=1))
    write_markdown(result, out.with_suffix(".md"))
    say(f"wrote {out} and {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
