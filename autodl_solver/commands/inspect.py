"""``autodl-solver inspect``: the facts of an AutoDL dataset, without decoding its images.

Reads both metadata files, the record index and the label contexts, then
checks every record once (CRC, parse, DENSE/SPARSE shape against the
metadata, record counts against ``sample_count``; no image is decoded, so it
stays fast on large datasets) and prints the domain, tensor shape, class
counts, format and vocabulary size, as text or as one JSON object
(``--json``). ``--verify`` also decodes every image and lists every problem
with its file and record number (exit status 2 when there is any).
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers) -> None:
    """Add the ``inspect`` sub-command."""
    parser = subparsers.add_parser(
        "inspect",
        help="print the domain, shape, sizes and class counts of an AutoDL dataset",
        description=__doc__.split("\n\n")[1],
    )
    parser.add_argument("dataset", metavar="DATASET",
                        help="dataset folder holding one X.data (with X.solution beside it), or X.data itself")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--verify", action="store_true",
                        help="read and decode every record (CRC, images, shape against the metadata, counts) "
                             "and list each problem with its file and record number; exit 2 when any")
    parser.set_defaults(func=main)


def describe(path) -> dict[str, Any]:
    """The facts ``inspect`` prints, as a JSON-ready dict.

    Keys: ``name``, ``path``, ``domain``, ``tensor_shape`` (-1 = variable),
    ``output_dim``, ``train_count``, ``test_count``, ``multilabel`` (from the
    train labels; ``None`` when train has none), ``format``,
    ``vocabulary_size``, ``label_names``, ``class_frequencies``
    (``{"train": [...], "test": [...] or None}``, test from the solution),
    ``has_solution``, ``metadata_sample_count`` (train/test).
    """
    from ..data.labels import class_frequencies, is_multilabel
    from ..data.reader import load_dataset
    from ..domains.inference import infer_domain

    data = load_dataset(path)
    meta = data.train.metadata
    train_labels = data.train.labels()  # context features only
    return {
        "name": data.name,
        "path": str(data.data_dir),
        "domain": infer_domain(meta),
        "tensor_shape": [int(d) for d in meta.tensor_shape],
        "output_dim": int(meta.output_dim),
        "train_count": len(data.train),
        "test_count": len(data.test),
        "multilabel": None if train_labels is None else is_multilabel(train_labels),
        "format": meta.format,
        "vocabulary_size": len(meta.channel_to_index),
        "label_names": data.label_names,
        "class_frequencies": {
            "train": None if train_labels is None else class_frequencies(train_labels).tolist(),
            "test": None if data.solution is None else class_frequencies(data.solution).tolist(),
        },
        "has_solution": data.solution is not None,
        "metadata_sample_count": {"train": int(meta.sample_count), "test": int(data.test.metadata.sample_count)},
    }


def _text(facts: dict[str, Any]) -> str:
    shape = "(" + ", ".join("?" if d == -1 else str(d) for d in facts["tensor_shape"]) + ")"
    multilabel = {None: "unknown (no train labels)", True: "yes", False: "no (one label per example)"}
    lines = [
        f"dataset:      {facts['name']}  ({facts['path']})",
        f"domain:       {facts['domain']}",
        f"tensor shape: {shape}  (time, row, col, channel; ? = variable)",
        f"format:       {facts['format']}",
        f"classes:      {facts['output_dim']}  multi-label: {multilabel[facts['multilabel']]}",
        f"examples:     {facts['train_count']} train, {facts['test_count']} test"
        + ("" if facts["has_solution"] else "  (no solution file)"),
    ]
    if facts["vocabulary_size"]:
        lines.append(f"vocabulary:   {facts['vocabulary_size']} tokens")
    names = facts["label_names"] or [str(i) for i in range(facts["output_dim"])]
    freq = facts["class_frequencies"]
    width = max(len(n) for n in names)
    lines.append(f"class frequencies ({'train' if freq['train'] is not None else 'no train labels'}"
                 f"{', test' if freq['test'] is not None else ''}):")
    for k, label in enumerate(names):
        row = f"  {k:>3} {label:<{width}}"
        if freq["train"] is not None:
            row += f"  {freq['train'][k]:>6}"
        if freq["test"] is not None:
            row += f"  {freq['test'][k]:>6}"
        lines.append(row)
    return "\n".join(lines)


def _problem_json(problem) -> dict[str, Any]:
    return {"file": str(problem.path), "record": problem.record, "message": problem.message}


def _verify(args: argparse.Namespace) -> int:
    """``inspect --verify``: every problem of the dataset, then the facts when it is sound."""
    from ..data.verify import verify_dataset
    from ..errors import AutoDLInputError

    report = verify_dataset(args.dataset, decode_images=True)
    facts = None
    if report.ok:
        facts = describe(args.dataset)
    elif not args.json:
        try:  # the facts still help when only some records are bad
            facts = describe(args.dataset)
        except AutoDLInputError:
            facts = None
    total = len(report.problems) + report.omitted
    if args.json:
        out = dict(facts or {"path": str(report.data_dir), "name": report.name})
        out["verified"] = report.ok
        out["record_counts"] = report.counts
        out["problems"] = [_problem_json(p) for p in report.problems]
        out["problems_omitted"] = report.omitted
        print(json.dumps(out, ensure_ascii=False))
    else:
        if facts is not None:
            print(_text(facts))
        counts = ", ".join(f"{n} {subset}" for subset, n in report.counts.items())
        if report.ok:
            print(f"verified:     every record reads, decodes and matches the metadata ({counts})")
        for problem in report.problems:
            print(f"problem: {problem}")
        if report.omitted:
            print(f"problem: ... and {report.omitted} more (at most 20 listed per file)")
    if report.ok:
        return 0
    print(f"error: {report.data_dir}: {total} problem{'s' * (total != 1)} found "
          f"(first: {report.problems[0]})", file=sys.stderr)
    return 2


def main(args: argparse.Namespace) -> int:
    """Print the facts of ``args.dataset`` (``--verify``: check every record first)."""
    from ..data.verify import verify_dataset

    if args.verify:
        return _verify(args)
    # One pass over every record without decoding images: CRC, parse, counts, DENSE shape, image sizes.
    verify_dataset(args.dataset, decode_images=False, first_only=True).raise_first()
    facts = describe(args.dataset)
    print(json.dumps(facts, ensure_ascii=False) if args.json else _text(facts))
    return 0
