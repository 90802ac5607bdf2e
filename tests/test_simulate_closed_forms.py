"""Analytic solutions: A -> B, A <-> B, 2 A -> B (states and sensitivities), and Robertson's stiff problem
against a tight scipy Radau solve.

Tolerances: the integrators control the local error per step at ``rtol = 1e-8`` (atol 1e-12); the global
error of these contracting problems stays within a small multiple of it, so states are checked at 1e-6
relative (100x the local tolerance, margin for accumulation over up to a few hundred steps).
"""
import numpy as np
import pytest

from mcts_crn import Crn
from mcts_crn.simulate import simulate, simulate_sensitivities, simulate_with_status
from tests.reference.simulate_reference import solve_reference

METHODS = ["auto", "dopri5", "rodas4"]
TIMES = np.linspace(0.0, 5.0, 26)


@pytest.mark.parametrize("method", METHODS)
def test_decay(method):
    # A -> B at rate k:  A = A0 exp(-k t),  dA/dlog k = -k t A,  dA/dlog A0 = A.
    crn = Crn.from_text("A -> B")
    k, a0 = 0.7, 2.0
    states, sens, status = simulate_sensitivities(crn, [k], [a0, 0.0], TIMES, x0_params=[0], method=method,
                                                  rtol=1e-8, atol=1e-12)
    assert status == 0
    a = a0 * np.exp(-k * TIMES)
    np.testing.assert_allclose(states[:, 0], a, rtol=1e-6)
    np.testing.assert_allclose(states[:, 1], a0 - a, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(sens[:, 0, 0], -k * TIMES * a, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(sens[:, 0, 1], a, rtol=1e-6)
    np.testing.assert_allclose(sens[:, 1, 0], k * TIMES * a, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_reversible_isomerization(method):
    # A <-> B (kf, kb):  A = A_eq + (A0 - A_eq) exp(-(kf + kb) t),  A_eq = kb (A0 + B0) / (kf + kb).
    crn = Crn.from_text("A -> B\nB -> A")
    kf, kb, a0, b0 = 1.3, 0.4, 1.0, 0.5
    out = simulate(crn, [kf, kb], [a0, b0], TIMES, method=method, rtol=1e-8, atol=1e-12)
    total = a0 + b0
    a_eq = kb * total / (kf + kb)
    a = a_eq + (a0 - a_eq) * np.exp(-(kf + kb) * TIMES)
    np.testing.assert_allclose(out[:, 0], a, rtol=1e-6)
    np.testing.assert_allclose(out[:, 1], total - a, rtol=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_dimerization(method):
    # 2 A -> B at rate k A^2:  A = A0 / (1 + 2 k A0 t),  B = (A0 - A) / 2.
    crn = Crn.from_text("2 A -> B")
    k, a0 = 0.8, 3.0
    states, sens, status = simulate_sensitivities(crn, [k], [a0, 0.0], TIMES, x0_params=[0], method=method,
                                                  rtol=1e-8, atol=1e-12)
    assert status == 0
    denom = 1.0 + 2.0 * k * a0 * TIMES
    np.testing.assert_allclose(states[:, 0], a0 / denom, rtol=1e-6)
    np.testing.assert_allclose(states[:, 1], (a0 - a0 / denom) / 2.0, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(sens[:, 0, 0], -2.0 * k * a0**2 * TIMES / denom**2, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(sens[:, 0, 1], a0 / denom**2, rtol=1e-6)


ROBERTSON = Crn.from_text("A -> B\n2 B -> B + C\nB + C -> A + C")
ROBERTSON_RATES = np.array([0.04, 3e7, 1e4])
ROBERTSON_TIMES = np.concatenate([[0.0], np.logspace(-5, 5, 31)])


@pytest.fixture(scope="module")
def robertson_reference():
    return solve_reference(ROBERTSON, ROBERTSON_RATES, [1.0, 0.0, 0.0], ROBERTSON_TIMES, method="Radau",
                           rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("method", ["auto", "rodas4"])
@pytest.mark.parametrize("rtol", [1e-6, 1e-9])
def test_robertson_against_radau(robertson_reference, method, rtol):
    atol = rtol * 1e-4
    out, status = simulate_with_status(ROBERTSON, ROBERTSON_RATES, [1.0, 0.0, 0.0], ROBERTSON_TIMES,
                                       method=method, rtol=rtol, atol=atol)
    assert status == 0
    # The global error stays within 6 x the mixed tolerance rtol |x| + atol (B, at most 3.7e-5, is under
    # absolute control); 20 x leaves margin. The reference (Radau, rtol 1e-10) is 1e-11 accurate.
    error = np.abs(out - robertson_reference) / (rtol * np.abs(robertson_reference) + atol)
    assert error.max() < 20, error.max(axis=0)
    assert out.min() >= 0.0
