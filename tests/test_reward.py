"""The reward: range, monotonicity in each term, purity, and calibration on the example models."""
import dataclasses
import math

import numpy as np
import pytest

from mcts_crn.config import FitConfig, RewardConfig
from mcts_crn.examples import EXAMPLES
from mcts_crn.fit import fit_rates
from mcts_crn.reward import reward, reward_parts


@pytest.fixture(scope="module")
def mm_fit():
    model = EXAMPLES["michaelis_menten"]
    data = model.make_dataset(noise=0.05, rng=0)
    return model.crn, data, fit_rates(model.crn, data, rng=0)


def test_reward_is_in_the_unit_interval_and_zero_for_a_failed_fit(mm_fit):
    crn, data, fit = mm_fit
    value = reward(fit, crn, data)
    assert 0.0 < value <= 1.0
    failed = dataclasses.replace(fit, success=False, loss=math.inf)
    assert reward(failed, crn, data) == 0.0
    perfect = dataclasses.replace(fit, loss=0.0, holdout_points=0, num_params=0, rate_se=np.zeros(3))
    assert reward(perfect, crn, data) == 1.0


def test_reward_is_pure(mm_fit):
    crn, data, fit = mm_fit
    before = (fit.loss, fit.rates.copy())
    assert reward(fit, crn, data) == reward(fit, crn, data)
    assert (fit.loss, list(fit.rates)) == (before[0], list(before[1]))


def test_each_term_lowers_the_reward(mm_fit):
    crn, data, fit = mm_fit
    base = reward(fit, crn, data)
    assert reward(dataclasses.replace(fit, loss=fit.loss * 1.5), crn, data) < base
    assert reward(dataclasses.replace(fit, loss=fit.loss * 0.9), crn, data) > base
    assert reward(dataclasses.replace(fit, num_params=fit.num_params + 1), crn, data) < base
    unsupported = np.array(fit.rate_se)
    unsupported[0] = 5.0
    assert reward(dataclasses.replace(fit, rate_se=unsupported), crn, data) < base
    assert reward(dataclasses.replace(fit, rate_se=np.where(np.arange(3) == 0, np.inf, fit.rate_se)),
                  crn, data) < base


def test_only_a_generalization_gap_beyond_its_noise_counts(mm_fit):
    crn, data, fit = mm_fit
    config = RewardConfig()
    allowance = config.holdout_tolerance * math.sqrt(2 * fit.holdout_points)
    small = dataclasses.replace(fit, holdout_chi2=fit.holdout_fit_chi2 + 0.5 * allowance)
    large = dataclasses.replace(fit, holdout_chi2=fit.holdout_fit_chi2 + 3 * allowance)
    lucky = dataclasses.replace(fit, holdout_chi2=0.5 * fit.holdout_fit_chi2)
    assert reward_parts(small, crn, data).generalization == 0.0
    assert reward_parts(lucky, crn, data).generalization == 0.0
    assert reward(large, crn, data) < reward(small, crn, data) == reward(lucky, crn, data)
    failed_prediction = dataclasses.replace(fit, holdout_chi2=math.inf)
    assert 0.0 < reward(failed_prediction, crn, data) < reward(small, crn, data)


def test_parts_add_up(mm_fit):
    crn, data, fit = mm_fit
    parts = reward_parts(fit, crn, data)
    total = parts.accuracy + parts.generalization + parts.complexity + parts.robustness
    assert parts.score == pytest.approx(total)
    assert parts.reward == pytest.approx((1 + total) ** -0.5)
    assert parts.accuracy == pytest.approx(fit.loss / fit.num_points)
    assert parts.complexity == pytest.approx(2 * 3 * math.log(fit.num_points) / fit.num_points)


def test_a_fit_of_another_crn_or_data_set_is_refused(mm_fit):
    crn, data, fit = mm_fit
    with pytest.raises(ValueError, match="not a fit of"):
        reward(fit, crn.remove_reaction(0), data)
    with pytest.raises(ValueError, match="data points"):
        reward(fit, crn, data.subset([0, 1]))


# ---------------------------------------------------------------------------- calibration
def neighbours(crn, num_supersets, rng):
    """Every one-reaction subset and a seeded sample of one-reaction supersets."""
    out = [(f"-[{crn.reaction_text(r)}]", crn.remove_reaction(r)) for r in range(crn.num_reactions)]
    max_order = max(2, int(crn.reactants.sum(axis=1).max()), int(crn.products.sum(axis=1).max()))
    reactants, products = crn.candidate_reactions(max_order)
    new = [k for k in range(len(reactants)) if not crn.has_reaction(reactants[k], products[k])]
    if len(new) > num_supersets:
        new = sorted(rng.choice(new, size=num_supersets, replace=False).tolist())
    for k in new:
        child = crn.add_reaction((reactants[k], products[k]))
        out.append((f"+[{child.reaction_text(child.num_reactions - 1)}]", child))
    return out


def beaten_by(name, seed=0, num_supersets=50):
    """Labels of the subsets and supersets whose reward reaches the true network's (5% noise).

    Same protocol as experiments/calibration.py: the true network is fitted from rates perturbed by
    factors in [0.3, 3]; its neighbours are warm started from that fit, as in the search.
    """
    model = EXAMPLES[name]
    seeds = np.random.SeedSequence([seed, sum(map(ord, name))]).spawn(4)
    data_rng, start_rng, sample_rng = (np.random.default_rng(s) for s in seeds[:3])
    crn = model.crn
    data = model.make_dataset(noise=0.05, rng=data_rng)
    start = model.rates_array * np.exp(start_rng.uniform(np.log(0.3), np.log(3.0), crn.num_reactions))
    truth = fit_rates(crn, data, rng=seeds[3], warm_start=dict(zip(crn.reactions_text(), start)))
    target = reward(truth, crn, data)
    losers = []
    fit_seeds = seeds[3].spawn(crn.num_reactions + num_supersets + 1)
    for (label, child), fit_seed in zip(neighbours(crn, num_supersets, sample_rng), fit_seeds):
        fit = fit_rates(child, data, rng=fit_seed, warm_start=truth, config=FitConfig())
        if reward(fit, child, data) >= target:
            losers.append(label)
    return losers


KNOWN_INDISTINGUISHABLE = {"tumour_immune"}
"""tumour_immune: the complex's exit to T (C -> T, rate 0.02 against 1.0 for C -> E) changes the
observed E and T by far less than 5% noise: removing it raises chi-square by about 0.02 (the fit often
drives its rate to zero), so every criterion that charges for a parameter prefers the subset. The data
cannot support that reaction. (Calibration over 5 seeds: experiments/calibration.py, reward docstring.)"""


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(reason="reaction below the noise", strict=False))
    if name in KNOWN_INDISTINGUISHABLE else name for name in sorted(EXAMPLES)])
def test_true_network_outranks_its_subsets_and_supersets(name):
    """At 5% noise the true network's reward exceeds that of every one-reaction subset and of 50 sampled
    one-reaction supersets: 11 of the 12 examples (the acceptance asks for 9 of 10)."""
    assert beaten_by(name) == []
