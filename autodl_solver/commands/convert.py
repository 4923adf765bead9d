"""``autodl-solver convert KIND SRC OUT``: raw data -> AutoDL dataset.

Writes ``OUT/<name>/`` (``<name>.data/{train,test}``, ``<name>.solution``,
``<name>_label.name``) and prints one summary line: name, inferred domain,
tensor shape, train/test counts and number of classes.
"""
from __future__ import annotations

import argparse
import sys
import warnings

from ..errors import AutoDLInputError

#: Options each kind accepts (beyond SRC, OUT and --name).
_OPTIONS = {
    "arrays": {"test_size", "seed", "overwrite"},
    "images": {"num_channels", "test_size", "seed", "overwrite"},
    "video": {"num_channels", "test_size", "seed", "overwrite"},
    "speech": {"sample_rate", "test_size", "seed", "overwrite"},
    "text": {"language", "test_size", "seed", "overwrite"},
    "autonlp": {"language", "overwrite"},
    "tabular": {"label_column", "categorical", "test_size", "seed", "overwrite"},
    "automl": {"overwrite"},
}

_KINDS_HELP = """kinds:
  arrays   a .npz with x, y (optional x_test, y_test)
  images   image files + labels.csv (FileName,Labels[,subset]) or class sub-folders
  video    video files or frame folders + labels.csv, or class sub-folders
  speech   .wav files + labels.csv, or class sub-folders (resampled to 16 kHz mono)
  text     .txt files (one document each) + labels.csv, or class sub-folders
  autonlp  an AutoNLP folder X (X.data/{meta.json,train.data,test.data,train.solution}, X.solution)
  tabular  a CSV file with a header and a label column
  automl   an AutoML folder (X_train.data, X_train.solution, X_test.data, X_test.solution ...)"""


def register(subparsers) -> None:
    """Add the ``convert`` parser."""
    parser = subparsers.add_parser(
        "convert", help="convert raw data (arrays, images, video, speech, text, tables) to the AutoDL format",
        description="Convert a raw source into an AutoDL dataset written to OUT/NAME.",
        epilog=_KINDS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=sorted(_OPTIONS), help="what SRC holds (see below)")
    parser.add_argument("src", help="the source file or folder")
    parser.add_argument("out", help="folder that will hold the dataset folder NAME")
    parser.add_argument("--name", default=None, help="dataset name (default: from SRC)")
    parser.add_argument("--test-size", type=float, default=None,
                        help="test fraction when SRC has no split (default 0.2)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the train/test split (default 42)")
    parser.add_argument("--num-channels", type=int, default=None, help="images/video: 3 = RGB (default), 1 = grayscale")
    parser.add_argument("--label-column", default=None, help="tabular: label column name or index (default: last)")
    parser.add_argument("--categorical", choices=("onehot", "ordinal"), default=None,
                        help="tabular: encoding of string columns (default onehot)")
    parser.add_argument("--language", default=None,
                        help="text/autonlp: EN or ZH (CH accepted; default: detected / meta.json)")
    parser.add_argument("--sample-rate", type=int, default=None, help="speech: target rate in Hz (default 16000)")
    parser.add_argument("--overwrite", action="store_true", default=None, help="replace OUT/NAME if it exists")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run the conversion and print its summary line."""
    from ..data.converters import convert

    accepted = _OPTIONS[args.kind]
    options = {}
    for key in ("test_size", "seed", "num_channels", "label_column", "categorical", "language",
                "sample_rate", "overwrite"):
        value = getattr(args, key, None)
        if value is None:
            continue
        if key not in accepted:
            flag = "--" + key.replace("_", "-")
            raise AutoDLInputError(flag, f"does not apply to 'convert {args.kind}'")
        options[key] = value
    with warnings.catch_warnings(record=True) as caught:
        # Converter warnings (encoding fallbacks, ignored files ...) become
        # "warning: ..." lines instead of Python's file:line format.
        warnings.simplefilter("always")
        result = convert(args.kind, args.src, args.out, args.name, **options)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    print(result.summary())
    return 0
