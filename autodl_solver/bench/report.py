"""Turn finished runs (scores.txt) into benchmark rows, markdown tables and curve plots."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import yaml


def summarise_run(dataset: str, method: str, score_dir: Path) -> dict:
    """Read ``scores.txt`` of one run: ALC, final NAUC, first-prediction time, the curve."""
    scores = yaml.safe_load((Path(score_dir) / "scores.txt").read_text())
    timestamps = [float(t) for t in (scores.get("timestamps") or [])]
    naucs = [float(s) for s in (scores.get("nauc_scores") or [])]
    return {
        "dataset": dataset,
        "method": method,
        "alc": float(scores["score"]),
        "final_nauc": naucs[-1] if naucs else 0.0,
        "first_prediction_s": timestamps[0] if timestamps else float("nan"),
        "n_predictions": len(naucs),
        "timestamps": timestamps,
        "nauc_scores": naucs,
    }


#: Characters of a learner's error kept in a report's flag.
ERROR_CHARS = 60


def learner_failures(row: dict) -> str:
    """`` (learner X failed: <error>)`` for each learner of the row's round log that failed, else ``""``.

    Tells a weak row (every learner ran, the scores are low) from a crashed
    one (a learner raised). ``row["learners"]`` is the round log's summary
    (``None`` or absent when the run wrote no log); missing keys are fine.
    """
    flags = []
    for learner in row.get("learners") or ():
        if not isinstance(learner, dict) or not learner.get("failed"):
            continue
        error = " ".join(str(learner.get("error") or "unknown error").split())
        if len(error) > ERROR_CHARS:
            error = error[: ERROR_CHARS - 3] + "..."
        flags.append(f" (learner {learner.get('name', '?')} failed: {error})")
    return "".join(flags).replace("|", "/")  # a pipe would split the markdown cell


def _code(m: dict) -> str:
    """``commit abc`` (`` with uncommitted changes`` when dirty), or the version of an installed package."""
    if m.get("installed_package"):
        return f"installed package autodl_solver {m['installed_package']} (no git commit)"
    text = f"commit {m.get('git_commit') or '?'}"
    if m.get("git_dirty"):
        text += " with uncommitted changes"
    return text


def _dirty_rows(rows: Sequence[dict]) -> list[str]:
    """A report line naming the rows run on a checkout with uncommitted changes, if any."""
    dirty = [f"{r['dataset']} / {r['method']}" + (" (--allow-dirty)" if r.get("allow_dirty") else "")
             for r in rows if r.get("git_dirty", (r.get("machine") or {}).get("git_dirty"))]
    if not dirty:
        return []
    return [f"Run on a checkout with uncommitted changes: {', '.join(dirty)}  "]


def _pinning(m: dict) -> str:
    used = m.get("cpus_used")
    if not used or len(used) == m.get("cores"):
        return ""
    caps = ", ".join(f"{k}={v}" for k, v in (m.get("thread_caps") or {}).items())
    return f" (runs pinned to CPU {','.join(map(str, used))}" + (f", {caps}" if caps else "") + ")"


def markdown_table(record: dict) -> str:
    """A markdown report: per-dataset rows, per-method means and average rank by ALC."""
    rows = record["results"]
    methods = list(dict.fromkeys(r["method"] for r in rows))
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    by = {(r["dataset"], r["method"]): r for r in rows}
    m = record["machine"]
    lines = [
        f"# {record['benchmark']}",
        "",
        f"Command: `{record['command']}`  ",
        f"Machine: {m['cpu']}, {m['cores']} cores{_pinning(m)}, {m['memory_gib']} GiB, GPU: {m['gpu'] or 'none'}; "
        f"Python {m['python']}; {', '.join(f'{k} {v}' for k, v in m['versions'].items())}; "
        f"{_code(m)}; {m['date']}  ",
        *([f"Code per method (runs done in parts): "
           f"{'; '.join(f'{k} {chr(44).join(v)}' for k, v in record['commits'].items())}  "]
          if len({c for v in (record.get("commits") or {}).values() for c in v}) > 1 else []),
        *_dirty_rows(rows),
        f"Time budget T = {record['time_budget']:g} s per run, through ingestion + scoring (t0 = 60 s).",
        "",
        "| dataset | method | ALC | final NAUC | first prediction (s) | predictions | ALC / final NAUC |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in datasets:
        for meth in methods:
            r = by.get((d, meth))
            if r is None:
                continue
            ratio = r["alc"] / r["final_nauc"] if r["final_nauc"] > 0 else float("nan")
            lines.append(f"| {d} | {meth}{learner_failures(r)} | {r['alc']:.4f} | {r['final_nauc']:.4f} | "
                         f"{r['first_prediction_s']:.2f} | {r['n_predictions']} | {ratio:.3f} |")
    ranks = average_ranks(rows)  # ties share the mean rank, as in the suite report
    lines += ["", "| method | mean ALC | mean final NAUC | mean first prediction (s) | average rank |",
              "|---|---|---|---|---|"]
    for meth in methods:
        rs = [by[(d, meth)] for d in datasets if (d, meth) in by]
        lines.append(f"| {meth} | {np.mean([r['alc'] for r in rs]):.4f} | "
                     f"{np.mean([r['final_nauc'] for r in rs]):.4f} | "
                     f"{np.mean([r['first_prediction_s'] for r in rs]):.2f} | {ranks[meth]:.2f} |")
    return "\n".join(lines) + "\n"


def plot_dataset_curves(dataset: str, rows: dict, time_budget: float, path: Path) -> None:
    """All methods' learning curves of one dataset on one figure."""
    from autodl_solver.challenge.learning_curve import LearningCurve
    from autodl_solver.challenge.plots import plot_learning_curves

    curves = {meth: LearningCurve(timestamps=r["timestamps"], scores=r["nauc_scores"], time_budget=time_budget)
              for meth, r in rows.items()}
    plot_learning_curves(curves, path, title=dataset)


# ------------------------------------------------------------------- suite reports
def average_ranks(rows: Sequence[dict]) -> dict[str, float]:
    """The challenge's average rank of each method: rank by ALC per dataset, then average over datasets.

    On each dataset the methods that ran on it are ranked by ALC (1 = best);
    tied ALCs share the mean of the ranks they span (two methods tied for
    first both get 1.5). A method's average is over the datasets it ran on.

    Parameters
    ----------
    rows : sequence of dict
        Benchmark rows with ``dataset``, ``method`` and ``alc``.

    Returns
    -------
    dict
        ``{method: average rank}`` in the order methods first appear in ``rows``.
    """
    per_dataset: dict[str, dict[str, float]] = {}
    for r in rows:
        per_dataset.setdefault(r["dataset"], {})[r["method"]] = float(r["alc"])
    ranks: dict[str, list[float]] = {r["method"]: [] for r in rows}
    for scores in per_dataset.values():
        ordered = sorted(scores.values(), reverse=True)
        for method, alc in scores.items():
            first = ordered.index(alc) + 1          # best rank this ALC could take
            ties = ordered.count(alc)
            ranks[method].append(first + (ties - 1) / 2.0)
    return {m: float(np.mean(v)) for m, v in ranks.items() if v}


def _machine_line(m: dict) -> str:
    return (f"Machine: {m['cpu']}, {m['cores']} cores{_pinning(m)}, {m['memory_gib']} GiB, GPU: {m['gpu'] or 'none'}; "
            f"Python {m['python']}; {', '.join(f'{k} {v}' for k, v in m['versions'].items())}; "
            f"{_code(m)}; {m['date']}  ")


def suite_markdown(record: dict) -> str:
    """The benchmark-suite report: ALC matrix, per-run details, per-method averages and ranks, notes.

    Parameters
    ----------
    record : dict
        ``benchmark`` (tag), ``suite``, ``command``, ``time_budget``,
        ``machine``, ``results`` (rows), optionally ``commits``
        (``{method: [commit, ...]}``), ``skipped`` and ``failed`` (note
        strings) and ``wall_s``.
    """
    rows = record["results"]
    methods = list(dict.fromkeys(r["method"] for r in rows))
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    by = {(r["dataset"], r["method"]): r for r in rows}
    domains = {r["dataset"]: r.get("domain", "") for r in rows}
    lines = [f"# Benchmark suite `{record.get('suite', record['benchmark'])}` ({record['benchmark']})", "",
             f"Command: `{record['command']}`  "]
    if record.get("machine"):
        lines.append(_machine_line(record["machine"]))
    commits = record.get("commits") or {}
    if len({c for v in commits.values() for c in v}) > 1:
        lines.append("Code per method (runs done in parts): "
                     + "; ".join(f"{k} {','.join(v)}" for k, v in commits.items()) + "  ")
    lines += _dirty_rows(rows)
    lines.append(f"Time budget T = {record['time_budget']:g} s per run, through the project's ingestion + scoring "
                 "(t0 = 60 s)" + (f"; suite wall time {record['wall_s'] / 60:.1f} min." if record.get("wall_s")
                                  else "."))
    if not rows:
        lines += ["", "No runs to report."]
    else:
        lines += ["", "ALC per dataset (rows) and method (columns); `-`: not applicable or not run.", "",
                  "| dataset | domain | " + " | ".join(methods) + " |",
                  "|---|---|" + "---|" * len(methods)]
        for d in datasets:
            best = max(by[(d, m)]["alc"] for m in methods if (d, m) in by)
            cells = []
            for m in methods:
                r = by.get((d, m))
                cell = "-" if r is None else f"{r['alc']:.4f}"
                cells.append(f"**{cell}**" if r is not None and r["alc"] == best else cell)
            lines.append(f"| {d} | {domains[d]} | " + " | ".join(cells) + " |")
        ranks = average_ranks(rows)
        lines += ["", "| method | datasets | mean ALC | mean final NAUC | mean first prediction (s) | average rank |",
                  "|---|---|---|---|---|---|"]
        for m in methods:
            rs = [by[(d, m)] for d in datasets if (d, m) in by]
            lines.append(f"| {m} | {len(rs)} | {np.mean([r['alc'] for r in rs]):.4f} | "
                         f"{np.mean([r['final_nauc'] for r in rs]):.4f} | "
                         f"{np.nanmean([r['first_prediction_s'] for r in rs]):.2f} | {ranks[m]:.2f} |")
        lines += ["", "Average rank: methods ranked by ALC on each dataset among those that ran on it "
                      "(ties share the mean rank), averaged over the method's datasets.", "",
                  "| dataset | method | ALC | final NAUC | first prediction (s) | predictions |",
                  "|---|---|---|---|---|---|"]
        for d in datasets:
            for m in methods:
                r = by.get((d, m))
                if r is not None:
                    flag = ""
                    if not r["n_predictions"]:
                        flag = " (no prediction within T)"
                    elif not r.get("ingestion_success", True) and not r.get("killed", True):
                        flag = " (ingestion failed)"
                    flag += learner_failures(r)
                    lines.append(f"| {d} | {m}{flag} | {r['alc']:.4f} | {r['final_nauc']:.4f} | "
                                 f"{r['first_prediction_s']:.2f} | {r['n_predictions']} |")
    for title, key in (("Skipped", "skipped"), ("Failed", "failed")):
        if record.get(key):
            lines += ["", f"{title}:", ""] + [f"- {note}" for note in record[key]]
    return "\n".join(lines) + "\n"
