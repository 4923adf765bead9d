"""The offline text benchmark datasets: fortune parsing/decoding on a fake tree, tiny real builds, O1."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from autodl_solver.data.reader import load_dataset
from autodl_solver.errors import AutoDLInputError
from autodl_solver.bench import text_datasets as td

needs_fortunes = pytest.mark.skipif(not td.FORTUNES.is_dir(), reason=f"{td.FORTUNES} is not installed")
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "autodl_samples"
TINY = 10


def _cookies(*texts: str) -> str:
    return "\n%\n".join(texts) + "\n%\n"


@pytest.fixture
def fake_fortunes(tmp_path) -> Path:
    """A small fortunes tree with the real tree's quirks: .u8 links, empty twins, cross links, legacy encodings."""
    root = tmp_path / "fortunes"
    for sub in ("it", "ru", "pl", "cs", "sk", "de", "off"):
        (root / sub).mkdir(parents=True)
    (root / "people").write_text(_cookies("A man walks in.", "Another one.", "A man walks in."), encoding="utf-8")
    os.symlink("people", root / "people.u8")
    (root / "people.dat").write_bytes(b"\x00\x00\x00\x02")
    (root / "science").write_text(_cookies("E = mc^2", "Shared cookie"), encoding="utf-8")
    (root / "brasil").write_text(_cookies("Bom dia", "Obrigado"), encoding="utf-8")
    (root / "off" / "rude").write_text(_cookies("not read"), encoding="utf-8")
    (root / "it" / "italia").write_text(_cookies("Ciao bella", "Shared cookie"), encoding="utf-8")
    os.symlink("italia", root / "it" / "italia.u8")
    os.symlink("it/italia", root / "italia")  # a top-level Italian name: not English
    (root / "ru" / "old").write_bytes(_cookies("Привет, мир", "Доброе утро").encode("koi8-r"))
    (root / "pl" / "dowcipy").write_text(_cookies("Dzień dobry"), encoding="utf-8")
    (root / "pl" / "dowcipy.u8").write_bytes(b"")  # pl/ ships empty .u8 twins
    (root / "cs" / "citace").write_text(_cookies("Dobrý den"), encoding="utf-8")
    (root / "cs" / "klasik-sk").write_text(_cookies("Slovensky text"), encoding="utf-8")
    os.symlink("../cs/klasik-sk", root / "sk" / "klasik-sk")
    (root / "de" / "zitate").write_bytes(_cookies("Grüße aus Köln").encode("latin-1"))
    return root


def test_decoding_fallback_chain():
    assert td.decode_cookie("Grüße".encode("utf-8")) == ("Grüße", None)
    assert td.decode_cookie("Grüße".encode("latin-1")) == ("Grüße", "cp1252")
    assert td.decode_cookie("привет".encode("koi8-r"), td.FALLBACKS["ru"]) == ("привет", "koi8-r")
    assert td.decode_cookie("Zażółć".encode("iso-8859-2"), td.FALLBACKS["pl"]) == ("Zażółć", "iso-8859-2")
    assert td.decode_cookie(b"caf\xe9 \x81") == ("caf\xe9 \x81", "latin-1")  # 0x81 is undefined in cp1252


def test_split_cookies_on_percent_lines():
    raw = b"first\nline two\n%\n\n%\r\nsecond\n% \nthird"
    assert td.split_cookies(raw) == [b"first\nline two", b"second", b"third"]
    assert td.split_cookies(b"") == []


def test_symlinked_and_empty_duplicates_are_read_once(fake_fortunes):
    files, duplicates = td.cookie_files(fake_fortunes)
    assert [p.name for p in files] == ["brasil", "people", "science"]  # no .dat, no off/, no link into it/
    assert duplicates == 1  # people.u8
    files, duplicates = td.cookie_files(fake_fortunes / "pl")
    assert [p.name for p in files] == ["dowcipy"] and duplicates == 1  # the empty .u8 twin
    corpus = td.language_corpus(fake_fortunes)
    assert list(corpus.texts) == ["en", "de", "it", "pl", "ru", "cs", "pt-BR"]  # es absent
    assert corpus.texts["en"] == ["A man walks in.", "Another one.", "E = mc^2"]
    assert corpus.texts["it"] == ["Ciao bella"]  # "Shared cookie" is in en and it: ambiguous, dropped
    assert corpus.ambiguous == 1 and corpus.repeated == 1
    assert corpus.texts["cs"] == ["Dobrý den"]  # klasik-sk is Slovak
    assert corpus.texts["ru"] == ["Привет, мир", "Доброе утро"]
    assert corpus.texts["de"] == ["Grüße aus Köln"]
    assert corpus.fallback == {"koi8-r": 2, "cp1252": 1}
    assert corpus.files == 8 and corpus.duplicate_files == 3  # people.u8, it/italia.u8, pl/dowcipy.u8


def test_categories_keep_big_english_files_only(fake_fortunes):
    corpus = td.category_corpus(fake_fortunes, min_cookies=2)
    assert list(corpus.texts) == ["people", "science"]  # brasil is Portuguese
    assert td.category_corpus(fake_fortunes, min_cookies=3).texts == {}


def test_sample_is_seeded_capped_and_shuffled(fake_fortunes):
    corpus = td.language_corpus(fake_fortunes)
    docs = td.sample(corpus, 1, seed=3)
    assert docs == td.sample(corpus, 1, seed=3)
    assert sorted(label for _, label in docs) == list(range(len(corpus.texts)))
    assert all(text in corpus.texts[list(corpus.texts)[label]] for text, label in docs)


def test_fake_tree_builds_a_text_dataset(fake_fortunes, tmp_path):
    path = td.build("fortunes_language", tmp_path / "data", cap=2, source=fake_fortunes)
    data = load_dataset(path)
    assert data.label_names == ["en", "de", "it", "pl", "ru", "cs", "pt-BR"]
    inverse = {i: t for t, i in data.metadata.channel_to_index.items()}
    xs, y = data.train.take(0, len(data.train))
    test_xs, _ = data.test.take(0, len(data.test))
    words = {inverse[int(i)] for x in xs + test_xs for i in x.ravel()}
    assert {"Привет,", "Grüße", "Köln", "Ciao"} <= words  # decoded, then tokenised on whitespace


def test_absent_sources_skip_cleanly(tmp_path, capsys):
    for name in ("fortunes_categories", "fortunes_language", "O1"):
        assert td.build(name, tmp_path / "data", source=tmp_path / "nowhere") is None
    err = capsys.readouterr().err
    assert "dataset skipped" in err and "fortunes_language" in err and "O1" in err
    assert not (tmp_path / "data").exists()
    with pytest.raises(AutoDLInputError, match="expected one of"):
        td.build("fortunes_jokes", tmp_path)
    with pytest.raises(AutoDLInputError, match="positive"):
        td.build("fortunes_language", tmp_path, cap=0, source=tmp_path)


@needs_fortunes
@pytest.mark.parametrize("name,classes", [("fortunes_categories", 29), ("fortunes_language", 8)])
def test_tiny_real_build_is_valid_and_deterministic(name, classes, tmp_path):
    path = td.build(name, tmp_path / "a", cap=TINY)
    assert path == tmp_path / "a" / f"{name}_c{TINY}"
    data = load_dataset(path)
    assert len(data.metadata.channel_to_index) > 100
    assert data.metadata.output_dim == classes and len(data.label_names) == classes
    if name == "fortunes_language":
        assert data.label_names == list(td.LANGUAGES)
    else:
        assert {"computers", "people", "science"} <= set(data.label_names) and "brasil" not in data.label_names
    _, y = data.train.take(0, len(data.train))
    labels = np.concatenate([y, data.solution]).argmax(axis=1)
    assert np.bincount(labels, minlength=classes).tolist() == [TINY] * classes
    assert len(data.test) == round(0.3 * TINY) * classes
    assert td.build(name, tmp_path / "a", cap=TINY) == path  # cached
    other = td.build(name, tmp_path / "b", cap=TINY)
    files = sorted(p.relative_to(path) for p in path.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(other) for p in other.rglob("*") if p.is_file())
    for rel in files:  # solution, records, metadata: all identical
        assert (path / rel).read_bytes() == (other / rel).read_bytes(), rel
    assert not [p for p in (tmp_path / "a").iterdir() if p.name.startswith(".")]  # the .txt folder is gone


@pytest.mark.skipif(not (SAMPLES / "O1").is_dir(), reason="../shared/autodl_samples/O1 is not available")
def test_o1_is_converted_from_the_raw_sample(tmp_path):
    path = td.build("O1", tmp_path)
    data = load_dataset(path)
    assert data.metadata.output_dim == 2 and len(data.metadata.channel_to_index) > 1000
    assert data.metadata.get_tensor_shape() == (-1, 1, 1, 1)
    assert len(data.train) > 0 and data.solution.shape == (len(data.test), 2)
