"""fit_rates as the search uses it: failures as data, warm starts, seeds, batches, the result's contents."""
import numpy as np
import pytest

from mcts_crn.config import FitConfig
from mcts_crn.crn import Crn
from mcts_crn.data import Dataset, Experiment
from mcts_crn.examples import EXAMPLES
from mcts_crn.fit import FitResult, fit_many, fit_rates
from mcts_crn.fit.problem import data_sigmas


@pytest.fixture(scope="module")
def mm():
    model = EXAMPLES["michaelis_menten"]
    return model, model.make_dataset(noise=0.05, rng=0)


def growth_data():
    t = np.linspace(0, 1, 11)
    values = (2.0 * np.exp(t))[:, None]
    return Dataset(("A",), [Experiment("1", t, values, {"A": 2.0})], noise=0.05)


def test_a_diverging_fit_is_a_result_not_an_exception():
    crn = Crn.from_text("2 A -> 3 A")      # finite-time blow-up: dA/dt = k A^2
    fit = fit_rates(crn, growth_data(), config=FitConfig(num_starts=1), warm_start={"2 A -> 3 A": 1e6})
    assert isinstance(fit, FitResult)
    assert not fit.success
    assert "cannot be simulated" in fit.message
    assert fit.loss == np.inf and fit.num_simulations >= 1
    assert np.isinf(fit.rate_se).all()


def test_runaway_trials_are_rejected_and_the_fit_continues():
    """Random starts that blow up are dropped; the start that can be simulated is fitted."""
    crn = Crn.from_text("A -> 2 A\n2 A -> 3 A")
    fit = fit_rates(crn, growth_data(), config=FitConfig(num_starts=6, start_spread=1e4), rng=3,
                    warm_start={"A -> 2 A": 1.0, "2 A -> 3 A": 1e-3})
    assert fit.success, fit.message
    assert fit.chi2_per_point < 1.0


def test_bad_input_at_the_edge_raises(mm):
    model, data = mm
    with pytest.raises(ValueError, match="no column"):
        fit_rates(Crn.from_text(model.reactions, observed=["S", "P", "E"]), data)


def test_same_seed_same_result_and_seed_changes_starts(mm):
    model, data = mm
    a = fit_rates(model.crn, data, rng=5)
    b = fit_rates(model.crn, data, rng=5)
    np.testing.assert_array_equal(a.rates, b.rates)
    assert a.num_simulations == b.num_simulations and a.seed_entropy == b.seed_entropy
    c = fit_rates(model.crn, data, rng=np.random.default_rng(5))
    assert c.success


def test_cold_fit_with_a_latent_species_finds_the_basin():
    """The true HIV network with its latent species named as the search names them (so its initial value is
    fitted): the default and perturbed starts end in a wrong basin (chi2/N about 50), the wide screen does
    not. Same seed, same result."""
    model = EXAMPLES["hiv"]
    data = model.make_dataset(noise=0.05, rng=0)
    crn = Crn.from_text(model.crn.to_text().replace("I", "X1"), observed=list(data.species))
    assert crn.latent_species == ("X1",)
    fit = fit_rates(crn, data, rng=0)
    assert fit.success, fit.message
    assert fit.chi2_per_point < 1.5
    assert "X1(0)" in fit.param_names
    np.testing.assert_array_equal(fit_rates(crn, data, rng=0).rates, fit.rates)
    unscreened = fit_rates(crn, data, rng=0, config=FitConfig(screen_size=0))
    assert unscreened.chi2_per_point > 1.5


def test_warm_start_from_a_parent_reuses_its_rates(mm):
    """A child with one more reaction starts where its parent ended: it can only improve, and fast."""
    model, data = mm
    parent = fit_rates(model.crn, data, rng=0)
    child_crn = model.crn.add_reaction("P -> 0")
    cold = fit_rates(child_crn, data, rng=0)
    warm = fit_rates(child_crn, data, rng=0, warm_start=parent)
    assert warm.loss <= parent.loss * (1 + 1e-6)
    assert warm.num_simulations < cold.num_simulations
    by_text = fit_rates(child_crn, data, rng=0, warm_start=parent.rates_by_reaction())
    assert by_text.loss <= parent.loss * (1 + 1e-6)
    # a reaction text with other spacing or order of terms names the same reaction
    assert fit_rates(model.crn, data, config=FitConfig(num_starts=1),
                     warm_start={"S+E->C": 1.0, "C -> S + E": 0.5, "C->P+E": 0.3}).success


def test_warm_start_carries_fitted_latent_initial_values():
    model = EXAMPLES["michaelis_menten"]
    full = model.make_dataset(noise=0.05, rng=1)
    data = Dataset(full.species, [Experiment(x.name, x.times, x.values, {"S": x.initial_values["S"], "P": 0.0})
                                  for x in full.experiments], noise=0.05)
    parent = fit_rates(model.crn, data, rng=0)
    assert "E(0)" in parent.param_names and "C(0)" in parent.param_names
    child = fit_rates(model.crn.add_reaction("P -> 0"), data, rng=0, warm_start=parent,
                      config=FitConfig(num_starts=1))
    assert child.loss <= parent.loss * (1 + 1e-6)


def test_result_contents(mm):
    model, data = mm
    fit = fit_rates(model.crn, data, rng=0)
    assert fit.success and fit.message
    assert fit.species == model.crn.species and fit.reactions == tuple(model.crn.reactions_text())
    assert fit.crn_key == model.crn.canonical_key()
    assert fit.num_params == 3 and fit.num_points == data.num_points
    assert fit.chi2 == fit.loss and fit.rss > 0
    assert len(fit.predictions) == data.num_experiments
    for prediction, x in zip(fit.predictions, data.experiments):
        assert prediction.shape == (x.num_times, model.crn.num_species)
    np.testing.assert_allclose(fit.x0, np.array([model.x0(e) for e in range(3)]))
    assert np.isfinite(fit.rate_se).all() and (fit.rate_se > 0).all()
    np.testing.assert_allclose(fit.correlation, fit.correlation.T)
    # chi2 recomputed from the predictions and the fit's sigmas
    sigmas = data_sigmas(data, FitConfig())
    columns = [model.crn.species_index(s) for s in data.species]
    chi2 = sum(np.nansum(((p[:, columns] - x.values) / s) ** 2)
               for p, x, s in zip(fit.predictions, data.experiments, sigmas))
    assert chi2 == pytest.approx(fit.loss, rel=1e-6)
    # hold-out: the last experiment predicted by a refit to the first two
    assert fit.holdout_points == np.count_nonzero(~np.isnan(data.experiments[-1].values))
    assert fit.holdout_chi2 >= fit.holdout_fit_chi2 * 0.8
    assert "k[E + S -> C]" in fit.summary()
    with pytest.raises(Exception):
        fit.rates[0] = 1.0


def test_a_rate_that_cannot_act_has_an_infinite_standard_error():
    model = EXAMPLES["michaelis_menten"]
    crn = model.crn.add_species("Z").add_reaction("Z -> P")        # Z starts at 0 and is never made
    data = model.make_dataset(noise=0.05, rng=0)
    data = Dataset(data.species, [Experiment(x.name, x.times, x.values, {**x.initial_values, "Z": 0.0})
                                  for x in data.experiments], noise=0.05)
    fit = fit_rates(crn, data, rng=0, config=FitConfig(holdout=False))
    assert fit.success
    assert np.isinf(fit.rate_se[-1]) and np.isfinite(fit.rate_se[:-1]).all()


def test_fit_many_matches_single_fits_and_threads(mm):
    model, data = mm
    crns = [model.crn, model.crn.remove_reaction(1), model.crn.add_reaction("S -> P")]
    serial = fit_many(crns, data, rng=9)
    threaded = fit_many(crns, data, rng=9, num_threads=2)
    seeds = np.random.SeedSequence(9).spawn(3)
    for a, b, crn, seed in zip(serial, threaded, crns, seeds):
        np.testing.assert_array_equal(a.rates, b.rates)
        np.testing.assert_array_equal(a.rates, fit_rates(crn, data, rng=seed).rates)


def test_network_without_reactions_is_scored_as_constants():
    model = EXAMPLES["michaelis_menten"]
    data = model.make_dataset(noise=0.05, rng=0)
    fit = fit_rates(Crn.empty(["S", "P"], ["E", "C"]), data)
    assert fit.success and fit.num_params == 0 and fit.chi2_per_point > 10
