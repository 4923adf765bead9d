"""A ready GPU check: the solver on one small dataset per domain, with the device's own figures.

On a machine with a GPU, after ``make setup``, run ONE command (about 5 minutes
at T = 30 s: five runs of T plus their start-up, and a few seconds of
throughput measurement)::

    .venv/bin/python -m benchmarks.gpu_check --time_budget 30 --device cuda

It writes ``benchmarks/results/gpu_check_cuda.{json,md}``. For the CPU figures
of the same datasets (placed next to the CUDA ones in the markdown when
``results/gpu_check_cpu.json`` exists, and in the CPU report next to a
CUDA file), run ``--device cpu`` (there or on any machine)::

    .venv/bin/python -m benchmarks.gpu_check --time_budget 30 --device cpu

Per dataset it records, through the protocol (``protocol_runner.run_one``: the
project's ingestion + scoring, so every number is a protocol number): ALC,
final NAUC, time of the first prediction, the engine's per-learner summary
(the round log) and the device the run's model reported; per torch vision
domain (image, video) the training throughput of the solver's network
(``image_cnn``, ``video_3d``) at its device input size (``max_side`` on CPU,
``max_side_cuda`` on CUDA, batch ``batch_size``, with the learner's AMP
setting), measured with :func:`benchmarks.vision_throughput.throughput`; and
the device name, torch / CUDA / cuDNN versions and whether AMP was on.

Datasets: those of the quick suite (``configs/suites/quick.yaml``: one small
dataset per domain, from :data:`autodl_solver.bench.datasets.DATASETS`; one whose
offline source is absent is skipped with a note). ``--smoke`` uses instead the
tiny generated datasets of :mod:`autodl_solver.testing.datasets` (one per
domain) with a budget of a few seconds: a CI check of this very pipeline.

The device reaches the learners through the environment of each run's
ingestion process: the torch learners choose CUDA when ``torch.cuda`` finds a
GPU (``device: auto`` in their configs), so ``--device cpu`` runs them with
``CUDA_VISIBLE_DEVICES=""`` (no GPU visible: CPU everywhere, model warm-up
included), ``--device cuda`` refuses to start when no GPU is visible, and
``--device auto`` changes nothing. The device actually used, as the model's
round log reports it, is recorded beside the one asked for.

Like every runner it refuses a checkout with uncommitted changes unless
``--allow-dirty`` is given (recorded in the rows). Usage::

    .venv/bin/python -m benchmarks.gpu_check [--time_budget 30] [--device auto|cuda|cpu] [--datasets ...]
        [--out results/gpu_check_<device>] [--allow-dirty] [--smoke]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from autodl_solver.bench.machine import machine_info
from autodl_solver.bench.protocol_runner import ALLOW_DIRTY_HELP, RESULTS, WORK, require_clean_tree, run_one
from autodl_solver.bench.report import _machine_line, learner_failures
from autodl_solver.utils.atomic import atomic_write_text

DEVICES = ("auto", "cuda", "cpu")
#: The solver's learner whose training throughput is measured, per torch vision domain.
THROUGHPUT_LEARNERS = {"image": "image_cnn", "video": "video_3d"}
#: Budget of ``--smoke`` runs (seconds) and the size of its generated datasets.
SMOKE_TIME_BUDGET = 5.0
SMOKE_SIZES = {"n_train": 60, "n_test": 30, "output_dim": 3}


# ------------------------------------------------------------------- device
def resolve_device(requested: str) -> str:
    """``"cuda"`` or ``"cpu"``: the device the runs will use.

    Raises
    ------
    AutoDLInputError
        ``requested`` is ``"cuda"`` and torch sees no GPU, or is not one of :data:`DEVICES`.
    """
    import torch

    from autodl_solver.errors import AutoDLInputError

    if requested not in DEVICES:
        raise AutoDLInputError("--device", f"expected one of {DEVICES}, got {requested!r}")
    available = torch.cuda.is_available()
    if requested == "cuda" and not available:
        raise AutoDLInputError("--device", "cuda asked for, but torch sees no GPU "
                                           f"(torch {torch.__version__}, built for CUDA {torch.version.cuda})")
    if requested == "auto":
        return "cuda" if available else "cpu"
    return requested


def child_environment(device: str) -> dict[str, Optional[str]]:
    """Variables of each run's ingestion process that put its learners on ``device``."""
    return {"CUDA_VISIBLE_DEVICES": ""} if device == "cpu" else {}


def device_facts(device: str) -> dict[str, Any]:
    """Device name, torch / CUDA / cuDNN versions and whether the vision learners use AMP on ``device``."""
    import platform

    import torch

    from autodl_solver.domains.registry import load_config

    facts: dict[str, Any] = {"device": device, "torch": torch.__version__, "cuda": torch.version.cuda,
                             "cudnn": None, "cuda_available": torch.cuda.is_available(), "device_name": None}
    if device == "cuda":
        facts["device_name"] = torch.cuda.get_device_name(0)
        facts["cudnn"] = torch.backends.cudnn.version()
        props = torch.cuda.get_device_properties(0)
        facts["device_memory_gib"] = round(props.total_memory / 2**30, 1)
        facts["capability"] = ".".join(map(str, torch.cuda.get_device_capability(0)))
    else:
        facts["device_name"] = _cpu_name() or platform.processor() or "cpu"
    try:
        amp = bool(load_config("image_cnn").amp)
    except Exception:  # noqa: BLE001 - no image learner here: nothing uses AMP
        amp = False
    facts["amp"] = amp and device == "cuda"  # the vision learners' fp16 autocast is CUDA only
    return facts


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


# ------------------------------------------------------------------- throughput
def vision_throughput(dataset_dir: Path, domain: str, device: str, *, batch: Optional[int] = None,
                      steps: int = 3) -> Optional[dict]:
    """Training images (clips) per second of the solver's vision network for this dataset, on ``device``.

    Builds the domain's learner of :data:`THROUGHPUT_LEARNERS` for the
    dataset's metadata (no pretrained weights: the speed is the same) and
    times SGD steps (forward + backward) on random batches at the learner's
    device input size (:meth:`~autodl_solver.domains.core.vision_trainer.VisionNetLearner.max_side`,
    ``max_frames`` frames for video) with
    :func:`benchmarks.vision_throughput.throughput`, under fp16 autocast when
    the learner would use AMP. ``None`` for a domain without a vision
    network (tabular, speech, text).
    """
    name = THROUGHPUT_LEARNERS.get(domain)
    if name is None:
        return None
    import contextlib

    import torch

    from autodl_solver.challenge.runner import resolve_dataset
    from autodl_solver.data.textproto import read_metadata
    from autodl_solver.domains.registry import create

    from .vision_throughput import throughput

    _, data_entry = resolve_dataset(dataset_dir)
    metadata = read_metadata(data_entry / "train")
    learner = create(name, metadata, config={"device": device, "pretrained": False})
    cfg = learner.config
    side = int(learner.max_side())
    frames = int(cfg.max_frames) if learner.video else 1
    batch = int(batch or cfg.batch_size)
    dev = torch.device(device)
    channels = int(metadata.tensor_shape[3]) if metadata.tensor_shape[3] > 0 else 3  # as the learner reads it
    x = torch.randn(batch, frames, channels, side, side, device=dev)
    amp = dev.type == "cuda" and bool(cfg.amp)
    backbone = getattr(cfg, "backbone", None)
    if hasattr(learner, "backbone_for"):  # image_cnn's "auto": the backbone it picked for these channels
        backbone = learner.backbone_for(channels)
    autocast = torch.autocast("cuda", dtype=torch.float16) if amp else contextlib.nullcontext()
    with autocast:
        rate = throughput(learner.net, x, True, steps=steps)
    del learner, x
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    return {"learner": name, "backbone": backbone, "device": device,
            "input": [frames, channels, side, side],
            "batch": batch, "steps": steps, "amp": amp,
            "train_per_s": round(float(rate), 2), "unit": "clips/s" if frames > 1 else "images/s"}


# ------------------------------------------------------------------- datasets
def quick_datasets() -> list[str]:
    """The quick suite's datasets (one small one per domain)."""
    from autodl_solver.bench.suite import load_suite

    return list(load_suite("quick").datasets)


def build_benchmark_datasets(names: Sequence[str], root: Path) -> tuple[dict[str, tuple[str, Path]], list[str]]:
    """``{name: (domain, folder)}`` of the registry datasets that could be built, and notes on the others."""
    from autodl_solver.bench.datasets import get_dataset

    built, skipped = {}, []
    for name in names:
        spec = get_dataset(name)
        print(f"[gpu_check] building {name} ...", file=sys.stderr, flush=True)
        path = spec.build(Path(root))
        if path is None:
            skipped.append(f"dataset {name}: its offline source is not available here; skipped")
        else:
            built[name] = (spec.domain, Path(path))
    return built, skipped


def build_smoke_datasets(root: Path, domains: Optional[Sequence[str]] = None) -> dict[str, tuple[str, Path]]:
    """The tiny generated datasets of :mod:`autodl_solver.testing.datasets`, written under ``root``.

    One per domain (``tiny_<domain>``), as official AutoDL folders; an
    existing folder is reused (the data are seeded, so the same).
    """
    from autodl_solver.data.writer import write_dataset
    from autodl_solver.testing.datasets import DOMAINS, make_dataset

    built = {}
    for domain in domains or DOMAINS:
        name = f"tiny_{domain}"
        target = Path(root) / name
        if not (target / f"{name}.solution").is_file():
            train, test, y_test = make_dataset(domain, seed=0, **SMOKE_SIZES)
            xs, ys = train.take(0, len(train))
            xt, _ = test.take(0, len(test))
            write_dataset(root, name, train.metadata.replace(name=name), zip(xs, ys), zip(xt, y_test),
                          overwrite=True)
        built[name] = (domain, target)
    return built


# ------------------------------------------------------------------- the check
def run_dataset(name: str, domain: str, dataset_dir: str, device: str, time_budget: float, out_dir: str,
                command: str, machine: dict, allow_dirty: bool, method: str) -> dict:
    """One run of the check (in this process or a worker): :func:`run_one` on ``device``; never raises."""
    row: dict[str, Any] = {"dataset": name, "domain": domain, "method": method, "device_requested": device}
    try:
        row.update(run_one(name, method, Path(dataset_dir), Path(out_dir), time_budget, command, verbose=False,
                           machine=machine, allow_dirty=allow_dirty, env=child_environment(device)))
    except Exception as exc:  # noqa: BLE001 - one broken run must not stop the check
        row["error"] = f"{type(exc).__name__}: {exc}"
    return row


def run_check(datasets: dict[str, tuple[str, Path]], device: str, time_budget: float, out: Path, work: Path,
              command: str, *, allow_dirty: bool = False, method: str = "solver", smoke: bool = False,
              skipped: Sequence[str] = (), compare: Optional[Path] = None, workers: int = 1) -> dict:
    """Run ``method`` on every dataset on ``device``; write ``<out>.json`` and ``<out>.md`` atomically.

    Parameters
    ----------
    datasets : dict
        ``{name: (domain, dataset folder)}``.
    device : str
        ``"cuda"`` or ``"cpu"`` (:func:`resolve_device`).
    time_budget : float
        T of every run (seconds).
    out : path
        Result stem: ``<out>.json`` and ``<out>.md`` are written.
    work : path
        Runs are kept under ``work/<out name>/<dataset>/<method>``.
    command : str
        The command line recorded beside the numbers.
    allow_dirty : bool
        Recorded in every row.
    method : str
        What runs (the solver's portfolio by default).
    smoke : bool
        Recorded; the throughput is then measured on 2-example batches for one step.
    skipped : sequence of str
        Notes on datasets not run.
    compare : path, optional
        A result file of this check on another device (default: the CPU file
        ``gpu_check_cpu.json`` beside ``out`` for a CUDA check, the CUDA file
        for a CPU check); its figures go next to these when it exists.
    workers : int
        Runs at once (local worker processes when above 1). Concurrent runs
        share the machine, so their timings are not the device's: more than 1
        is for the smoke check. The throughput is always measured afterwards,
        one dataset at a time, in this process.

    Returns
    -------
    dict
        The record written to ``<out>.json``.
    """
    from autodl_solver.utils.executors import make_executor

    out = Path(out)
    start = time.perf_counter()
    machine = machine_info()
    facts = device_facts(device)
    tasks = [dict(name=name, domain=domain, dataset_dir=str(path), device=device, time_budget=time_budget,
                  out_dir=str((Path(work) / out.name / name / method).resolve()), command=command, machine=machine,
                  allow_dirty=allow_dirty, method=method) for name, (domain, path) in datasets.items()]
    for t in tasks:
        print(f"[gpu_check] {t['name']} ({t['domain']}) / {method} on {device} (T={time_budget:g}s)",
              file=sys.stderr, flush=True)

    def finished(_index: int, row: dict) -> None:
        if "error" in row:
            print(f"[gpu_check]   {row['dataset']}: FAILED {row['error']}", file=sys.stderr, flush=True)
        else:
            print(f"[gpu_check]   {row['dataset']}: ALC {row['alc']:.4f}  final NAUC {row['final_nauc']:.4f}  "
                  f"first {row['first_prediction_s']:.2f}s  device {row.get('device') or '?'}"
                  + learner_failures(row), file=sys.stderr, flush=True)

    with make_executor("serial" if workers <= 1 else "local", max_workers=max(1, workers)) as executor:
        rows = executor.map(run_dataset, tasks, on_result=finished)
    failed = [f"{r['dataset']} / {method}: {r['error']}" for r in rows if "error" in r]
    for row, (name, (domain, path)) in zip(rows, datasets.items()):
        try:
            row["throughput"] = vision_throughput(path, domain, device, batch=2 if smoke else None,
                                                  steps=1 if smoke else 3)
        except Exception as exc:  # noqa: BLE001 - recorded; the runs' numbers still stand
            row["throughput"] = {"error": f"{type(exc).__name__}: {exc}"}
            failed.append(f"{name} throughput: {row['throughput']['error']}")
        rate = row["throughput"]
        if rate and "train_per_s" in rate:
            print(f"[gpu_check]   {name}: {rate['learner']} trains {rate['train_per_s']:g} {rate['unit']} on "
                  f"{device}", file=sys.stderr, flush=True)
    record = {"benchmark": out.name, "command": command, "method": method, "time_budget": time_budget,
              "smoke": smoke, "workers": workers, "device_requested": device, **facts, "machine": machine,
              "git_dirty": machine.get("git_dirty"), "allow_dirty": bool(allow_dirty), "results": rows,
              "skipped": list(skipped), "failed": failed, "wall_s": round(time.perf_counter() - start, 1)}
    other = read_record(compare if compare is not None else default_compare(out, device))
    atomic_write_text(_with_ext(out, ".json"), json.dumps(record, indent=2))
    atomic_write_text(_with_ext(out, ".md"), check_markdown(record, other))
    return record


def _with_ext(stem: Path, ext: str) -> Path:
    """``stem`` + ``ext`` (``with_suffix`` would eat a dot inside the stem, as in ``T2.5``)."""
    return stem.with_name(stem.name + ext)


def default_compare(out: Path, device: str) -> Path:
    """The other device's result file beside ``out``: ``..._cpu`` for a CUDA check, ``..._cuda`` for a CPU one."""
    stem = out.name
    mine, theirs = ("_cuda", "_cpu") if device == "cuda" else ("_cpu", "_cuda")
    base = stem[: -len(mine)] if stem.endswith(mine) else stem
    return out.with_name(base + theirs + ".json")


def read_record(path: Optional[Path]) -> Optional[dict]:
    """A gpu_check result file, or ``None`` when absent or unreadable."""
    if path is None or not Path(path).is_file():
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        return None
    data["_path"] = str(path)
    return data


# ------------------------------------------------------------------- report
def _num(value: Any, fmt: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return format(value, fmt)
    return "-"


def _rate(row: Optional[dict]) -> Optional[float]:
    rate = (row or {}).get("throughput") or {}
    return rate.get("train_per_s") if isinstance(rate, dict) else None


def _rate_cell(row: dict) -> str:
    rate = row.get("throughput")
    if not rate:
        return "-"
    if "error" in rate:
        return "failed"
    amp = ", AMP" if rate.get("amp") else ""
    shape = "x".join(str(v) for v in rate["input"]) if rate.get("input") else ""
    net = f"{rate['learner']}/{rate['backbone']}" if rate.get("backbone") else rate["learner"]
    return f"{rate['train_per_s']:g} {rate['unit']} ({net} {shape}, batch {rate['batch']}{amp})"


def _learners_cell(row: dict) -> str:
    learners = row.get("learners")
    if learners is None:
        return "no round log"
    parts = []
    for entry in learners:
        skipped = entry.get("skipped")
        status = " failed" if entry.get("failed") else (" retired" if entry.get("retired") else "")
        if skipped:
            reason = " ".join(str(skipped).split()) if isinstance(skipped, str) else ""
            if len(reason) > 90:
                reason = reason[:87] + "..."
            status += " skipped" + (f" ({reason})" if reason else "")
        parts.append(f"{entry.get('name', '?')} {entry.get('rounds', '?')}r "
                     f"{_num(entry.get('time_s'), '.1f')}s val {_num(entry.get('val_score'), '.3f')}{status}")
    return "; ".join(parts) or "none"


def check_markdown(record: dict, other: Optional[dict] = None) -> str:
    """The check's markdown: device facts, one row per dataset, the other device's figures beside them."""
    dev = record["device"]
    lines = [f"# GPU check on {dev}: {record.get('device_name') or '?'}" + (" (smoke)" if record.get("smoke") else ""),
             "", f"Command: `{record['command']}`  "]
    if record.get("machine"):
        lines.append(_machine_line(record["machine"]))
    lines.append(f"Device: {dev} ({record.get('device_name') or '?'}"
                 + (f", {record['device_memory_gib']} GiB" if record.get("device_memory_gib") else "")
                 + f"); torch {record.get('torch')}, CUDA {record.get('cuda') or 'none'}, cuDNN "
                 f"{record.get('cudnn') or 'none'}; AMP {'on' if record.get('amp') else 'off'}; GPU visible to "
                 f"torch: {'yes' if record.get('cuda_available') else 'no'}  ")
    lines.append(f"Method {record.get('method', 'solver')}, T = {record['time_budget']:g} s per run through the "
                 f"project's ingestion + scoring (t0 = 60 s); wall time {record.get('wall_s', 0) / 60:.1f} min.")
    lines += ["", "| dataset | domain | device used | ALC | final NAUC | first prediction (s) | predictions | "
                  "training throughput |", "|---|---|---|---|---|---|---|---|"]
    for r in record["results"]:
        if "error" in r:
            lines.append(f"| {r['dataset']} | {r['domain']} | - | failed: {r['error'][:60]} | - | - | - | "
                         f"{_rate_cell(r)} |")
            continue
        used = r.get("device") or "not logged"
        if r.get("device") and not str(r["device"]).startswith(dev):
            used += f" (asked {dev})"
        lines.append(f"| {r['dataset']} | {r['domain']} | {used} | {r['alc']:.4f} | {r['final_nauc']:.4f} | "
                     f"{_num(r['first_prediction_s'], '.2f')} | {r['n_predictions']} | {_rate_cell(r)} |")
    if record.get("smoke"):
        lines += ["", "Smoke check: the throughput is one step of batch 2, a check that the network trains "
                      "on the device, not a speed figure."]
    lines += ["", "Learners (round log: rounds, seconds, best validation NAUC):", "",
              "| dataset | learners |", "|---|---|"]
    for r in record["results"]:
        lines.append(f"| {r['dataset']}{learner_failures(r)} | {_learners_cell(r)} |")
    if other is not None:
        theirs = {r.get("dataset"): r for r in other["results"]}
        o_dev = other.get("device", "other")
        lines += ["", f"## Against {o_dev} (`{Path(other['_path']).name}`, commit "
                      f"{(other.get('machine') or {}).get('git_commit', '?')}, "
                      f"{(other.get('machine') or {}).get('date', '?')}, "
                      f"T = {_num(other.get('time_budget'), 'g')} s, {other.get('device_name') or '?'})", "",
                  f"| dataset | ALC {dev} | ALC {o_dev} | first prediction {dev} (s) | {o_dev} (s) | "
                  f"train/s {dev} | train/s {o_dev} | speed-up |", "|---|---|---|---|---|---|---|---|"]
        for r in record["results"]:
            o = theirs.get(r["dataset"])
            if o is None:
                continue
            mine_rate, their_rate = _rate(r), _rate(o)
            speed = f"{mine_rate / their_rate:.1f}x" if mine_rate and their_rate else "-"
            lines.append(f"| {r['dataset']} | {_num(r.get('alc'), '.4f')} | {_num(o.get('alc'), '.4f')} | "
                         f"{_num(r.get('first_prediction_s'), '.2f')} | {_num(o.get('first_prediction_s'), '.2f')} | "
                         f"{_num(mine_rate, 'g')} | {_num(their_rate, 'g')} | {speed} |")
    for title, key in (("Skipped", "skipped"), ("Failed", "failed")):
        if record.get(key):
            lines += ["", f"{title}:", ""] + [f"- {note}" for note in record[key]]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------- CLI
def main(argv: Optional[Sequence[str]] = None) -> int:
    from autodl_solver.errors import AutoDLInputError

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--time_budget", type=float, default=None,
                   help=f"T of every run in seconds (default 30; {SMOKE_TIME_BUDGET:g} with --smoke)")
    p.add_argument("--device", choices=DEVICES, default="auto", help="where the learners train (default auto)")
    p.add_argument("--datasets", nargs="+", default=None,
                   help="benchmark datasets (default: the quick suite's, one per domain); with --smoke, domains")
    p.add_argument("--method", default="solver", help="method to run (default solver)")
    p.add_argument("--out", default=None,
                   help="result stem: <out>.json and <out>.md (default benchmarks/results/gpu_check_<device>, "
                        "gpu_check_smoke_<device> with --smoke)")
    p.add_argument("--compare", default=None,
                   help="result file of the other device (default gpu_check_cpu.json / _cuda.json beside --out)")
    p.add_argument("--work", default=None, help="folder of the datasets and runs (default benchmarks/work)")
    p.add_argument("--smoke", action="store_true",
                   help="tiny generated datasets (autodl_solver.testing.datasets), a few seconds each")
    p.add_argument("--workers", type=int, default=1,
                   help="runs at once in local processes (default 1; more distorts the timings: smoke only)")
    p.add_argument("--allow-dirty", dest="allow_dirty", action="store_true", help=ALLOW_DIRTY_HELP)
    args = p.parse_args(argv)
    require_clean_tree(args.allow_dirty)  # exits 2 with one line on a checkout with uncommitted changes
    budget = args.time_budget if args.time_budget is not None else (SMOKE_TIME_BUDGET if args.smoke else 30.0)
    try:
        if not budget > 0:
            raise AutoDLInputError("--time_budget", f"expected a positive number of seconds, got {budget:g}")
        if args.workers < 1:
            raise AutoDLInputError("--workers", f"expected a positive number of runs at once, got {args.workers}")
        device = resolve_device(args.device)
        work = Path(args.work) if args.work else WORK
        if args.smoke:
            datasets, skipped = build_smoke_datasets(work / "data" / "gpu_check_smoke", args.datasets), []
        else:
            datasets, skipped = build_benchmark_datasets(args.datasets or quick_datasets(), work / "data")
    except AutoDLInputError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    stem = "gpu_check_smoke" if args.smoke else "gpu_check"
    out = Path(args.out) if args.out else RESULTS / f"{stem}_{device}"
    if out.name.endswith((".json", ".md")):
        out = out.with_name(out.name.rsplit(".", 1)[0])
    command = "python -m benchmarks.gpu_check " + " ".join(sys.argv[1:] if argv is None else argv)
    record = run_check(datasets, device, budget, out, work / "runs", command.strip(), allow_dirty=args.allow_dirty,
                       method=args.method, smoke=args.smoke, skipped=skipped,
                       compare=Path(args.compare) if args.compare else None, workers=args.workers)
    print(check_markdown(record, read_record(Path(args.compare) if args.compare else default_compare(out, device))),
          end="")
    print(f"[gpu_check] report: {_with_ext(out, '.md')}", file=sys.stderr, flush=True)
    return 1 if record["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
