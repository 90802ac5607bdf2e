"""The least-squares problem: species matching, initial values, parameter layout, exact Jacobian."""
import numpy as np
import pytest

from mcts_crn.config import FitConfig
from mcts_crn.crn import Crn
from mcts_crn.data import Dataset, Experiment
from mcts_crn.examples import EXAMPLES
from mcts_crn.fit import FitProblem, fisher_uncertainty, match_species

MM = "E + S -> C\nC -> E + S\nC -> E + P"


def mm_data(initial=None, noise=0.02, seed=0, first_missing=False):
    """Michaelis-Menten data over S and P, two experiments, optionally without known initial values."""
    model = EXAMPLES["michaelis_menten"]
    full = model.make_dataset(noise=noise, rng=seed)
    experiments = []
    for x in full.experiments[:2]:
        values = np.array(x.values)
        if first_missing:
            values[0, 0] = np.nan
        experiments.append(Experiment(x.name, x.times, values, {} if initial is None else initial))
    return Dataset(full.species, experiments, noise=noise)


def test_species_are_matched_by_name_and_mismatches_are_refused():
    data = mm_data()
    crn = Crn.from_text(MM, observed=["P", "S"])
    assert list(match_species(crn, data)) == [crn.species.index("S"), crn.species.index("P")]
    with pytest.raises(ValueError, match=r"observed species \['E'\]"):
        match_species(Crn.from_text(MM, observed=["S", "P", "E"]), data)
    with pytest.raises(ValueError, match=r"data set species \['P'\] are not species"):
        match_species(Crn.from_text("E + S -> C\nC -> E + S", observed=["S"]), data)


def test_a_latent_species_with_a_data_column_is_compared_with_it():
    model = EXAMPLES["michaelis_menten"]
    data = model.make_dataset(noise=0.01, rng=0, observed=model.crn.species)
    problem = FitProblem(model.crn, data, FitConfig())       # E, C latent in the crn, but measured
    assert problem.num_points == data.num_points


def test_initial_value_policy():
    data = mm_data()                                       # no initial values known
    crn = Crn.from_text(MM, observed=["S", "P"])
    problem = FitProblem(crn, data, FitConfig())
    # S: first observation positive -> fitted per experiment; P: first observation 0 -> fixed at 0;
    # E, C latent and unknown -> one shared fitted value each
    assert problem.parameter_names() == (
        "k[E + S -> C]", "k[C -> E + S]", "k[C -> E + P]", "S(0)@1", "S(0)@2", "E(0)", "C(0)")
    first_s = [x.values[0, 0] for x in data.experiments]
    np.testing.assert_allclose(problem.initial_of(problem.theta_from(np.ones(3)))[:2], first_s)
    fixed = FitProblem(crn, data, FitConfig(fit_observed_initial=False, latent_initial="per_experiment"))
    assert fixed.parameter_names()[3:] == ("E(0)@1", "E(0)@2", "C(0)@1", "C(0)@2")
    np.testing.assert_allclose(fixed.x0_base[:, crn.species.index("S")] * fixed.amount_scale, first_s)
    known = FitProblem(crn, mm_data(initial={"E": 1.0, "C": 0.0, "S": 10.0, "P": 0.0}), FitConfig())
    assert known.num_initial == 0
    missing = FitProblem(crn, mm_data(initial={"E": 1.0, "C": 0.0}, first_missing=True), FitConfig())
    assert missing.parameter_names()[3:] == ("S(0)@1", "S(0)@2")


def test_rescaling_round_trips_rates_and_initial_values():
    problem = FitProblem(Crn.from_text(MM, observed=["S", "P"]), mm_data(), FitConfig())
    rates = np.array([1.0, 0.5, 0.3])
    initial = np.array([9.0, 5.0, 1.2, 0.1])
    theta = problem.theta_from(rates, initial)
    np.testing.assert_allclose(problem.rates_of(theta), rates)
    np.testing.assert_allclose(problem.initial_of(theta), initial)
    # k' = k tau c^(order - 1): the second-order binding gains tau c, the first-order steps tau
    shift = theta[:3] - np.log(rates)
    np.testing.assert_allclose(shift, np.log(problem.time_scale) + np.array([1, 0, 0]) * np.log(problem.amount_scale))


@pytest.mark.parametrize("latent_initial", ["shared", "per_experiment"])
def test_exact_jacobian_matches_central_differences(latent_initial):
    """d r / d theta from the forward sensitivities against central differences of the residuals.

    Tight integration tolerances (rtol 1e-10) make both sides accurate to about 1e-8 relative; central
    differences with step 1e-5 in log space have truncation error ~1e-10. A tolerance of 1e-5 relative
    to the column norm leaves two orders of margin.
    """
    crn = Crn.from_text(MM, observed=["S", "P"])
    config = FitConfig(rtol=1e-10, atol=1e-10, latent_initial=latent_initial, max_steps=200_000)
    problem = FitProblem(crn, mm_data(), config)
    initial = [9.5, 5.2, 0.9, 0.05] if latent_initial == "shared" else [9.5, 5.2, 0.9, 1.1, 0.05, 0.02]
    theta = problem.theta_from(np.array([0.8, 0.6, 0.25]), np.array(initial))
    _, jac, ok, _ = problem.evaluate(theta[None, :], jacobian=True)
    assert ok[0]
    h = 1e-5
    for p in range(problem.num_params):
        plus, minus = theta.copy(), theta.copy()
        plus[p] += h
        minus[p] -= h
        r_plus, _, ok_p, _ = problem.evaluate(plus[None, :], jacobian=False)
        r_minus, _, ok_m, _ = problem.evaluate(minus[None, :], jacobian=False)
        assert ok_p[0] and ok_m[0]
        numeric = (r_plus[0] - r_minus[0]) / (2 * h)
        scale = np.linalg.norm(numeric)
        assert scale > 0, problem.parameter_names()[p]
        assert np.linalg.norm(jac[0, :, p] - numeric) <= 1e-5 * scale, problem.parameter_names()[p]


def test_loss_gradient_is_twice_jacobian_transpose_residuals():
    crn = Crn.from_text(MM, observed=["S", "P"])
    problem = FitProblem(crn, mm_data(initial={"E": 1.0, "C": 0.0}), FitConfig(rtol=1e-10, atol=1e-10))
    theta = problem.theta_from(np.array([1.3, 0.4, 0.35]))
    r, jac, _, _ = problem.evaluate(theta[None, :])
    grad = 2 * jac[0].T @ r[0]
    h = 1e-6
    for p in range(problem.num_params):
        step = np.zeros_like(theta)
        step[p] = h
        lp = problem.evaluate((theta + step)[None, :], jacobian=False)[0][0]
        lm = problem.evaluate((theta - step)[None, :], jacobian=False)[0][0]
        numeric = (lp @ lp - lm @ lm) / (2 * h)
        assert abs(grad[p] - numeric) <= 1e-5 * max(abs(numeric), 1.0)


def test_missing_values_are_skipped_and_weights_follow_the_noise_model():
    data = mm_data(initial={"E": 1.0, "C": 0.0})
    x = data.experiments[0]
    values = np.array(x.values)
    values[5:9, 1] = np.nan
    gappy = Dataset(data.species, [Experiment(x.name, x.times, values, x.initial_values)], noise=[0.02, 0.04],
                    noise_model="absolute")
    problem = FitProblem(Crn.from_text(MM, observed=["S", "P"]), gappy, FitConfig())
    assert problem.num_points == np.count_nonzero(~np.isnan(values)) == values.size - 4
    # absolute noise: weights c / sigma with sigma the species' level
    assert set(np.round(problem.w * 0.02 / problem.amount_scale, 12)) <= {1.0, 0.5}


def test_fisher_uncertainty_flags_undetermined_directions():
    rng = np.random.default_rng(0)
    jac = rng.standard_normal((50, 3))
    se, corr = fisher_uncertainty(jac)
    cov = np.linalg.inv(jac.T @ jac)
    np.testing.assert_allclose(se, np.sqrt(np.diag(cov)), rtol=1e-10)
    np.testing.assert_allclose(corr, cov / np.outer(se, se), rtol=1e-10, atol=1e-12)
    degenerate = np.column_stack([jac[:, 0], jac[:, 0], jac[:, 2], np.zeros(50)])   # p0, p1 only as a sum
    se, corr = fisher_uncertainty(degenerate)
    assert np.isinf(se[[0, 1, 3]]).all() and np.isfinite(se[2])
    assert np.isnan(corr[0, 2]) and corr[2, 2] == 1.0


def test_the_problem_simulates_exactly_like_simulate_batch():
    """FitProblem calls the kernel with arrays laid out once; the results equal the public wrapper's."""
    from mcts_crn.simulate import simulate_batch

    crn = Crn.from_text(MM, observed=["S", "P"])
    data = mm_data()
    problem = FitProblem(crn, data, FitConfig())
    theta = np.array([problem.theta_from(np.array([0.8, 0.6, 0.25]), np.array([9.5, 5.2, 0.9, 0.05])),
                      problem.theta_from(np.array([1.2, 0.4, 0.35]), np.array([9.0, 5.0, 1.1, 0.01]))])
    mine = problem.simulate(theta, jacobian=True)
    public = simulate_batch(crn, np.exp(theta[:, :3]), problem.x0_of(theta), problem.times,
                            num_times=problem.num_times, t0=problem.t0, sensitivities=True,
                            x0_params=problem.kernel_x0_species, rtol=problem.rtol, atol=problem.atol,
                            max_steps=problem.config.max_steps)
    np.testing.assert_array_equal(mine.status, public.status)
    for e, n in enumerate(problem.num_times):
        np.testing.assert_array_equal(mine.states[:, e, :n], public.states[:, e, :n])
        np.testing.assert_array_equal(mine.sensitivities[:, e, :n], public.sensitivities[:, e, :n])
