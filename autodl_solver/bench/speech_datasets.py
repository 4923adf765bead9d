"""Speech datasets synthesised offline with espeak-ng, in AutoDL format.

No real speech corpus is available offline (``docs/environment.md`` §3), so
clips are synthesised with the ``espeak-ng`` command line program (Debian
package ``espeak-ng``; 22.05 kHz 16-bit mono WAV), one subprocess per clip:
``espeak-ng -v <voice>+<variant> -s <speed> -p <pitch> -w out.wav "<text>"``.

* ``spoken_words``: spoken-word identification. The ten digit words
  ``zero`` … ``nine`` (10 classes, balanced) said by a random English voice
  (accent), a random voice variant among all :data:`VARIANTS`, speed 120-220
  words per minute and pitch 20-80. 1200 clips.
* ``voice_variant``: speaker-type identification. Random phrases of one to
  three words from :data:`PHRASE_WORDS`, said by a variant of one of three
  groups (:data:`VARIANT_GROUPS`: adult male ``m2``-``m7``, adult female
  ``f2``-``f5``, aged ``m1``/``f1``/``croak``/``grandma``/``grandpa`` — the
  ages espeak-ng lists are 70 and 90), with the same random voice, speed
  (120-220) and a narrower pitch range (30-70) so that pitch alone does not
  give the class away. 1000 clips, balanced.

Every random choice comes from ``numpy.random.default_rng(seed)``, and
espeak-ng is deterministic, so a rebuild is byte-identical. The WAV files go
to a temporary folder with a ``labels.csv`` and a ``label.name``; the
project's own :func:`~autodl_solver.data.converters.from_audio_folder` then
resamples them to 16 kHz mono (soxr), makes the seeded stratified 70/30
split and writes the dataset (``metadata.sample_rate = 16000``); the WAV
folder is deleted afterwards.

Synthesis runs two espeak-ng processes at a time (``workers``), only while a
dataset is built; a built dataset is reused. On one core of this machine
(``taskset -c 1``) building ``spoken_words`` took 20 s (136 MB: the DENSE
format stores one record entry per sample) and ``voice_variant`` 13 s
(178 MB).
:func:`build` returns ``None`` with a message on stderr when espeak-ng is not
installed, so a benchmark skips the speech tasks cleanly.
"""
from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from autodl_solver.errors import AutoDLInputError

ESPEAK = "espeak-ng"
#: Rate the datasets are stored at.
SAMPLE_RATE = 16000

#: English voices (accents) of espeak-ng 1.51; mbrola voices are listed but need mbrola, which is absent.
ENGLISH_VOICES = ("en", "en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd",
                  "en-029", "en-us-nyc")

#: Voice-variant groups of ``voice_variant`` (espeak-ng ``!v/<file>`` names, used as ``-v en+<file>``).
VARIANT_GROUPS: dict[str, tuple[str, ...]] = {
    "male": ("m2", "m3", "m4", "m5", "m6", "m7"),
    "female": ("f2", "f3", "f4", "f5"),
    "aged": ("m1", "f1", "croak", "grandma", "grandpa"),
}
#: Variants ``spoken_words`` draws from: the groups above plus some named ones, and no variant at all ("").
VARIANTS = ("",) + tuple(v for group in VARIANT_GROUPS.values() for v in group) + (
    "m8", "klatt", "klatt2", "klatt3", "Alex", "Andrea", "Annie", "linda", "belinda", "david", "john", "max",
    "paul", "robert", "steph", "whisper", "whisperf")

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
PHRASE_WORDS = ("apple", "river", "yellow", "window", "garden", "music", "table", "morning", "silver", "paper",
                "orange", "winter", "summer", "coffee", "doctor", "letter", "monkey", "pencil", "rocket", "basket",
                "button", "candle", "dinner", "forest", "guitar", "island", "jacket", "kitten", "market", "number")


@dataclass(frozen=True)
class Clip:
    """One utterance to synthesise: its text, voice, variant (``""``: none), speed, pitch and class."""

    text: str
    voice: str
    variant: str
    speed: int
    pitch: int
    label: int

    def command(self, out: Path) -> list[str]:
        """The espeak-ng command line writing this clip to ``out``."""
        voice = f"{self.voice}+{self.variant}" if self.variant else self.voice
        return [ESPEAK, "-v", voice, "-s", str(self.speed), "-p", str(self.pitch), "-w", str(out), self.text]


def espeak_available() -> bool:
    """Whether the ``espeak-ng`` program is on the PATH."""
    return shutil.which(ESPEAK) is not None


def installed_variants() -> set[str]:
    """Variant file names espeak-ng lists (``espeak-ng --voices=variant``, column File without ``!v/``)."""
    out = subprocess.run([ESPEAK, "--voices=variant"], capture_output=True, text=True, check=True).stdout
    names = set()
    for line in out.splitlines()[1:]:
        for field in line.split():
            if field.startswith("!v/"):
                names.add(field[3:])
    return names


# ------------------------------------------------------------------- clip plans
def _balanced_labels(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    return rng.permutation(np.arange(n) % k)


def spoken_words_clips(n: int = 1200, seed: int = 0) -> tuple[list[Clip], list[str]]:
    """The clips of ``spoken_words`` (see the module docstring) and the class names."""
    rng = np.random.default_rng(seed)
    labels = _balanced_labels(n, len(DIGIT_WORDS), rng)
    clips = [Clip(DIGIT_WORDS[c], str(rng.choice(ENGLISH_VOICES)), str(rng.choice(VARIANTS)),
                  int(rng.integers(120, 221)), int(rng.integers(20, 81)), int(c)) for c in labels]
    return clips, list(DIGIT_WORDS)


def voice_variant_clips(n: int = 1000, seed: int = 0) -> tuple[list[Clip], list[str]]:
    """The clips of ``voice_variant`` (see the module docstring) and the class names."""
    rng = np.random.default_rng(seed)
    groups = list(VARIANT_GROUPS)
    labels = _balanced_labels(n, len(groups), rng)
    clips = []
    for c in labels:
        words = rng.choice(PHRASE_WORDS, size=int(rng.integers(1, 4)), replace=False)
        clips.append(Clip(" ".join(str(w) for w in words), str(rng.choice(ENGLISH_VOICES)),
                          str(rng.choice(VARIANT_GROUPS[groups[c]])), int(rng.integers(120, 221)),
                          int(rng.integers(30, 71)), int(c)))
    return clips, groups


#: name -> clip planner ``(n, seed) -> (clips, class names)``.
PLANNERS: dict[str, Callable[..., tuple[list[Clip], list[str]]]] = {
    "spoken_words": spoken_words_clips,
    "voice_variant": voice_variant_clips,
}
#: Default number of clips of each dataset.
SIZES = {"spoken_words": 1200, "voice_variant": 1000}
ALL = tuple(PLANNERS)


# ------------------------------------------------------------------- synthesis
def _synthesise(clip: Clip, out: Path) -> None:
    result = subprocess.run(clip.command(out), capture_output=True, text=True)
    if result.returncode != 0 or not out.is_file() or out.stat().st_size <= 44:  # 44 bytes: a header, no audio
        raise AutoDLInputError(" ".join(clip.command(out)),
                               f"espeak-ng wrote no audio (exit {result.returncode}: {result.stderr.strip()})")


def synthesise(clips: Sequence[Clip], folder: Path, workers: int = 2) -> list[str]:
    """Write ``clip_00000.wav`` … for ``clips`` into ``folder`` with ``workers`` espeak-ng processes at a time.

    Returns the file names in the order of ``clips``. Raises
    :class:`AutoDLInputError` when a variant is not installed (espeak-ng
    would silently ignore it) or espeak-ng writes no audio.
    """
    missing = sorted({c.variant for c in clips if c.variant} - installed_variants())
    if missing:
        raise AutoDLInputError(ESPEAK, f"voice variants {missing} are not installed (see espeak-ng --voices=variant)")
    names = [f"clip_{i:05d}.wav" for i in range(len(clips))]
    # Threads are enough: each task waits on its own espeak-ng process, so `workers` processes run at once.
    with ThreadPoolExecutor(max_workers=max(1, int(workers))) as pool:
        list(pool.map(lambda pair: _synthesise(pair[0], folder / pair[1]), zip(clips, names)))
    return names


def build(name: str, root: Path, seed: int = 42, n: Optional[int] = None, workers: int = 2) -> Optional[Path]:
    """The dataset dir of ``name`` in AutoDL format (built under ``root`` once); ``None`` without espeak-ng.

    Parameters
    ----------
    name : str
        One of :data:`ALL`.
    root : path
        Datasets are built in ``root/<name>`` (reused when complete). A size
        other than the default goes to ``root/<name>_n<n>``.
    seed : int
        Seed of the clip plan and of the 70/30 split.
    n : int, optional
        Number of clips (default :data:`SIZES`).
    workers : int
        espeak-ng processes run at once while synthesising.
    """
    from autodl_solver.data.converters import from_audio_folder

    if name not in PLANNERS:
        raise AutoDLInputError("dataset", f"got {name!r}, expected one of {ALL}")
    if not espeak_available():
        print(f"[speech] {name}: {ESPEAK} is not installed (apt-get install espeak-ng); dataset skipped",
              file=sys.stderr, flush=True)
        return None
    n = SIZES[name] if n is None else int(n)
    stem = name if n == SIZES[name] else f"{name}_n{n}"
    root = Path(root)
    target = root / stem
    if (target / f"{stem}.solution").exists():
        return target
    clips, class_names = PLANNERS[name](n, seed)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{stem}_wav_", dir=root) as tmp:
        folder = Path(tmp)
        files = synthesise(clips, folder, workers)
        with open(folder / "labels.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["FileName", "Labels"])
            writer.writerows([f, str(c.label)] for f, c in zip(files, clips))
        (folder / "label.name").write_text("\n".join(class_names) + "\n", encoding="utf-8")
        result = from_audio_folder(folder, root, stem, sample_rate=SAMPLE_RATE, test_size=0.3, seed=seed,
                                   overwrite=True)
    return result.path
