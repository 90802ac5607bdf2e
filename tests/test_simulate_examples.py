"""Every example model: sensitivities against finite differences, conserved moieties, non-negativity."""
import numpy as np
import pytest

from mcts_crn.examples import EXAMPLES
from mcts_crn.simulate import simulate
from tests.reference.simulate_reference import check_sensitivities


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_sensitivities_match_finite_differences(name):
    model = EXAMPLES[name]
    crn = model.crn
    # log initial values are parameters only where they are positive (d x / d log x0 = x0 dx/dx0)
    latent = [i for i in np.flatnonzero(crn.latent) if model.x0(0)[i] > 0]
    times = model.times[:: max(1, len(model.times) // 10)]
    check_sensitivities(crn, model.rates_array, model.x0(0), times, x0_params=latent, tol=1e-4)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_conserved_moieties_and_non_negative_states(name):
    model = EXAMPLES[name]
    crn = model.crn
    laws = crn.conservation_laws().astype(np.float64)
    atol = 1e-12
    for e in range(len(model.initial)):
        x0 = model.x0(e)
        states = simulate(crn, model.rates_array, x0, model.times, rtol=1e-10, atol=atol)
        assert np.isfinite(states).all()
        # amounts stay non-negative up to the absolute tolerance of the local error test
        assert states.min() >= -10 * atol
        for w in laws:
            totals = states @ w
            scale = np.abs(states) @ np.abs(w)
            np.testing.assert_array_less(np.abs(totals - totals[0]), 1e-9 * np.maximum(scale, 1e-300) + 1e-15)
