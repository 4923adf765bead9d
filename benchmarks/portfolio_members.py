"""The portfolio never loses to its best member: each learner alone vs the solver, through the protocol.

For every dataset, each learner of the solver's portfolio for its domain runs
alone (method ``learner:<name>``: the normal engine, hold-out and gating, one
learner) and the solver runs with its whole portfolio, all at the same T
through ingestion + scoring (``protocol_runner.run_one``). The report says,
per dataset, the best single learner's ALC, the solver's, their difference
(goal: solver >= best single - 0.005) and the solver's ALC / final NAUC
(goal: >= 0.90). The kept round logs of these runs are what
``benchmarks/fit_scheduler_prior.py`` fits the scheduling prior from.

Usage::

    python -m benchmarks.portfolio_members --time_budget 60 [--datasets wine digits ...] [--methods solver]
    python -m benchmarks.portfolio_members --time_budget 60 --report     # rebuild the report only
    python -m benchmarks.portfolio_members --time_budget 60 --methods solver --members-from \
        benchmarks/results/members_T60.json        # the solver again, its members as recorded
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional, Sequence

from autodl_solver.bench.datasets import build_dataset, get_dataset
from autodl_solver.bench.machine import machine_info
from autodl_solver.bench.protocol_runner import ALLOW_DIRTY_HELP, RESULTS, WORK, require_clean_tree, run_one
from autodl_solver.bench.report import plot_dataset_curves
from autodl_solver.domains.methods import solver_portfolio
from autodl_solver.utils.atomic import atomic_write_text

#: One small dataset per domain (the quick suite's), plus the table datasets where a run is affordable.
DEFAULT_DATASETS = ("wine", "digits", "moving_digits_n300", "spoken_words_n300", "fortunes_language_c100")
TOLERANCE = 0.005


def methods_for(dataset: str) -> list[str]:
    """``learner:<name>`` for every portfolio learner of the dataset's domain, then ``solver``."""
    return [f"learner:{n}" for n in solver_portfolio(get_dataset(dataset).domain)] + ["solver"]


def recorded_members(paths: Sequence[str | Path], time_budget: float) -> dict[str, dict[str, dict]]:
    """``dataset -> method -> row`` of the ``learner:<name>`` rows in recorded members files (later files win).

    For a re-run of the solver alone after a change that leaves the single
    learners' code as it was: each row keeps its own ``machine`` (commit,
    date), and the report names the file it came from (``recorded_in``).
    A file of another time budget is refused.
    """
    out: dict[str, dict[str, dict]] = {}
    for path in paths:
        try:
            record = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise SystemExit(f"{path}: not a readable members results file ({exc.__class__.__name__})") from None
        if float(record.get("time_budget", -1)) != float(time_budget):
            raise SystemExit(f"{path}: time_budget {record.get('time_budget')} is not this run's {time_budget:g}")
        for row in record.get("results", []):
            if str(row.get("method", "")).startswith("learner:"):
                out.setdefault(row["dataset"], {})[row["method"]] = dict(row, recorded_in=Path(path).name)
    return out


def report(tag: str, datasets: Sequence[str], time_budget: float, command: str,
           members_from: Sequence[str | Path] = ()) -> dict:
    """Collect the kept rows of ``tag`` and write ``results/<tag>.{json,md}`` and one PNG per dataset.

    ``members_from``: recorded members files whose single-learner rows stand in
    for those not run under ``tag`` (:func:`recorded_members`).
    """
    rows, table = [], []
    recorded = recorded_members(members_from, time_budget)
    for name in datasets:
        found = {}
        for path in sorted((WORK / "runs" / tag / name).glob("*/row.json")):
            row = json.loads(path.read_text())
            log = path.parent / "rounds.json"
            if log.is_file():  # kept in the results: the scheduling prior is fitted from these (fit_scheduler_prior)
                row["round_log_data"] = json.loads(log.read_text())
            found[row["method"]] = row
        for method, row in recorded.get(name, {}).items():
            found.setdefault(method, row)
        if not found:
            continue
        rows.extend(found.values())
        plot_dataset_curves(name, found, time_budget, RESULTS / f"{tag}_{name}.png")
        singles = {m: r for m, r in found.items() if m.startswith("learner:")}
        solver = found.get("solver")
        best = max(singles.items(), key=lambda kv: kv[1]["alc"]) if singles else None
        entry = {"dataset": name, "domain": get_dataset(name).domain,
                 "singles": {m: round(r["alc"], 4) for m, r in singles.items()},
                 "best_single": None if best is None else best[0], "best_single_alc": None if best is None
                 else best[1]["alc"], "solver_alc": None if solver is None else solver["alc"],
                 "solver_final_nauc": None if solver is None else solver["final_nauc"],
                 "solver_first_prediction_s": None if solver is None else solver["first_prediction_s"]}
        if solver is not None and best is not None:
            entry["margin"] = solver["alc"] - best[1]["alc"]
            entry["never_loses"] = bool(entry["margin"] >= -TOLERANCE)
        if solver is not None and solver["final_nauc"] > 0:
            entry["alc_over_final"] = solver["alc"] / solver["final_nauc"]
        table.append(entry)
    machines = [r.get("machine") for r in rows if r.get("machine")]
    record = {"benchmark": tag, "command": command, "time_budget": time_budget,
              "machine": machines[0] if machines else machine_info(),
              "commits": sorted({m.get("git_commit", "") for m in machines}), "summary": table, "results": rows}
    atomic_write_text(RESULTS / f"{tag}.json", json.dumps(record, indent=2))
    atomic_write_text(RESULTS / f"{tag}.md", markdown(record))
    return record


def markdown(record: dict) -> str:
    """The report's table (per dataset: every single learner, the solver, the goals)."""
    m = record["machine"] or {}
    lines = [f"# {record['benchmark']}: portfolio vs its members (T = {record['time_budget']:g} s)", "",
             f"Command: `{record['command']}`", "",
             f"Machine: {m.get('cpu')}, {m.get('cores')} cores (used {m.get('cpus_used')}), GPU {m.get('gpu')}, "
             f"thread caps {m.get('thread_caps')}; commits {', '.join(record['commits'])}"
             f"{' (dirty tree)' if any((r.get('machine') or {}).get('git_dirty') for r in record['results']) else ''}.",
             "", "Each learner alone (`learner:<name>`, the normal engine) and the solver, through ingestion + "
             f"scoring. Goals: solver ALC >= best single - {TOLERANCE}; solver ALC / final NAUC >= 0.90.", "",
             "| dataset | domain | single learners (ALC) | best single | solver ALC | margin | never loses | "
             "ALC / final NAUC | first prediction (s) |", "|---|---|---|---|---|---|---|---|---|"]
    for e in record["summary"]:
        singles = ", ".join(f"{k.split(':', 1)[1]} {v:.4f}" for k, v in e["singles"].items())
        fmt = (lambda v, spec=".4f": "-" if v is None else format(v, spec))
        lines.append(f"| {e['dataset']} | {e['domain']} | {singles} | {e['best_single'] or '-'} | "
                     f"{fmt(e['solver_alc'])} | {fmt(e.get('margin'), '+.4f')} | "
                     f"{'-' if 'never_loses' not in e else ('yes' if e['never_loses'] else '**no**')} | "
                     f"{fmt(e.get('alc_over_final'), '.3f')} | {fmt(e['solver_first_prediction_s'], '.2f')} |")
    taken = sorted({(r["dataset"], r["method"], r["recorded_in"], (r.get("machine") or {}).get("git_commit"))
                    for r in record["results"] if r.get("recorded_in")})
    if taken:
        lines += ["", "Single-learner rows not run here, taken from recorded files (dataset, method, file, commit):",
                  ""] + [f"- {d} {m}: {f} at {c}" for d, m, f, c in taken]
    lines += ["", "Per-learner summary of each solver run (rounds / fit seconds; skipped or failed learners named):",
              ""]
    for r in record["results"]:
        if r["method"] != "solver" or not r.get("learners"):
            continue
        parts = []
        for s in r["learners"]:
            note = f" skipped: {s['skipped']}" if s.get("skipped") else (f" FAILED: {s['error']}" if s.get("failed")
                                                                          else "")
            parts.append(f"{s['name']} {s['rounds']} / {s.get('time_s', 0):.1f} s{note}")
        lines.append(f"- {r['dataset']}: " + "; ".join(parts))
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--time_budget", type=float, default=60.0)
    p.add_argument("--datasets", nargs="+", default=list(DEFAULT_DATASETS))
    p.add_argument("--methods", nargs="+", default=None,
                   help="run only these (e.g. solver, or learner:text_linear); default every member and the solver")
    p.add_argument("--tag", default=None, help="result file stem (default members_T<budget>)")
    p.add_argument("--report", action="store_true", help="run nothing; rebuild the report from the kept runs")
    p.add_argument("--members-from", dest="members_from", nargs="+", default=(), metavar="RESULTS_JSON",
                   help="recorded members files whose learner:<name> rows stand in for members not run here "
                        "(later files win)")
    p.add_argument("--allow-dirty", dest="allow_dirty", action="store_true", help=ALLOW_DIRTY_HELP)
    args = p.parse_args(argv)
    tag = args.tag or f"members_T{int(args.time_budget)}"
    command = "python -m benchmarks.portfolio_members " + " ".join(sys.argv[1:] if argv is None else argv)
    if not args.report:
        require_clean_tree(args.allow_dirty)
        machine = machine_info()
        for name in args.datasets:
            folder = build_dataset(name, WORK / "data")
            if folder is None:
                print(f"[members] {name}: not available here, skipped", file=sys.stderr, flush=True)
                continue
            for method in methods_for(name):
                if args.methods and method not in args.methods:
                    continue
                print(f"[members] {name} / {method} (T={args.time_budget:g}s)", file=sys.stderr, flush=True)
                row = run_one(name, method, Path(folder), WORK / "runs" / tag / name / method.replace(":", "_"),
                              args.time_budget, command.strip(), verbose=False, machine=machine,
                              allow_dirty=args.allow_dirty)
                print(f"[members]   ALC {row['alc']:.4f} final {row['final_nauc']:.4f} first "
                      f"{row['first_prediction_s']:.2f}s", file=sys.stderr, flush=True)
    record = report(tag, args.datasets, args.time_budget, command.strip(), args.members_from)
    print(markdown(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
