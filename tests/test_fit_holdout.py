"""The held-out prediction's chi-square measured against its own uncertainty (FitConfig.holdout_predictive)."""
import numpy as np
from hypothesis import given, settings, strategies as st

from mcts_crn import fit_rates
from mcts_crn.config import FitConfig
from mcts_crn.fit.fit import _predictive_chi2
from mcts_crn.reward import reward_parts

from conftest import EXPERIMENTS, experiment_script


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(0, 3))
def test_predictive_chi2_is_the_mahalanobis_distance_under_the_predictive_covariance(seed, num_rates, num_other):
    """Woodbury with a profiled Fisher information against the direct formula: the refit's covariance of
    the rates is the rate block of the inverse of its full information matrix."""
    rng = np.random.default_rng(seed)
    n, m = 12, 30
    r = rng.normal(size=n)
    jac = rng.normal(size=(n, num_rates))
    train_jac = rng.normal(size=(m, num_rates + num_other))
    covariance = np.linalg.inv(train_jac.T @ train_jac)[:num_rates, :num_rates]
    direct = r @ np.linalg.solve(np.eye(n) + jac @ covariance @ jac.T, r)
    assert np.isclose(_predictive_chi2(r, jac, train_jac, num_rates), direct, rtol=1e-8)
    # sharply fixed rates: the plain chi-square; rates the refit leaves open: what a least-squares
    # adjustment of the rates to the held-out experiment leaves
    assert np.isclose(_predictive_chi2(r, jac, 1e6 * train_jac, num_rates), r @ r, rtol=1e-6)
    projected = r - jac @ np.linalg.lstsq(jac, r, rcond=None)[0]
    assert np.isclose(_predictive_chi2(r, jac, 0 * train_jac, num_rates), projected @ projected, atol=1e-8)


def _competitive_lotka_volterra():
    with experiment_script("recovery.py", "recovery_for_holdout") as recovery:
        return recovery.load_models(EXPERIMENTS / "heldout_models.json")["competitive_lotka_volterra"]


def test_a_true_network_whose_rates_only_the_held_out_experiment_separates_keeps_its_reward():
    """Competitive Lotka-Volterra: the first experiment alone leaves the two competition rates open, so a
    refit to it predicts the second experiment poorly (plain chi-squares of 200 to 3000 for 82 points over
    six data sets) while the prediction's spread covers the data. The predictive chi-square is never
    larger, is near the number of points in the median, and the true network scores as a correct network
    does (median reward above 0.6, against under 0.55 with the plain chi-square). The fit itself is the same."""
    model = _competitive_lotka_volterra()
    plain_chi2, chi2, plain_rewards, rewards, points = [], [], [], [], []
    for seed in range(6):
        data = model.make_dataset(noise=0.05, rng=seed)
        plain = fit_rates(model.crn, data, rng=0, config=FitConfig(holdout_predictive=False))
        predictive = fit_rates(model.crn, data, rng=0)
        assert np.array_equal(plain.rates, predictive.rates) and plain.loss == predictive.loss
        plain_chi2.append(plain.holdout_chi2)
        chi2.append(predictive.holdout_chi2)
        points.append(predictive.holdout_points)
        plain_rewards.append(reward_parts(plain, model.crn, data).reward)
        rewards.append(reward_parts(predictive, model.crn, data).reward)
    assert all(c <= p for c, p in zip(chi2, plain_chi2))
    assert np.median(plain_chi2) > 2.5 * np.median(points)
    assert np.median(chi2) < 1.5 * np.median(points)
    assert np.median(plain_rewards) < 0.55 < 0.6 < np.median(rewards)
