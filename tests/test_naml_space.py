"""T-NAML search space: parsing, validation errors naming the file and field, fingerprint, masks."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from autodl_solver.errors import AutoDLInputError
from autodl_solver.naml.space import REQUIRED, default_space_path, load_space, space_from_dict


def test_paper_space_mirrors_table1():
    space = load_space()
    assert space.names == list(REQUIRED)
    d = {x.name: x for x in space.decisions}
    assert list(d["hidden_layers"].choices) == [1, 2, 3, 5, 7]
    assert list(d["layer_size"].choices) == [8, 16, 32, 64, 128, 256]
    assert list(d["deep_reg"].choices)[-1] == "disable" and list(d["wide_reg"].choices)[-1] == "disable"
    assert [d["embedding"].choices[i] for i in d["embedding"].allowed("image")] == ["efficientnet_lite0", "pixels"]
    assert [d["embedding"].choices[i] for i in d["embedding"].allowed("text")] == ["minilm", "fasttext", "hashed"]
    for modality, modules in (("tabular", ["standardized", "quantiles"]), ("speech", ["clip_stats", "logmel_grid"]),
                              ("video", ["frame_pixels"])):
        assert [d["embedding"].choices[i] for i in d["embedding"].allowed(modality)] == modules
    assert space.size("text") > 10**8  # far more configurations than trials, as in the paper


def test_fingerprint_is_stable_and_sensitive(tmp_path):
    space = load_space(default_space_path(tiny=True))
    again = space_from_dict(space.to_dict())
    assert again.fingerprint == space.fingerprint and len(space.fingerprint) == 64
    raw = space.to_dict()
    raw["decisions"][2]["choices"] = [1, 3]
    assert space_from_dict(raw).fingerprint != space.fingerprint


def test_masks_encode_decode():
    space = load_space(default_space_path(tiny=True))
    masks = space.masks("image")
    # only pixels for images in the tiny space; the tabular, speech and video modules come after the image's
    assert masks[0].tolist() == [False, False, True] + [False] * 5
    rng = np.random.default_rng(0)
    for _ in range(20):
        actions = space.sample_uniform(rng, "image")
        assert actions[0] == 2
        assert space.encode(space.decode(actions)) == actions
    with pytest.raises(AutoDLInputError, match="modality"):
        space.masks("audio")


@pytest.mark.parametrize("edit, field", [
    (lambda d: d["decisions"].pop(), "missing decisions"),
    (lambda d: d["decisions"][2].update(choices=[1, -2]), "hidden_layers"),
    (lambda d: d["decisions"][0].update(choices={"audio": ["x"]}), "unknown modality"),
    (lambda d: d["decisions"][0].update(choices={"text": ["bert"]}), "unknown embedding"),
    (lambda d: d["decisions"][8].update(choices=[0.1, "off"]), "deep_reg"),
    (lambda d: d["decisions"][1].update(choices=[]), "fine_tune"),
    (lambda d: d.update(extra=1), "unknown keys"),
])
def test_bad_space_files_name_the_field(tmp_path, edit, field):
    data = yaml.safe_load(default_space_path(tiny=True).read_text())
    edit(data)
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(AutoDLInputError, match=field) as err:
        load_space(path)
    assert str(path) in str(err.value)


def test_missing_and_non_yaml_files(tmp_path):
    with pytest.raises(AutoDLInputError, match="not found"):
        load_space(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("decisions: [\n")
    with pytest.raises(AutoDLInputError, match="YAML"):
        load_space(bad)
