"""Forward sensitivities against central finite differences (relative error < 1e-4), on models that cover
complexes, oscillations, epidemics, a stiff network, sources and sinks, order-3 reactions and latent initial
values, with each integration method."""
import numpy as np
import pytest

from mcts_crn import Crn
from tests.reference.simulate_reference import check_sensitivities

MODELS = {
    # Michaelis-Menten with an explicit complex; the enzyme and the complex are latent (initial values fitted).
    "michaelis_menten": ("E + S -> C\nC -> E + S\nC -> E + P", [1.0, 0.5, 0.3],
                         {"E": 1.0, "S": 10.0, "C": 0.5, "P": 0.0}, np.linspace(0, 30, 16), ("E", "C")),
    "lotka_volterra": ("X -> 2 X\nX + Y -> 2 Y\nY -> 0", [1.0, 0.1, 1.5], {"X": 10.0, "Y": 5.0},
                       np.linspace(0, 15, 31), ("Y",)),
    "sir": ("S + I -> 2 I\nI -> R", [0.002, 0.5], {"S": 999.0, "I": 1.0, "R": 0.0}, np.linspace(0, 50, 26),
            ("I",)),
    "robertson": ("A -> B\n2 B -> B + C\nB + C -> A + C", [0.04, 3e7, 1e4], {"A": 1.0, "B": 0.0, "C": 0.0},
                  np.concatenate([[0.0], np.logspace(-4, 4, 17)]), ("A",)),
    "order_three_with_source_and_sink": ("2 A + B -> C\nC -> 2 A + B\n0 -> A\nC -> 0", [1.6, 0.7, 0.1, 0.2],
                                         {"A": 1.0, "B": 0.5, "C": 1.0}, np.linspace(0, 6, 13), ("A", "B", "C")),
    # HIV target-cell model with latent infected cells: 0 -> T, T -> 0, T + V -> I + V, I -> 0, I -> I + V, V -> 0.
    "hiv_target_cells": ("0 -> T\nT -> 0\nT + V -> I + V\nI -> 0\nI -> I + V\nV -> 0",
                         [10.0, 0.01, 2e-5, 0.7, 1000.0, 13.0], {"T": 1000.0, "I": 0.0, "V": 1e-3},
                         np.linspace(0, 40, 21), ("T", "V")),
}


# Every model with every method, except the explicit method on Robertson (too stiff for it).
CASES = [(name, method) for name in sorted(MODELS) for method in ("auto", "dopri5", "rodas4")
         if not (name == "robertson" and method == "dopri5")]


@pytest.mark.parametrize("name, method", CASES)
def test_sensitivities_match_finite_differences(name, method):
    text, rates, x0, times, latent = MODELS[name]
    crn = Crn.from_text(text)
    x0 = np.array([x0[s] for s in crn.species])
    x0_params = [crn.species.index(s) for s in latent]
    worst = check_sensitivities(crn, np.array(rates), x0, times, x0_params=x0_params, method=method)
    assert worst < 1e-4


def test_sensitivities_at_default_tolerances_are_close_enough_for_fitting():
    # The fitter runs at rtol ~ 1e-5..1e-6: the sensitivities must still carry 3 or more correct digits.
    text, rates, x0, times, latent = MODELS["michaelis_menten"]
    crn = Crn.from_text(text)
    x0 = np.array([x0[s] for s in crn.species])
    worst = check_sensitivities(crn, np.array(rates), x0, times, x0_params=[0, 2], rtol=1e-6, atol=1e-9,
                                tol=1e-3)
    assert worst < 1e-3
