import numpy as np
import sympy

from mcts_crn.crn import Crn
from mcts_crn.examples import EXAMPLES
from mcts_crn.render import ode_latex, ode_system, ode_text, reactions_with_rates
from tests.reference.crn_reference import mass_action_rhs


def test_michaelis_menten_equals_hand_written_odes():
    crn = Crn.from_text("E + S -> C\nC -> E + S\nC -> E + P", observed=["S", "P"])
    E, S, C, P = sympy.symbols("E S C P", nonnegative=True, real=True)
    k1, k2, k3 = sympy.symbols("k1 k2 k3", positive=True)
    hand = {
        "E": -k1 * E * S + k2 * C + k3 * C,
        "S": -k1 * E * S + k2 * C,
        "C": k1 * E * S - k2 * C - k3 * C,
        "P": k3 * C,
    }
    system = ode_system(crn)
    assert list(system) == ["E", "S", "C", "P"]
    for name, expr in hand.items():
        assert sympy.simplify(system[name] - expr) == 0


def test_numeric_odes_match_reference_rhs_on_every_example():
    rng = np.random.default_rng(0)
    for model in EXAMPLES.values():
        crn = model.crn
        system = ode_system(crn, model.rates_array)
        symbols = [sympy.Symbol(n, nonnegative=True, real=True) for n in crn.species]
        x = rng.uniform(0.1, 2.0, crn.num_species)
        values = dict(zip(symbols, x))
        got = np.array([float(system[n].subs(values)) for n in crn.species])
        want = mass_action_rhs(crn, model.rates_array, x)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


def test_text_and_latex_forms():
    crn = Crn.from_text("2 A -> B\nB -> 0")
    text = ode_text(crn)
    assert text.splitlines() == ["dA/dt = -2*A**2*k1", "dB/dt = A**2*k1 - B*k2"]
    latex = ode_latex(crn, [0.5, 2.0])
    assert latex.startswith("\\begin{aligned}") and latex.endswith("\\end{aligned}")
    assert "\\frac{dA}{dt} &= - 1.0 A^{2}" in latex
    lines = reactions_with_rates(crn, [0.5, 2.0], [0.01, np.nan])
    assert lines[0].split() == ["2", "A", "->", "B", "k1", "=", "0.5", "±", "0.01"]
    assert lines[1].split() == ["B", "->", "0", "k2", "=", "2"]
