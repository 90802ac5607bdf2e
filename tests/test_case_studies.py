"""The case-study script's tables (experiments/case_studies/run.py): every published model and data preparation
fits its real data set, and the reaction comparison matches networks that differ only by latent names."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import experiment_script

from mcts_crn.crn import Crn


@pytest.fixture(scope="module")
def case_studies():
    with experiment_script("case_studies/run.py", "case_studies_run") as module:
        yield module


@pytest.fixture(scope="module")
def data_dir(shared_dir, case_studies):
    path = shared_dir / "data" / "real"
    assert path == case_studies.DATA_DIR
    return path


def test_every_data_set_has_a_case_study(case_studies, data_dir):
    assert sorted(p.stem for p in data_dir.glob("*.csv")) == sorted(case_studies.CASE_BY_NAME)


def test_published_models_use_the_data_species(case_studies, data_dir):
    for case in case_studies.CASES:
        dataset, _ = case_studies.load_dataset(case, data_dir)
        assert dataset.num_points > 0
        assert np.all(np.isfinite(dataset.noise)) and np.all(dataset.noise > 0)
        assert case.comparison_kind in ("mechanistic", "baseline", "features")
        assert bool(case.published) == (case.comparison_kind != "features"), case.name
        assert bool(case.features) == (case.comparison_kind == "features"), case.name
        for spec in case.published:
            crn = case_studies.published_crn(spec, dataset)
            # every data column is a species the model takes part in: no column is left unexplained
            used = (crn.reactants + crn.products).sum(axis=0) > 0
            for name in dataset.species:
                assert used[crn.species.index(name)], f"{case.name}: {spec.label} never uses {name}"
            assert set(spec.known_initial) <= set(crn.latent_species), (case.name, spec.label)
            for text in spec.warm_start:
                assert text in crn.reactions_text(), (case.name, text)
            # the data set the published model is fitted to knows what it says it knows
            data = case_studies.published_dataset(spec, dataset)
            for x in data.experiments:
                for name, value in spec.known_initial.items():
                    if math.isnan(value):
                        assert name not in x.initial_values
                    else:
                        assert x.initial_values[name] == value
        for feature in case.features:
            assert isinstance(feature.present(Crn.empty(dataset.species)), bool)


def test_preparation_removes_only_censored_values(case_studies, data_dir):
    from mcts_crn.data import Dataset

    for name, value in (("hiv_liang2010", case_studies.HIV_FLOOR), ("malaria_malariatherapy_untreated", 0.0)):
        case = case_studies.CASE_BY_NAME[name]
        raw = Dataset.from_csv(data_dir / f"{name}.csv")
        prepared, notes = case_studies.load_dataset(case, data_dir)
        assert notes
        for before, after in zip(raw.experiments, prepared.experiments):
            changed = np.isnan(after.values) & ~np.isnan(before.values)
            assert changed.any() or name == "malaria_malariatherapy_untreated"
            assert np.allclose(before.values[changed], value, rtol=1e-6, atol=0)
            kept = ~np.isnan(after.values)
            assert np.array_equal(before.values[kept], after.values[kept])
            assert not np.any(np.isclose(after.values[kept], value, rtol=1e-6, atol=0))


def test_compare_reactions_matches_latent_names(case_studies):
    published = Crn.from_text("S + I -> 2 I\nI -> R\nR -> 0", observed=["I", "R"])
    found = Crn.from_text("X1 + I -> 2 I\nI -> 2 R\nR + X1 -> X1\n0 -> X1", observed=["I", "R"])
    agreement = case_studies.compare_reactions(found, published)
    f, p = found.reactions_text(), published.reactions_text()
    assert agreement.mapping == {"X1": "S"}
    assert agreement.same == [(f[0], p[0])]
    assert agreement.same_reactants == [(f[1], p[1])]
    assert agreement.same_net_change == [(f[2], p[2])]
    assert agreement.only_found == [f[3]]
    assert agreement.only_published == []
    # same reactants but the opposite effect is no match
    opposite = Crn.from_text("I -> 2 I\nR -> 0", observed=["I", "R"])
    other = Crn.from_text("I -> 0\nR -> 0", observed=["I", "R"])
    agreement = case_studies.compare_reactions(opposite, other)
    assert not agreement.same_reactants and agreement.only_found == ["I -> 2 I"]
    itself = case_studies.compare_reactions(published, published)
    assert len(itself.same) == 3 and not itself.only_found and not itself.only_published
