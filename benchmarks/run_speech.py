"""Issue-6 speech benchmark: the solver vs the seed's AutoSpeech baseline.

Datasets (``autodl_solver/bench/speech_datasets.py``): clips synthesised offline with
espeak-ng and resampled to 16 kHz — ``spoken_words`` (ten digit words, random
English voices, variants, speeds and pitches) and ``voice_variant`` (male /
female / aged voice variants saying random words). They are built once under
``benchmarks/work/data`` (about 20 s each) and skipped when espeak-ng is not
installed. Every number goes through the project's own ingestion + scoring:
ALC, final NAUC and time to the first prediction.

Usage::

    .venv/bin/python -m benchmarks.run_speech --time_budget 300
    .venv/bin/python -m benchmarks.run_speech --time_budget 300 --methods solver --merge   # add to earlier runs
    .venv/bin/python -m benchmarks.run_speech --time_budget 300 --report                  # only rebuild the report
    .venv/bin/python -m benchmarks.run_speech --time_budget 30 --methods baseline1 --tag smoke  # smoke run
"""
from __future__ import annotations

import argparse
import sys

from autodl_solver.bench import speech_datasets
from autodl_solver.bench.protocol_runner import ALLOW_DIRTY_HELP, require_clean_tree, run_tasks


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--time_budget", type=float, default=300.0)
    p.add_argument("--datasets", nargs="+", default=list(speech_datasets.ALL), choices=speech_datasets.ALL)
    p.add_argument("--methods", nargs="+", default=["solver", "autospeech_baseline"])
    p.add_argument("--tag", default=None, help="result file stem (default speech_T<budget>)")
    p.add_argument("--merge", action="store_true", help="also report earlier runs of this tag (other methods)")
    p.add_argument("--report", action="store_true", help="run nothing; rebuild the report from the kept runs")
    p.add_argument("--allow-dirty", dest="allow_dirty", action="store_true", help=ALLOW_DIRTY_HELP)
    args = p.parse_args(argv)
    if not args.report:
        require_clean_tree(args.allow_dirty)  # exits 2 with one line on a checkout with uncommitted changes
    tag = args.tag or f"speech_T{int(args.time_budget)}"
    command = "python -m benchmarks.run_speech " + " ".join(sys.argv[1:] if argv is None else argv)
    run_tasks(tag, args.datasets, args.methods, args.time_budget, speech_datasets.build, command.strip(),
              merge=args.merge, run=not args.report, allow_dirty=args.allow_dirty)
    return 0


if __name__ == "__main__":
    sys.exit(main())
