"""CRN invariants along simulated trajectories: conserved moieties stay constant (to 1e-9 relative) and
amounts stay non-negative (up to the absolute tolerance, see below), for Michaelis-Menten, a
phosphorylation cycle and Robertson's stiff network."""
import numpy as np
import pytest
from scipy.linalg import null_space

from mcts_crn import Crn
from mcts_crn.simulate import simulate_with_status

CASES = {
    "michaelis_menten": ("E + S -> C\nC -> E + S\nC -> E + P", [1.0, 0.5, 0.3],
                         {"E": 1.0, "S": 10.0, "C": 0.0, "P": 0.0}, np.linspace(0, 100, 51)),
    # Kinase K phosphorylates X, phosphatase F dephosphorylates Xp, each through a complex.
    "phosphorylation_cycle": ("K + X -> KX\nKX -> K + X\nKX -> K + Xp\nF + Xp -> FXp\nFXp -> F + Xp\n"
                              "FXp -> F + X", [5.0, 1.0, 2.0, 4.0, 0.5, 1.5],
                              {"K": 0.1, "X": 1.0, "KX": 0.0, "Xp": 0.0, "F": 0.05, "FXp": 0.0},
                              np.linspace(0, 200, 41)),
    "robertson": ("A -> B\n2 B -> B + C\nB + C -> A + C", [0.04, 3e7, 1e4], {"A": 1.0, "B": 0.0, "C": 0.0},
                  np.concatenate([[0.0], np.logspace(-5, 5, 41)])),
}


@pytest.mark.parametrize("rtol", [1e-6, 1e-9])
@pytest.mark.parametrize("name, method", [(name, method) for name in sorted(CASES)
                                          for method in ("auto", "dopri5", "rodas4")
                                          if not (name == "robertson" and method == "dopri5")])
def test_conserved_moieties_and_non_negativity(name, method, rtol):
    text, rates, x0, times = CASES[name]
    crn = Crn.from_text(text)
    x0 = np.array([x0[s] for s in crn.species])
    atol = rtol * 1e-3
    out, status = simulate_with_status(crn, rates, x0, times, method=method, rtol=rtol, atol=atol)
    assert status == 0
    # Conservation laws w: (B - A) w = 0, so w . x(t) is constant for every mass-action rate law.
    laws = null_space((crn.products - crn.reactants).astype(float)).T
    assert laws.shape[0] == {"michaelis_menten": 2, "phosphorylation_cycle": 3, "robertson": 1}[name]
    totals = out @ laws.T
    # Runge-Kutta and Rosenbrock steps are linear combinations of f, so linear invariants hold to rounding.
    np.testing.assert_allclose(totals, np.broadcast_to(totals[0], totals.shape), rtol=1e-9,
                               atol=1e-9 * np.abs(x0).max())
    # Amounts stay non-negative up to the absolute tolerance. Nothing is clipped (clipping would break the
    # conservation laws above); an amount that starts at 0 and grows slowly can come out slightly negative
    # while it is below atol (Robertson's C at t = 1e-5 is 1.6e-11: -2.2e-11 at atol = 1e-9).
    worst = out.min()
    assert worst >= -atol, f"negative amount {worst} of {crn.species[np.argmin(out.min(axis=0))]}"
    if name != "robertson":
        assert worst >= 0.0
