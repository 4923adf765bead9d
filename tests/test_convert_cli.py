"""``autodl-solver convert``: summary line, errors as one line with exit status 2."""
from __future__ import annotations

import numpy as np

from autodl_solver.cli import main
from autodl_solver.data.reader import load_dataset


def _npz(tmp_path, **extra):
    path = tmp_path / "arrays.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.normal(size=(20, 3, 3, 1)), y=np.arange(20) % 2, **extra)
    return path


def test_convert_arrays_prints_summary(tmp_path, capsys):
    src = _npz(tmp_path)
    assert main(["convert", "arrays", str(src), str(tmp_path / "out"), "--name", "toy",
                 "--test-size", "0.25", "--seed", "3"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("toy: domain=image") and "train=15 test=5 classes=2" in line
    data = load_dataset(tmp_path / "out" / "toy")
    assert (len(data.train), len(data.test)) == (15, 5)


def test_convert_arrays_with_given_test_set_and_overwrite(tmp_path, capsys):
    src = _npz(tmp_path, x_test=np.zeros((4, 3, 3, 1)), y_test=np.array([0, 1, 1, 0]))
    out = tmp_path / "out"
    assert main(["convert", "arrays", str(src), str(out)]) == 0
    assert "train=20 test=4" in capsys.readouterr().out
    assert main(["convert", "arrays", str(src), str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "already exists" in err and err.count("\n") == 1
    assert main(["convert", "arrays", str(src), str(out), "--overwrite"]) == 0


def test_convert_rejects_options_of_other_kinds_and_bad_sources(tmp_path, capsys):
    src = _npz(tmp_path)
    assert main(["convert", "arrays", str(src), str(tmp_path / "out"), "--num-channels", "1"]) == 2
    assert "--num-channels" in capsys.readouterr().err
    assert main(["convert", "images", str(tmp_path / "nowhere"), str(tmp_path / "out")]) == 2
    assert "nowhere" in capsys.readouterr().err
    bad = tmp_path / "bad.npz"
    np.savez(bad, features=np.zeros(3))
    assert main(["convert", "arrays", str(bad), str(tmp_path / "out")]) == 2
    assert "'x'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_convert_tabular_csv_label_column(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("kind,a,b\n" + "".join(f"{'xy'[i % 2]},{i},{i * 2}\n" for i in range(10)))
    assert main(["convert", "tabular", str(path), str(tmp_path / "out"), "--label-column", "kind"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("t: domain=tabular shape=1x1x2x1") and "classes=2" in out


def test_convert_text_reports_encoding_fallback_as_warning_line(tmp_path, capsys):
    src = tmp_path / "docs"
    for cls in ("a", "b"):
        (src / cls).mkdir(parents=True)
        for i in range(2):
            (src / cls / f"{i}.txt").write_text(f"word{i} {cls}", encoding="utf-8")
    (src / "b" / "0.txt").write_bytes("na\u00efve text".encode("latin-1"))
    assert main(["convert", "text", str(src), str(tmp_path / "out"), "--test-size", "0.5"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("docs: domain=text")
    assert "warning: " in captured.err and "1 file(s)" in captured.err
