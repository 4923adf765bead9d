"""The learner registry, configs, portfolios, and the check_learner battery on every learner."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from autodl_solver.anytime.learner import Learner
from autodl_solver.data.metadata import Metadata
from autodl_solver.domains import registration, registry
from autodl_solver.domains.methods import (
    BASELINE_ENGINE,
    GENERIC_PORTFOLIO,
    METHODS,
    SOLVER_PORTFOLIOS,
    build_portfolio,
    solver_portfolio,
)
from autodl_solver.domains.registry import create, get_entry, list_learners, load_config, register
from autodl_solver.errors import AutoDLInputError
from autodl_solver.testing import DOMAINS, check_learner

REPO = Path(__file__).resolve().parents[1]

TABULAR = Metadata(output_dim=3, col_count=10)
SHAPES = {
    "tabular": TABULAR,
    "image": Metadata(output_dim=4, row_count=-1, col_count=-1, raw_num_channels=3),
    "video": Metadata(output_dim=4, sequence_size=-1, row_count=16, col_count=16, raw_num_channels=1),
    "text": Metadata(output_dim=2, sequence_size=-1, channel_to_index={"a": 0, "b": 1}),
    "speech": Metadata(output_dim=2, sequence_size=-1),
}


@dataclass
class _ScratchConfig:
    alpha: float = 1.0
    sizes: tuple[int, int] = (1, 2)


class _Scratch(Learner):
    def fit(self, data, budget_s):
        pass

    def predict(self, xs):
        import numpy as np

        return np.zeros((len(xs), self.metadata.output_dim), np.float32)

    def next_cost_s(self):
        return 0.0


@pytest.fixture
def scratch():
    """A throw-away learner registered as ``_scratch`` (removed afterwards)."""
    cls = register("_scratch", domains=("image",), default_config=_ScratchConfig)(
        type("Scratch", (_Scratch,), {}))
    yield cls
    registry._REGISTRY.pop("_scratch", None)


# ---------------------------------------------------------------- register
def test_register_sets_class_attributes(scratch):
    assert scratch.name == "_scratch" and scratch.domains == ("image",)
    assert "_scratch" in list_learners("image") and "_scratch" not in list_learners("tabular")
    assert get_entry("_scratch").config_file == "image.yaml"


def test_register_rejects_duplicates_unknown_domains_and_non_dataclass_configs(scratch):
    with pytest.raises(AutoDLInputError, match="already registered"):
        register("_scratch")(type("Other", (_Scratch,), {}))
    with pytest.raises(AutoDLInputError, match="unknown domain"):
        register("_bad", domains=("audio",))
    with pytest.raises(AutoDLInputError, match="dataclass"):
        register("_bad", default_config=dict)


def test_list_learners_by_domain():
    assert {"tabular_gbdt", "tabular_mlp", "tabular_linear", "baseline0", "baseline1", "baseline2"} <= \
        set(list_learners())
    assert {"tabular_gbdt", "tabular_mlp", "baseline1"} <= set(list_learners("tabular"))
    image = list_learners("image")
    assert {"baseline0", "baseline1", "baseline2"} <= set(image) and "tabular_gbdt" not in image
    with pytest.raises(AutoDLInputError, match="domain"):
        list_learners("audio")


# ------------------------------------------------------------------ create
def test_create_with_defaults_overrides_and_errors():
    learner = create("tabular_gbdt", TABULAR, seed=3)
    assert learner.seed == 3 and learner.config.first_rounds == 10
    assert create("tabular_gbdt", TABULAR, {"first_rounds": 3}).config.first_rounds == 3
    with pytest.raises(AutoDLInputError, match="unknown learner"):
        create("xgboost", TABULAR)
    with pytest.raises(AutoDLInputError, match="unknown config fields"):
        create("tabular_gbdt", TABULAR, {"rounds": 3})
    with pytest.raises(AutoDLInputError, match="expects a GBDTConfig"):
        create("tabular_gbdt", TABULAR, load_config("tabular_mlp"))


# ----------------------------------------------------------------- configs
def test_load_config_yaml_then_overrides(tmp_path, scratch):
    (tmp_path / "image.yaml").write_text("_scratch:\n  alpha: 2.5\n  sizes: [3, 4]\nother: {x: 1}\n")
    config = load_config("_scratch", config_dir=tmp_path)
    assert config.alpha == 2.5 and config.sizes == (3, 4)  # YAML lists become the dataclass's tuples
    assert load_config("_scratch", {"alpha": 7.0}, config_dir=tmp_path).alpha == 7.0
    assert load_config("_scratch", config_dir=tmp_path / "missing").alpha == 1.0  # no file: defaults


@pytest.mark.parametrize("text, match", [
    ("_scratch:\n  beta: 1\n", "unknown config fields"),
    ("_scratch: [1, 2]\n", "expected a mapping"),
    ("- 1\n- 2\n", "expected a mapping"),
    ("_scratch: {alpha: [\n", "not valid YAML"),
])
def test_load_config_bad_yaml_names_the_file(tmp_path, scratch, text, match):
    (tmp_path / "image.yaml").write_text(text)
    with pytest.raises(AutoDLInputError, match=match) as info:
        load_config("_scratch", config_dir=tmp_path)
    assert "image.yaml" in str(info.value)


def test_direct_construction_resolves_the_yaml_like_create(tmp_path, scratch, monkeypatch):
    (tmp_path / "image.yaml").write_text("_scratch:\n  alpha: 2.5\n  sizes: [3, 4]\n")
    monkeypatch.setattr(registration, "config_dirs", lambda: [tmp_path])
    built = scratch(SHAPES["image"])  # no config: the registry's resolution, not the bare dataclass
    assert built.config == _ScratchConfig(alpha=2.5, sizes=(3, 4))
    assert built.config == create("_scratch", SHAPES["image"]).config
    assert scratch(SHAPES["image"], _ScratchConfig()).config.alpha == 1.0  # an explicit config is kept
    # a subclass that is not registered itself keeps its own fallback (here: none)
    assert type("Unregistered", (scratch,), {})(SHAPES["image"]).config is None


def test_direct_construction_of_a_builtin_learner_sees_its_yaml(tmp_path, monkeypatch):
    from autodl_solver.domains.tabular.tabular_gbdt import GBDTConfig, GBDTLearner

    (tmp_path / "tabular.yaml").write_text("tabular_gbdt:\n  learning_rate: 0.05\n  num_leaves: 7\n")
    monkeypatch.setattr(registration, "config_dirs", lambda: [tmp_path])
    assert GBDTLearner(TABULAR).config == GBDTConfig(learning_rate=0.05, num_leaves=7)
    assert GBDTLearner(TABULAR).config == create("tabular_gbdt", TABULAR).config


@pytest.mark.parametrize("text, field, expected", [
    ("_scratch:\n  alpha: fast\n", "alpha", "expected float, got str 'fast'"),
    ("_scratch:\n  alpha: null\n", "alpha", "expected float, got NoneType None"),
    ("_scratch:\n  alpha: true\n", "alpha", "expected float, got bool True"),
    ("_scratch:\n  sizes: [1, x]\n", "sizes", "expected tuple[int, int]"),
    ("_scratch:\n  sizes: 3\n", "sizes", "expected tuple[int, int], got int 3"),
])
def test_a_yaml_value_of_the_wrong_type_is_a_clear_error(tmp_path, scratch, text, field, expected):
    (tmp_path / "image.yaml").write_text(text)
    with pytest.raises(AutoDLInputError) as info:
        load_config("_scratch", config_dir=tmp_path)
    message = str(info.value)
    assert "image.yaml" in message and "'_scratch'" in message and f"field {field!r}" in message, message
    assert expected in message, message


def test_override_types_ints_for_floats_lists_for_tuples_none_for_optional(scratch):
    assert load_config("_scratch", {"alpha": 2}).alpha == 2  # an int is a float
    assert load_config("_scratch", {"sizes": [5, 6]}).sizes == (5, 6)
    wrong = r"config of _scratch: learner '_scratch', field 'alpha': expected float"
    with pytest.raises(AutoDLInputError, match=wrong):
        load_config("_scratch", {"alpha": "1.0"})
    with pytest.raises(AutoDLInputError, match="field 'num_leaves': expected int, got list"):
        load_config("tabular_gbdt", {"num_leaves": [31]})
    with pytest.raises(AutoDLInputError, match="field 'learning_rate': expected float"):
        create("tabular_gbdt", TABULAR, {"learning_rate": "0.1"})


def test_every_builtin_config_accepts_its_own_defaults():
    import dataclasses

    for name in list_learners():
        cls = get_entry(name).default_config
        if cls is None:
            continue
        defaults = {f.name: getattr(cls(), f.name) for f in dataclasses.fields(cls)}
        as_yaml = {k: list(v) if isinstance(v, tuple) else v for k, v in defaults.items()}
        assert load_config(name, defaults) == cls() == load_config(name, as_yaml), name


def test_repository_yaml_files_load_for_every_learner():
    import yaml

    for name in list_learners():
        load_config(name)  # raises on an unknown field
    for path in (REPO / "configs").glob("*.yaml"):
        data = yaml.safe_load(path.read_text()) or {}
        if path.name in ("tabular.yaml", "baselines.yaml"):
            assert set(data) <= set(list_learners()), path
    assert load_config("baseline1").image_size == (112, 112)


def test_learner_configs_and_the_scheduling_prior_share_one_folder_lookup():
    from autodl_solver import config_paths
    from autodl_solver.anytime.prior import default_prior_path

    package = REPO / "autodl_solver"
    assert config_paths.config_dirs() == [package / "configs", REPO / "configs"]  # package copy, then checkout
    assert registration.config_dirs is config_paths.config_dirs
    assert default_prior_path() == config_paths.find_config("scheduler_prior.json")
    assert config_paths.find_config("tabular.yaml") == REPO / "configs" / "tabular.yaml"
    assert config_paths.find_config("no_such_file.yaml") is None


# -------------------------------------------------------------- portfolios
def test_solver_portfolio_per_domain():
    learners, engine = build_portfolio("solver", TABULAR, seed=5)
    assert [l.name for l in learners] == list(SOLVER_PORTFOLIOS["tabular"]) == \
        ["tabular_linear", "tabular_gbdt", "tabular_mlp"]
    assert engine == {} and all(l.seed == 5 for l in learners)
    learners, _ = build_portfolio("solver", SHAPES["image"])
    assert [l.name for l in learners] == ["vision_linear", "image_embed_linear", "image_cnn"]
    learners, _ = build_portfolio("solver", SHAPES["video"])
    assert [l.name for l in learners] == ["vision_linear", "video_c3d", "video_frames", "video_3d"]
    learners, _ = build_portfolio("solver", SHAPES["speech"])
    assert [l.name for l in learners] == ["speech_linear", "speech_cnn"]
    learners, _ = build_portfolio("solver", SHAPES["text"])
    assert [l.name for l in learners] == ["text_linear", "text_fasttext", "text_transformer"]
    with pytest.MonkeyPatch.context() as mp:  # a domain whose learners are not registered falls back
        mp.setitem(SOLVER_PORTFOLIOS, "text", ("no_such_learner",))
        assert solver_portfolio("text") == list(GENERIC_PORTFOLIO)
    with pytest.raises(AutoDLInputError, match="domain"):
        solver_portfolio("audio")


def test_baseline_and_mlp_methods():
    for method in ("baseline0", "baseline1", "baseline2"):
        learners, engine = build_portfolio(method, SHAPES["image"])
        assert [l.name for l in learners] == [method]
        assert engine == BASELINE_ENGINE == {"holdout": False, "gate_on_validation": False, "ensemble": False}
    learners, engine = build_portfolio("mlp", TABULAR)
    assert [l.name for l in learners] == ["tabular_mlp"] and engine == {}
    assert set(METHODS) == {"solver", "baseline0", "baseline1", "baseline2", "baseline3", "mlp",
                            "autospeech_baseline", "autonlp_baseline0", "autonlp_baseline1", "autonlp_baseline2"}
    learners, engine = build_portfolio("autonlp_baseline0", SHAPES["text"])
    assert [l.name for l in learners] == ["autonlp_baseline0"] and engine == BASELINE_ENGINE
    learners, engine = build_portfolio("autospeech_baseline", SHAPES["speech"])
    assert [l.name for l in learners] == ["autospeech_baseline"] and engine == BASELINE_ENGINE
    with pytest.raises(AutoDLInputError, match="runs on speech datasets; this one is image"):
        build_portfolio("autospeech_baseline", SHAPES["image"])


def test_baseline3_dispatches_by_domain():
    from autodl_solver.domains.methods import BASELINE3_PORTFOLIOS

    learners, engine = build_portfolio("baseline3", TABULAR)
    assert [l.name for l in learners] == ["tabular_mlp"] and engine == {}  # the seed: the 2x256 MLP on tables
    learners, _ = build_portfolio("baseline3", SHAPES["image"])
    assert [l.name for l in learners] == ["image_cnn"]
    learners, _ = build_portfolio("baseline3", SHAPES["speech"])
    assert [l.name for l in learners] == ["speech_linear", "speech_cnn"]
    learners, _ = build_portfolio("baseline3", SHAPES["text"])
    assert [l.name for l in learners] == list(BASELINE3_PORTFOLIOS["text"]) == ["text_linear", "text_cnn"]


def test_build_portfolio_errors_and_overrides():
    with pytest.raises(AutoDLInputError) as info:
        build_portfolio("automl", TABULAR)
    assert info.value.where == "method"
    learners, _ = build_portfolio("solver", TABULAR, config_overrides={"tabular_gbdt": {"first_rounds": 4}})
    assert {l.name: l for l in learners}["tabular_gbdt"].config.first_rounds == 4
    with pytest.raises(AutoDLInputError, match="unknown learner"):
        build_portfolio("solver", TABULAR, config_overrides={"tabular_gbm": {"first_rounds": 4}})
    with pytest.raises(AutoDLInputError, match="mapping"):
        build_portfolio("solver", TABULAR, config_overrides={"tabular_gbdt": 4})


# -------------------------------------------------------- check_learner
def _learner_domains():
    for name in list_learners():
        if name.startswith("_"):
            continue
        entry = get_entry(name)
        for domain in (DOMAINS if "any" in entry.domains else entry.domains):
            yield name, domain


@pytest.mark.parametrize("name, domain", list(_learner_domains()))
def test_every_registered_learner_passes_check_learner(name, domain):
    report = check_learner(get_entry(name).cls, domain=domain, budget_s=1.0, n_train=30, n_test=12)
    assert report["passed"] and not report["skipped"]  # every learner supports state_dict


def test_method_domains():
    from autodl_solver.domains.methods import method_domains

    assert method_domains("solver") == method_domains("baseline3") == ("any",)
    assert method_domains("mlp") == ("tabular",) and method_domains("autonlp_baseline1") == ("text",)
    assert method_domains("baseline1") == ("any",) and method_domains("autospeech_baseline") == ("speech",)
    with pytest.raises(AutoDLInputError, match="method"):
        method_domains("automl")


def test_no_learner_module_imports_the_registry():
    """The learners import the leaf ``registration``; the registry imports them (no cycle)."""
    domains = REPO / "autodl_solver" / "domains"
    for path in sorted(domains.glob("*/*.py")):
        text = path.read_text()
        assert "from ..registry import" not in text and "domains.registry import" not in text, path
    imports = [line for line in (domains / "registration.py").read_text().splitlines()
               if line.startswith(("from ", "import "))]
    assert imports and not any("registry" in line or "methods" in line for line in imports), imports
