"""benchmarks/naml_experiment.py: its flags and the prior comparison rows (the solver replaced by a stand-in)."""
from __future__ import annotations

import os

import pytest

naml_experiment = pytest.importorskip("benchmarks.naml_experiment")


def test_comparison_row_runs_the_three_variants_with_the_right_priors(tmp_path, monkeypatch):
    from autodl_solver.anytime.prior import PRIOR_ENV, default_prior_path

    monkeypatch.delenv(PRIOR_ENV, raising=False)
    seen = []

    def fake_run(folder, out, time_budget, prior, verbose):
        seen.append((os.environ[PRIOR_ENV], prior, time_budget, out.name))
        alc = {None: 0.5}.get(prior, 0.7) + (0.1 if os.environ[PRIOR_ENV] != "off" else 0.0)
        return {"alc": alc, "ingestion_success": True}

    prior = tmp_path / "O1.json"
    row = naml_experiment.comparison_row("O1", "text", tmp_path / "O1", prior, 60.0, tmp_path, run=fake_run)
    assert {k: row[k] for k in ("task", "domain", "time_budget")} == {"task": "O1", "domain": "text",
                                                                       "time_budget": 60.0}
    assert row["alc_without_prior"] == pytest.approx(0.5) and row["alc_with_fitted_prior"] == pytest.approx(0.6)
    assert row["alc_with_prior"] == pytest.approx(0.8)
    fitted = str(default_prior_path())
    assert [(env, p) for env, p, _, _ in seen] == [("off", None), (fitted, None), (fitted, prior)]
    assert PRIOR_ENV not in os.environ  # restored after the runs
    assert len({name for *_, name in seen}) == 3  # one output folder per run
    other = {**row, "task": "digits", "alc_with_prior": 0.4}
    summary = naml_experiment.summarise_comparison([row, other, {**row, "time_budget": 300.0}])
    assert summary["T60"]["tasks"] == 2 and summary["T60"]["tnaml_beats_no_prior"] == 1
    assert summary["T60"]["median_tnaml_minus_no_prior"] == pytest.approx(0.1)
    assert summary["T300"]["tnaml_beats_fitted"] == 1


def test_default_out_and_flags():
    assert naml_experiment.default_out("accuracy", 0).name == "naml_experiment.json"
    assert naml_experiment.default_out("cost_aware", 2).name == "naml_experiment_cost_aware_seed2.json"
    with pytest.raises(SystemExit):
        naml_experiment.main(["--reward", "speed"])


def test_folds_cover_ten_tasks_of_the_five_domains():
    from autodl_solver.bench.datasets import get_dataset

    datasets = [n for names in naml_experiment.DATASETS.values() for n in names]
    derived = {name: parent for parent, _, name in naml_experiment.DERIVED}
    held = [t for fold in naml_experiment.FOLDS for t in fold]
    assert sorted(held) == sorted(datasets + list(derived)) and len(held) == len(set(held)) >= 10
    for domain, names in naml_experiment.DATASETS.items():
        assert all(get_dataset(n).domain == domain for n in names)
    domain_of = {n: d for d, names in naml_experiment.DATASETS.items() for n in names}
    domain_of.update({name: domain_of[parent] for name, parent in derived.items()})
    assert set(domain_of.values()) == {"text", "image", "tabular", "speech", "video"}
    for fold in naml_experiment.FOLDS:
        assert len({domain_of[t] for t in fold}) >= 3  # each held-out fold spans several domains
        assert all(derived[t] in fold for t in fold if t in derived)  # class subsets go with their parents


def _experiment(seed, tnaml_speedups, naml_speedup=1.0):
    """A per-seed experiment result with only the fields the seeds report reads (RS needs 50 trials everywhere)."""
    def up(speedup):  # None: not reached, bounded by 50 / 100 trials
        return {"rs_trials": 50, "speedup": speedup, "speedup_upper_bound": None if speedup else 0.5}

    per_task = {f"t{i}": {"speedup": {"tnaml": up(s), "naml": up(naml_speedup)},
                          "speedup_reward": {"tnaml": up(2 * s if s else None), "naml": up(naml_speedup)}}
                for i, s in enumerate(tnaml_speedups)}
    block = {"median_speedup_bounded": 0.0, "tasks_over_1x": 0, "tasks_reached": 0, "tasks_over_10x": 0}
    summary = {"tnaml": block, "naml": block, "reward": {"tnaml": block, "naml": block},
               "mean_at_budget": {m: {"test_top10": 0.5} for m in ("random", "naml", "tnaml")}}
    return {"settings": {"seed": seed, "budget": 100}, "machine": {"git_commit": "abc", "git_dirty": False},
            "seconds": 10.0, "per_task": per_task, "summary": summary}


def test_the_seeds_report_pools_every_task_and_seed_counting_unreached_at_their_bound():
    seeds = pytest.importorskip("benchmarks.naml_seeds")
    results = [_experiment(0, [4.0, None, 1.5]), _experiment(1, [2.0, 3.0, 1.0])]
    pooled = seeds.pooled(results)
    # pairs: 4, 0.5 (bound), 1.5, 2, 3, 1 -> median 1.75; four of six above 1x
    assert pooled["accuracy"]["tnaml"]["median_speedup_bounded"] == pytest.approx(1.75)
    assert pooled["accuracy"]["tnaml"]["pairs_over_1x"] == 4 and pooled["accuracy"]["tnaml"]["pairs"] == 6
    assert pooled["accuracy"]["tnaml"]["per_task_median"] == pytest.approx({"t0": 3.0, "t1": 1.75, "t2": 1.25})
    assert pooled["reward"]["tnaml"]["median_speedup_bounded"] == pytest.approx(3.5)  # 8, 0.5, 3, 4, 6, 2
    rows = seeds.seed_rows(results)
    assert [r["seed"] for r in rows] == [0, 1] and rows[0]["ceiling"] == "5.0x"
    text = seeds.markdown({"reward": "cost_aware", "command": "c", "files": ["a", "b"], "seeds": rows,
                           "pooled": pooled})
    assert "| t1 | 1.75x |" in text and "on 4 of 6 pairs" in text


def test_the_seeds_report_names_a_missing_file(capsys):
    seeds = pytest.importorskip("benchmarks.naml_seeds")
    assert seeds.main(["--reward", "no_such_reward", "--seeds", "7"]) == 2
    assert "naml_experiment_no_such_reward_seed7.json" in capsys.readouterr().err


def test_the_exported_prior_is_found_beside_the_results_file_in_a_clone(tmp_path):
    out = tmp_path / "naml_experiment_cost_aware.json"
    elsewhere = tmp_path / "other_machine" / "O1.json"
    entry = {"prior_file": str(elsewhere)}
    with pytest.raises(SystemExit, match="neither .*naml_experiment_cost_aware_priors/O1.json nor .*other_machine"):
        naml_experiment.exported_prior(out, "O1", entry)
    elsewhere.parent.mkdir()
    elsewhere.write_text("{}")
    assert naml_experiment.exported_prior(out, "O1", entry) == elsewhere  # the recorded path, where it exists
    beside = tmp_path / "naml_experiment_cost_aware_priors" / "O1.json"
    beside.parent.mkdir()
    beside.write_text("{}")
    assert naml_experiment.exported_prior(out, "O1", entry) == beside  # the clone's copy first


def _pinned_row(task, domain, folder, prior_file, time_budget, work):
    """A stand-in for ``comparison_row`` that reports the core its worker was pinned to."""
    return {"task": task, "time_budget": time_budget, "cpus": sorted(os.sched_getaffinity(0))}


def test_rows_run_in_pinned_workers_keep_the_jobs_order():
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        pytest.skip("needs two cores")
    jobs = [{"task": t, "domain": "tabular", "folder": None, "prior_file": None, "time_budget": b, "work": None}
            for t, b in (("wine", 60.0), ("wine", 300.0), ("digits", 60.0))]
    rows = naml_experiment.run_rows(jobs, 2, row=_pinned_row)
    assert [(r["task"], r["time_budget"]) for r in rows] == [(j["task"], j["time_budget"]) for j in jobs]
    assert all(len(r["cpus"]) == 1 and r["cpus"][0] in cores[:2] for r in rows)
    assert naml_experiment.run_rows(jobs[:1], 1, row=_pinned_row)[0]["cpus"] == cores
    with pytest.raises(SystemExit, match="--prior-workers"):
        naml_experiment.run_rows(jobs, len(cores) + 1, row=_pinned_row)
