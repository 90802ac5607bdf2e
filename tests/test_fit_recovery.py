"""Planted recovery: data from each example model, fitted from perturbed starts, give back its rates."""
import numpy as np
import pytest

from mcts_crn.config import FitConfig
from mcts_crn.crn import Crn
from mcts_crn.examples import EXAMPLES
from mcts_crn.fit import FitProblem, fit_rates

IDENTIFIABLE_SE = 0.05
"""A rate counts as identifiable when the Fisher relative standard error is below this: then 20% is four
standard errors, so a correct fit misses by more than 20% with probability < 1e-4 per rate."""

NOT_DETERMINED_AT_1PCT = {"phosphorylation_cycle": {0, 1}}
"""Rates the 1%-noise, all-observed data do not determine to 5%: the kinase's binding and unbinding
(E + S <-> ES) equilibrate fast, so only their ratio is pinned (Fisher correlation 1.00, relative standard
errors 9% and 15% at 1% noise). No estimator can place them within 5%; they are held to three standard
errors instead."""


def loss_at(rates, crn, data):
    """The chi-square at given rates (known initial values): the fit must do at least as well."""
    problem = FitProblem(crn, data, FitConfig(rtol=1e-8, atol=1e-8))
    residuals, _, ok, _ = problem.evaluate(problem.theta_from(rates)[None, :], jacobian=False)
    assert ok[0]
    return float(residuals[0] @ residuals[0])


def perturbed_start(model, rng):
    """The true rates times factors drawn log-uniformly in [0.3, 3], as a {reaction text: rate} warm start."""
    factors = np.exp(rng.uniform(np.log(0.3), np.log(3.0), model.rates_array.size))
    return dict(zip(model.crn.reactions_text(), model.rates_array * factors))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_recovers_rates_at_1pct_noise_all_species_observed(name):
    model = EXAMPLES[name]
    rng = np.random.default_rng(123)
    crn = Crn.from_text(model.reactions)                          # every species observed
    data = model.make_dataset(noise=0.01, rng=rng, observed=crn.species)
    fit = fit_rates(crn, data, rng=1, warm_start=perturbed_start(model, rng))
    assert fit.success, fit.message
    error = np.abs(fit.rates / model.rates_array - 1.0)
    loose = NOT_DETERMINED_AT_1PCT.get(name, set())
    for r in range(crn.num_reactions):
        if r in loose:
            assert fit.rate_se[r] > 0.025, "documented as undetermined: update NOT_DETERMINED_AT_1PCT"
            assert error[r] < 3 * fit.rate_se[r], (crn.reaction_text(r), error[r], fit.rate_se[r])
        else:
            assert error[r] < 0.05, (crn.reaction_text(r), fit.rates[r], model.rates[r])
    assert 0.5 < fit.chi2_per_point < 1.5
    assert fit.loss <= loss_at(model.rates_array, crn, data) * (1 + 1e-4)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_recovers_identifiable_rates_at_5pct_noise_designated_species(name):
    """Only the designated species are observed; latent initial values are known (synthetic data).

    Identifiability is decided from the Fisher information of the fit: rates with a relative standard
    error below IDENTIFIABLE_SE must be within 20% of the truth. The others are not held to anything
    (they can sit on a flat ridge with several nearly equal minima, as tumour_immune's immune-side
    rates do), but the fit must reach a loss at least as low as the true rates give.
    """
    model = EXAMPLES[name]
    rng = np.random.default_rng(7)
    data = model.make_dataset(noise=0.05, rng=rng)
    fit = fit_rates(model.crn, data, rng=2, warm_start=perturbed_start(model, rng))
    assert fit.success, fit.message
    identifiable = fit.rate_se < IDENTIFIABLE_SE
    error = np.abs(fit.rates / model.rates_array - 1.0)
    assert (error[identifiable] < 0.2).all(), (error, fit.rate_se)
    assert 0.5 < fit.chi2_per_point < 1.5
    assert fit.loss <= loss_at(model.rates_array, model.crn, data) * (1 + 1e-4)


def test_default_starts_without_warm_start_recover_michaelis_menten():
    model = EXAMPLES["michaelis_menten"]
    crn = Crn.from_text(model.reactions)
    data = model.make_dataset(noise=0.01, rng=3, observed=crn.species)
    fit = fit_rates(crn, data, rng=0)
    np.testing.assert_allclose(fit.rates, model.rates_array, rtol=0.05)


@pytest.mark.parametrize("optimizer", ["lbfgs", "evolution"])
def test_other_optimizers_recover_michaelis_menten(optimizer):
    model = EXAMPLES["michaelis_menten"]
    crn = Crn.from_text(model.reactions)
    data = model.make_dataset(noise=0.01, rng=3, observed=crn.species)
    config = FitConfig(optimizer=optimizer, num_starts=2, evolution_maxiter=30, evolution_popsize=8)
    fit = fit_rates(crn, data, rng=0, config=config,
                    warm_start=perturbed_start(model, np.random.default_rng(5)))
    assert fit.success, fit.message
    np.testing.assert_allclose(fit.rates, model.rates_array, rtol=0.05)


def test_unknown_initial_values_are_fitted():
    """Without any known initial value, observed ones start at the (noisy) first observation and are
    refined; the latent enzyme's shared initial value is fitted."""
    from mcts_crn.data import Dataset, Experiment

    model = EXAMPLES["michaelis_menten"]
    full = model.make_dataset(noise=0.02, rng=11)
    data = Dataset(full.species, [Experiment(x.name, x.times, x.values, {"C": 0.0}) for x in full.experiments],
                   noise=0.02)
    fit = fit_rates(model.crn, data, rng=0, warm_start=perturbed_start(model, np.random.default_rng(1)))
    assert fit.success, fit.message
    names = list(fit.param_names)
    enzyme = fit.params[names.index("E(0)")]
    assert abs(enzyme - 1.0) < 3 * fit.param_se[names.index("E(0)")] * enzyme + 0.05
    for e, s0 in enumerate((10.0, 5.0, 2.0)):
        assert abs(fit.x0[e, model.crn.species.index("S")] / s0 - 1) < 0.03
    assert abs(fit.rates[2] / 0.3 - 1) < 0.1
