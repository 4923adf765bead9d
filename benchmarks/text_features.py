"""Which TF-IDF features and which linear model should ``text_linear`` use?

Features (the default mode, ``text_features.md``): each variant vectorises
the whole training set of a text benchmark dataset (documents rebuilt through
the metadata vocabulary, as the learner does), fits scikit-learn's logistic
regression (C = 4) and scores the test set with the official NAUC.

Models (``--models``, ``text_solver.md``): word 1-2-grams + ``char_wb``
2-4-grams on the first 1000 and on all training documents, fitted by
L-BFGS logistic regression (C = 4, the learner's earlier default) or by a
linear SVM (``LinearSVC``, one hinge model per class) whose margins times
a scale go through a softmax, as ``LinearConfig.solver = "linear_svm"``
does; the fit seconds are the model's alone (the vectorising is the same).

No engine and no budget: the protocol numbers come from ``benchmarks/run_text.py``.

Usage::

    .venv/bin/python -m benchmarks.text_features
    .venv/bin/python -m benchmarks.text_features --models
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from autodl_solver.bench import text_datasets
from autodl_solver.bench.machine import machine_info
from autodl_solver.bench.protocol_runner import RESULTS, WORK
from autodl_solver.utils.atomic import atomic_write_text

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


#: Model name -> (kind, C, margin scale) of the ``--models`` comparison.
MODELS = {"logistic C=4 (L-BFGS)": ("lbfgs", 4.0, 1.0)}
MODELS.update({f"linear SVM C={c:g}, scale {a:g}": ("linear_svm", c, a) for c in (0.1, 0.3, 1.0) for a in (1.0, 3.0)})


def features(train, test):
    """Word + ``char_wb`` TF-IDF matrices of the training and test documents (fitted on the training ones)."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    vecs = [TfidfVectorizer(sublinear_tf=True, **spec) for spec in (WORD, CHAR_WB)]
    x_train = hstack([v.fit_transform(train) for v in vecs]).tocsr()
    return x_train, hstack([v.transform(test) for v in vecs]).tocsr()


def score_model(x_train, y, x_test, solution, kind: str, c: float, scale: float) -> tuple[float, float]:
    """Test NAUC and fit seconds of one model on the :func:`features` matrices."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    from autodl_solver.challenge.scoring import nauc

    labels = y.argmax(1)
    tic = time.perf_counter()
    if kind == "lbfgs":
        model = LogisticRegression(C=c, max_iter=200).fit(x_train, labels)
        seconds = time.perf_counter() - tic
        proba = model.predict_proba(x_test)
    else:
        model = LinearSVC(C=c, max_iter=1000, random_state=0).fit(x_train, labels)
        seconds = time.perf_counter() - tic
        margin = model.decision_function(x_test)
        logits = scale * (np.stack([np.zeros_like(margin), margin], 1) if margin.ndim == 1 else margin)
        proba = np.exp(logits - logits.max(1, keepdims=True))
        proba /= proba.sum(1, keepdims=True)
    pred = np.zeros((x_test.shape[0], y.shape[1]))
    pred[:, model.classes_] = proba
    return nauc(solution, pred), seconds


def compare_models(datasets, lines: list) -> None:
    """The ``--models`` table rows (see the module docstring)."""
    lines += ["| dataset | training documents | model | test NAUC | fit seconds |", "|---|---|---|---|---|"]
    for name in datasets:
        loaded = load(name)
        if loaded is None:
            continue
        train, y, test, solution = loaded
        for rows in (1000, len(train)):
            x_train, x_test = features(train[:rows], test)  # the same matrices for every model
            for label, (kind, c, scale) in MODELS.items():
                value, seconds = score_model(x_train, y[:rows], x_test, solution, kind, c, scale)
                lines.append(f"| {name} | {rows} | {label} | {value:.4f} | {seconds:.2f} |")
                print(lines[-1], flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="+", default=list(text_datasets.ALL), choices=text_datasets.ALL)
    p.add_argument("--models", action="store_true", help="compare the linear models (writes text_solver.md)")
    args = p.parse_args(argv)
    info = machine_info()
    title = ("# Linear models for text_linear: test NAUC and fit seconds on word + char_wb TF-IDF" if args.models
             else "# TF-IDF features for text_linear: test NAUC of logistic regression on all training documents")
    lines = [title, "",
             f"Command: `python -m benchmarks.text_features {' '.join(sys.argv[1:] if argv is None else argv)}`  ",
             f"Machine: {info['cpu']}, CPUs used {info['cpus_used']}, thread caps {info['thread_caps']}; "
             f"commit {info['git_commit']}, dirty {info.get('git_dirty')}; {info['date']}", ""]
    if args.models:
        compare_models(args.datasets, lines)
        RESULTS.mkdir(parents=True, exist_ok=True)
        atomic_write_text(RESULTS / "text_solver.md", "\n".join(lines) + "\n")
        return 0
    lines += ["| dataset | features | test NAUC | seconds |", "|---|---|---|---|"]
    for name in args.datasets:
        loaded = load(name)
        if loaded is None:
            continue
        for label, specs in VARIANTS.items():
            value, seconds = score(*loaded, specs)
            lines.append(f"| {name} | {label} | {value:.4f} | {seconds:.1f} |")
            print(lines[-1], flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / "text_features.md", "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
