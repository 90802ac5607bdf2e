import numpy as np
import pytest

from mcts_crn.examples import EXAMPLES, get_example


def test_library_has_the_required_models():
    required = {"michaelis_menten", "lotka_volterra", "sir", "seir", "hiv", "malaria", "tumour_growth",
                "tumour_immune", "brusselator", "robertson", "phosphorylation_cycle", "dimerisation"}
    assert required <= set(EXAMPLES)
    with pytest.raises(ValueError, match="choose one of"):
        get_example("nope")


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_is_complete(name):
    model = EXAMPLES[name]
    crn = model.crn
    assert model.citation and model.title
    assert model.rates_array.shape == (crn.num_reactions,) and (model.rates_array > 0).all()
    assert set(model.observed) <= set(crn.species)
    for values in model.initial:
        assert set(values) <= set(crn.species)
    assert model.times[0] == 0 and np.all(np.diff(model.times) > 0)


def test_michaelis_menten_observes_only_substrate_and_product():
    crn = EXAMPLES["michaelis_menten"].crn
    assert crn.observed_species == ("S", "P") and crn.latent_species == ("E", "C")


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_synthetic_data_is_seeded_noisy_and_valid(name):
    model = EXAMPLES[name]
    a = model.make_dataset(noise=0.05, rng=7)
    b = model.make_dataset(noise=0.05, rng=7)
    c = model.make_dataset(noise=0.05, rng=8)
    assert a.species == model.observed
    assert len(a.experiments) == len(model.initial)
    for ea, eb, ec in zip(a.experiments, b.experiments, c.experiments):
        np.testing.assert_array_equal(ea.values, eb.values)
        assert not np.array_equal(ea.values, ec.values)
        assert ea.values.shape == (len(model.times), len(model.observed))
        assert (ea.values >= 0).all()
    clean = model.make_dataset(noise=0.0)
    for e, states in enumerate(model.trajectories()):
        columns = [model.crn.species_index(s) for s in model.observed]
        np.testing.assert_array_equal(clean.experiments[e].values, states[:, columns])
        # relative deviations of the noisy data have the requested spread (loose: few points, clipping at 0)
        signal = states[:, columns]
        mask = signal > 1e-6 * signal.max()
        rel = (a.experiments[e].values[mask] - signal[mask]) / signal[mask]
        assert 0.02 < rel.std() < 0.09
