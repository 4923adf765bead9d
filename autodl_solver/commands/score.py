"""``autodl-solver score``: the AutoDL 2019 scoring program.

Scores the predictions of an ingestion run against the solution and writes
``scores.txt``, ``learning-curve-<task>.png`` and ``detailed_results.html``
to ``--score_dir``. By default it scores a finished run; ``--wait`` runs the
official live loop beside a running ingestion (until ``end.txt`` or the time
budget).
"""
from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    """Add the ``score`` sub-command."""
    parser = subparsers.add_parser(
        "score",
        help="score an ingestion run (NAUC per prediction, ALC), as the AutoDL 2019 scorer",
        description=__doc__.split("\n\n")[1],
    )
    parser.add_argument("--solution_dir", required=True, help="folder holding exactly one <task>.solution")
    parser.add_argument("--prediction_dir", required=True,
                        help="ingestion output: start.txt, <task>.predict_<k>, end.txt")
    parser.add_argument("--score_dir", required=True, help="where scores.txt, the PNG and the HTML page go")
    parser.add_argument("--wait", action="store_true",
                        help="score live beside a running ingestion (wait for start.txt, poll until end.txt or T)")
    parser.add_argument("--poll_interval", type=float, default=1.0, help="seconds between polls with --wait (1)")
    parser.add_argument("--wait_start_s", type=float, default=1800.0,
                        help="seconds to wait for start.txt with --wait (1800)")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run the scorer and print one line per prediction, then the ALC."""
    from ..challenge.score_program import run_scoring

    result = run_scoring(
        args.solution_dir,
        args.prediction_dir,
        args.score_dir,
        poll_interval=args.poll_interval,
        wait_start_s=args.wait_start_s,
        final_only=not args.wait,
    )
    accuracy = result["accuracy"]
    print(f"task: {result['task_name']}  predictions: {result['num_predictions']}  "
          f"time budget: {result['time_budget']:g} s")
    for i, (t, s) in enumerate(zip(result["timestamps"], result["nauc_scores"])):
        line = f"prediction {i}: t={t:.2f} s  NAUC={s:.4f}"
        if accuracy is not None:
            line += f"  accuracy={accuracy[i]:.4f}"
        print(line)
    print(f"ALC: {result['score']:.4f}")
    if result["time_limit_exceeded"]:
        print("warning: ingestion exceeded the time budget; predictions made so far were scored", file=sys.stderr)
    if result["ingestion_success"] == 0:
        print("warning: ingestion reported a failure (ingestion_success: 0)", file=sys.stderr)
    print(f"wrote {result['score_dir']}/scores.txt")
    return 0
