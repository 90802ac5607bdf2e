import numpy as np
import pytest

from mcts_crn.examples import EXAMPLES
from mcts_crn.render.sbml import from_sbml, sbml_errors, to_sbml


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_sbml_is_consistent_and_reads_back(name):
    model = EXAMPLES[name]
    text = to_sbml(model.crn, model.rates_array, model.x0(0), notes=f"example {name} & <test>")
    assert sbml_errors(text) == []
    crn, rates, x0 = from_sbml(text)
    assert crn == model.crn
    np.testing.assert_array_equal(rates, model.rates_array)
    np.testing.assert_array_equal(x0, model.x0(0))


def test_read_back_simulates_to_the_same_trajectories():
    from mcts_crn.simulate import simulate

    for name in ("michaelis_menten", "hiv", "brusselator"):
        model = EXAMPLES[name]
        crn, rates, x0 = from_sbml(to_sbml(model.crn, model.rates_array, model.x0(0)))
        original = simulate(model.crn, model.rates_array, model.x0(0), model.times, rtol=1e-10, atol=1e-12)
        again = simulate(crn, rates, x0, model.times, rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(original, again)


def test_read_back_with_libroadrunner_matches_when_available():
    roadrunner = pytest.importorskip("roadrunner")
    from mcts_crn.simulate import simulate

    model = EXAMPLES["michaelis_menten"]
    rr = roadrunner.RoadRunner(to_sbml(model.crn, model.rates_array, model.x0(0)))
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-12
    result = rr.simulate(0.0, float(model.times[-1]), len(model.times), ["time"] + [f"[{s}]" for s in model.crn.species])
    ours = simulate(model.crn, model.rates_array, model.x0(0), model.times, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(result)[:, 1:], ours, rtol=1e-6, atol=1e-9)
