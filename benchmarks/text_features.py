"""Which TF-IDF features should ``text_linear`` use? Word n-grams vs word + character n-grams.

Each variant vectorises the whole training set of a text benchmark dataset
(documents rebuilt through the metadata vocabulary, as the learner does),
fits scikit-learn's logistic regression (C = 4, the learner's default) and
scores the test set with the official NAUC. No engine and no budget: this
compares features, the protocol numbers come from ``benchmarks/run_text.py``.

Usage::

    .venv/bin/python -m benchmarks.text_features
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from autodl_solver.bench import text_datasets
from autodl_solver.bench.machine import machine_info
from autodl_solver.bench.protocol_runner import RESULTS, WORK

WORD = dict(analyzer="word", ngram_range=(1, 2), max_features=20000, token_pattern=r"(?u)\b\w+\b")
CHAR_WB = dict(analyzer="char_wb", ngram_range=(2, 4), max_features=50000)

#: Variant name -> the vectorisers whose columns are stacked.
VARIANTS = {
    "word 1-2 (20k)": [WORD],
    "char_wb 2-4 (50k)": [CHAR_WB],
    "word 1-2 + char_wb 2-4": [WORD, CHAR_WB],
}


def load(name: str):
    """``(train docs, train labels, test docs, test solution)`` of a built text dataset."""
    from autodl_solver.data.reader import load_dataset
    from autodl_solver.domains.text.text_vocab import build_table, documents, is_chinese

    path = text_datasets.build(name, WORK / "data")
    if path is None:
        return None
    data = load_dataset(path)
    table = build_table(data.metadata)
    chinese = is_chinese(table)
    xs, y = data.train.take(0, len(data.train))
    xt, _ = data.test.take(0, len(data.test))
    return (documents(xs, table, chinese=chinese, max_tokens=1000), np.asarray(y),
            documents(xt, table, chinese=chinese, max_tokens=1000), data.solution)


def score(train, y, test, solution, specs) -> tuple[float, float]:
    """Test NAUC and seconds (vectorise + fit + predict) of one variant."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from autodl_solver.challenge.scoring import nauc

    tic = time.perf_counter()
    vecs = [TfidfVectorizer(sublinear_tf=True, **spec) for spec in specs]
    x_train = hstack([v.fit_transform(train) for v in vecs]).tocsr()
    x_test = hstack([v.transform(test) for v in vecs]).tocsr()
    model = LogisticRegression(C=4.0, max_iter=500).fit(x_train, y.argmax(1))
    pred = np.zeros((len(test), y.shape[1]))
    pred[:, model.classes_] = model.predict_proba(x_test)
    return nauc(solution, pred), time.perf_counter() - tic


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="+", default=list(text_datasets.ALL), choices=text_datasets.ALL)
    args = p.parse_args(argv)
    info = machine_info()
    lines = ["# TF-IDF features for text_linear: test NAUC of logistic regression on all training documents", "",
             f"Command: `python -m benchmarks.text_features {' '.join(sys.argv[1:] if argv is None else argv)}`  ",
             f"Machine: {info['cpu']}, CPUs used {info['cpus_used']}, thread caps {info['thread_caps']}; "
             f"commit {info['git_commit']}; {info['date']}", "",
             "| dataset | features | test NAUC | seconds |", "|---|---|---|---|"]
    for name in args.datasets:
        loaded = load(name)
        if loaded is None:
            continue
        for label, specs in VARIANTS.items():
            value, seconds = score(*loaded, specs)
            lines.append(f"| {name} | {label} | {value:.4f} | {seconds:.1f} |")
            print(lines[-1], flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "text_features.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
