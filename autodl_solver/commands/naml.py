"""``autodl-solver naml search|multitask|transfer|experiment``: Transfer Neural AutoML from the command line.

Every DATASET is an AutoDL text or image dataset folder (its task inputs are
computed once and cached under ``--cache``) or a task cache file (``.npz``).

* ``search DATASET --searcher random|naml``: single-task search;
* ``multitask DATASET...``: multitask pre-training, saves the controller;
* ``transfer DATASET --controller DIR``: T-NAML on a new task, saves the
  transferred controller and (``--prior-out``) the solver prior;
* ``experiment DATASET... --holdout A,B --holdout C``: the leave-tasks-out
  experiment (one fold per ``--holdout``), one JSON result.

Outputs are written atomically: ``trials.jsonl``, ``summary.json`` and the
controller (``controller.pt`` + ``controller.json``) in ``--out``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import AutoDLInputError

DEFAULT_CACHE = Path.home() / ".cache" / "autodl_solver" / "naml"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--space", default=None, help="search space YAML (default configs/naml/space.yaml)")
    p.add_argument("--cache", default=str(DEFAULT_CACHE), help=f"task feature cache folder (default {DEFAULT_CACHE})")
    p.add_argument("--executor", default="local", choices=("serial", "local", "ray"), help="where children run")
    p.add_argument("--workers", type=int, default=1, help="children in flight at once")
    p.add_argument("--address", default=None, help="Ray cluster address (with --executor ray)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=None, help="controller learning rate (default 1e-4, the paper's)")
    p.add_argument("--entropy-weight", type=float, default=None, help="entropy regulariser weight (default 1e-3)")
    p.add_argument("--max-train", type=int, default=2000, help="training rows kept per task")
    p.add_argument("--max-valid", type=int, default=500, help="validation rows kept per task")
    p.add_argument("--max-test", type=int, default=500, help="test rows kept per task")
    p.add_argument("--reward", default="accuracy", choices=("accuracy", "cost_aware"),
                   help="what children are rewarded with: validation accuracy (the paper's) or accuracy x "
                        "(1 - t~(seconds)) on the challenge's log time axis (naml/reward.py)")
    p.add_argument("--reward-budget", dest="reward_budget", type=float, default=60.0,
                   help="T in seconds of the cost-aware reward's time axis (default 60)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("naml", help="Transfer Neural AutoML: search, multitask, transfer, experiment",
                                   description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="naml_command", metavar="ACTION")
    p = sub.add_parser("search", help="single-task search (random or NAML) on one dataset")
    p.add_argument("dataset", help="AutoDL dataset folder or task cache (.npz)")
    p.add_argument("--searcher", default="naml", choices=("random", "naml"))
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--out", required=True, help="output folder")
    _common(p)
    p = sub.add_parser("multitask", help="multitask pre-training of a controller")
    p.add_argument("datasets", nargs="+", help="AutoDL dataset folders or task caches")
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--out", required=True, help="output folder (the controller is saved there)")
    _common(p)
    p = sub.add_parser("transfer", help="transfer a multitask controller to a new dataset")
    p.add_argument("dataset", help="AutoDL dataset folder or task cache (.npz)")
    p.add_argument("--controller", required=True, help="folder of a saved multitask controller")
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--prior-out", default=None, help="also write the solver prior (JSON) for `run --prior`")
    _common(p)
    p = sub.add_parser("experiment", help="leave-tasks-out experiment: T-NAML vs NAML vs random search")
    p.add_argument("datasets", nargs="+", help="AutoDL dataset folders or task caches")
    p.add_argument("--holdout", action="append", required=True,
                   help="comma-separated task names held out together (one fold; repeat for more folds)")
    p.add_argument("--budget", type=int, default=100, help="trials per method on each held-out task")
    p.add_argument("--pretrain-trials", type=int, default=200, help="multitask trials per fold")
    p.add_argument("--out", required=True, help="result JSON file")
    _common(p)
    parser.set_defaults(func=main, naml_parser=parser)


def prepare_tasks(datasets: list[str], args: argparse.Namespace, say=print) -> dict[str, str]:
    """Task name -> cache file for every DATASET (computing the features of new ones)."""
    from ..data.reader import load_dataset
    from ..domains.inference import infer_domain
    from ..naml.tasks import TASK_BUILDERS, Task

    out: dict[str, str] = {}
    for ds in datasets:
        path = Path(ds)
        if path.suffix == ".npz":
            task = Task.load(path)
            out[task.name] = str(path)
            continue
        domain = infer_domain(load_dataset(path).metadata)
        if domain not in TASK_BUILDERS:
            raise AutoDLInputError(path, f"a {domain} dataset; T-NAML tasks are {sorted(TASK_BUILDERS)} datasets")
        began = time.perf_counter()
        maker = TASK_BUILDERS[domain]
        task = maker(path, path.name, args.cache, max_train=args.max_train, max_valid=args.max_valid,
                     max_test=args.max_test, seed=args.seed)
        cached = task.info["cache"]
        if task.name in out:
            raise AutoDLInputError(path, f"two datasets named {task.name!r}")
        out[task.name] = str(cached)
        say(f"task {task.name}: {domain}, {task.n_classes} classes, rows "
            f"{ {k: len(v) for k, v in task.split.items()} }, modules {task.modules()} "
            f"({time.perf_counter() - began:.1f} s)")
    return out


def _controller_config(args: argparse.Namespace):
    from ..naml.controller import ControllerConfig

    cfg = ControllerConfig()
    if args.lr is not None:
        if args.lr <= 0:
            raise AutoDLInputError("--lr", f"got {args.lr}, expected a positive learning rate")
        cfg.lr = args.lr
    if args.entropy_weight is not None:
        cfg.entropy_weight = args.entropy_weight
    return cfg


def _write_run(out: Path, records: list[dict], summary: dict) -> None:
    """``trials.jsonl`` and ``summary.json`` (accuracy-top10 at the end, the best trial) in ``out``."""
    from ..naml.metrics import to_json_list, top_n_curves
    from ..utils.atomic import atomic_write_text

    v, t = top_n_curves([r["valid_accuracy"] for r in records], [r["test_accuracy"] for r in records])
    summary.update({"trials": len(records), "valid_top10": to_json_list(v[-1:])[0] if len(v) else None,
                    "test_top10": to_json_list(t[-1:])[0] if len(t) else None,
                    "best": max(records, key=lambda r: r["reward"]) if records else None})
    atomic_write_text(out / "trials.jsonl", "".join(json.dumps(r, default=str) + "\n" for r in records))
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1, default=str))


def main(args: argparse.Namespace) -> int:
    if not getattr(args, "naml_command", None):
        args.naml_parser.print_help()
        return 2
    for name in ("workers", "max_train", "max_valid", "max_test"):
        if getattr(args, name) < 1:
            raise AutoDLInputError(f"--{name.replace('_', '-')}", f"got {getattr(args, name)}, expected at least 1")
    for name in ("trials", "budget", "pretrain_trials"):
        if getattr(args, name, 1) < 1:
            raise AutoDLInputError(f"--{name.replace('_', '-')}", f"got {getattr(args, name)}, expected at least 1")
    if not args.reward_budget > 0:
        raise AutoDLInputError("--reward-budget", f"got {args.reward_budget}, expected a positive number of seconds")
    say = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    from ..naml.space import load_space
    from ..utils.executors import make_executor

    space = load_space(args.space)
    cfg = _controller_config(args)
    datasets = [args.dataset] if hasattr(args, "dataset") else list(args.datasets)
    task_paths = prepare_tasks(datasets, args, say)
    from ..naml.tasks import Task

    modality = {n: Task.load(p).modality for n, p in task_paths.items()}
    out = Path(args.out)
    with make_executor(args.executor, max_workers=args.workers, address=args.address) as executor:
        if args.naml_command == "experiment":
            return _experiment(args, space, cfg, task_paths, executor, say)
        from ..naml.reward import make_reward
        from ..naml.searchers import make_searcher
        from ..naml.trials import run_search

        pairs = list(modality.items())
        kind = {"search": getattr(args, "searcher", None), "multitask": "multitask",
                "transfer": "transfer"}[args.naml_command]
        searcher = make_searcher(kind, space, pairs, args.seed, cfg, getattr(args, "controller", None))
        n = args.trials

        def progress(r: dict) -> None:
            done = r["finished"] + 1
            if done == n or done % max(1, n // 10) == 0:
                best = max(h["reward"] for h in searcher.history)
                say(f"{kind} trial {done}/{n}: {r['task']} {args.reward} reward {r['reward']:.4f} "
                    f"(best {best:.4f}) {r.get('seconds', 0):.2f} s")

        reward = make_reward(args.reward, args.reward_budget)
        records = run_search(searcher, task_paths, n, executor, seed=args.seed, on_trial=progress, reward=reward)
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"command": "naml " + args.naml_command, "searcher": kind, "space_name": space.name,
                               "space_fingerprint": space.fingerprint, "tasks": task_paths}
    if kind != "random":
        searcher.save(out)
        summary["most_likely"] = {t: searcher.most_likely(t) for t, _ in pairs}
        summary["controller"] = str(out)
    if args.naml_command == "transfer" and args.prior_out:
        from ..naml.prior import export_prior

        export_prior(args.prior_out, searcher.controller, pairs[0][0], source=str(out), records=records,
                     reward=reward, task_path=task_paths[pairs[0][0]])
        summary["prior"] = str(args.prior_out)
        say(f"wrote prior {args.prior_out}")
    _write_run(out, records, summary)
    say(f"wrote {out / 'summary.json'}: validation accuracy-top10 {summary['valid_top10']}, "
        f"test accuracy-top10 {summary['test_top10']}")
    return 0


def _experiment(args, space, cfg, task_paths, executor, say) -> int:
    from ..naml.experiment import ExperimentConfig, run_experiment

    folds = [[t.strip() for t in h.split(",") if t.strip()] for h in args.holdout]
    if any(not f for f in folds):
        raise AutoDLInputError("--holdout", "expected comma-separated task names")
    config = ExperimentConfig(folds=folds, budget=args.budget, pretrain_trials=args.pretrain_trials, seed=args.seed,
                              controller=cfg, reward=args.reward, reward_time_budget=args.reward_budget)
    result = run_experiment(space, task_paths, config, executor, args.out, progress=say,
                            extra={"command": " ".join(["autodl-solver"] + sys.argv[1:])})
    s = result["summary"]
    say(f"median speed-up over random search: T-NAML {s['tnaml']['median_speedup_bounded']}, "
        f"NAML {s['naml']['median_speedup_bounded']}")
    return 0
