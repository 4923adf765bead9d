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

import sys
from typing import Optional, Sequence

from autodl_solver.bench import speech_datasets
from autodl_solver.bench.protocol_runner import table_main


def main(argv: Optional[Sequence[str]] = None) -> int:
    return table_main("run_speech", __doc__, datasets=speech_datasets.ALL, methods=["solver", "autospeech_baseline"],
                      time_budget=300.0, build=speech_datasets.build, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
