"""The integration kernels: convergence order of the fixed-step modes (states and sensitivities), status
codes, the threaded variant, and parity with NUMBA_DISABLE_JIT=1."""

import numpy as np
import pytest

from mcts_crn import native
from tests.reference.jit_parity import run_with_and_without_jit


# 2 A -> B at rate k A^2:  A(t) = A0 / (1 + 2 k A0 t), so with p = (log k, log A0)
# dA/dlog k = -2 k A0^2 t / (1 + 2 k A0 t)^2  and  dA/dlog A0 = A0 / (1 + 2 k A0 t)^2.
DIMER_REACTANTS = np.array([[2, 0]], dtype=np.int32)
DIMER_PRODUCTS = np.array([[0, 1]], dtype=np.int32)


def run_kernel(reactants, products, rates, x0, times, *, method=native.METHOD_AUTO, rtol=1e-8, atol=1e-10,
               max_steps=100_000, h_fixed=0.0, sens=False, x0_index=(), parallel=False, t0=None):
    """Call integrate_batch on [B, R] rates, [B, X, S] x0 and a shared time grid [T]."""
    rates = np.atleast_2d(np.asarray(rates, dtype=np.float64))
    x0 = np.asarray(x0, dtype=np.float64)
    x0 = x0.reshape((rates.shape[0], -1, reactants.shape[1])) if x0.ndim < 3 else x0
    num_batch, num_exp, num_species = x0.shape
    times = np.asarray(times, dtype=np.float64)
    table = np.ascontiguousarray(np.broadcast_to(times, (num_exp, times.size)))
    index = np.asarray(x0_index, dtype=np.int32)
    num_params = reactants.shape[0] + index.size if sens else 0
    states = np.full((num_batch, num_exp, times.size, num_species), -1.0)
    sens_out = np.full((num_batch, num_exp, times.size, num_species, num_params), -1.0)
    status = np.full((num_batch, num_exp), -1, dtype=np.int32)
    stats = np.zeros((num_batch, num_exp, native.NUM_STATS), dtype=np.int64)
    start = np.full(num_exp, times[0] if t0 is None else t0)
    kernel = native.integrate_batch_parallel if parallel else native.integrate_batch
    kernel(reactants, products, rates, x0, start, table, np.full(num_exp, times.size, dtype=np.int32), index,
           method, rtol, atol, max_steps, h_fixed, sens, states, sens_out, status, stats)
    return states, sens_out, status, stats


@pytest.mark.parametrize("method, order", [(native.METHOD_DOPRI5, 5), (native.METHOD_RODAS4, 4)])
def test_fixed_step_convergence_order_of_states_and_sensitivities(method, order):
    k, a0, t_end = 0.5, 1.0, 2.0
    exact = a0 / (1 + 2 * k * a0 * t_end)
    exact_sens = np.array([-2 * k * a0**2 * t_end, a0]) / (1 + 2 * k * a0 * t_end) ** 2
    steps = np.array([32, 64, 128])
    errors, sens_errors = [], []
    for n in steps:
        states, sens, status, stats = run_kernel(DIMER_REACTANTS, DIMER_PRODUCTS, [k], [a0, 0.0], [0.0, t_end],
                                                 method=method, h_fixed=t_end / n, sens=True, x0_index=[0])
        assert status[0, 0] == native.STATUS_SUCCESS
        assert stats[0, 0, native.STAT_ACCEPTED] == n and stats[0, 0, native.STAT_REJECTED] == 0
        errors.append(abs(states[0, 0, -1, 0] - exact))
        sens_errors.append(np.max(np.abs(sens[0, 0, -1, 0] - exact_sens)))
    h = t_end / steps
    slope = np.polyfit(np.log(h), np.log(errors), 1)[0]
    sens_slope = np.polyfit(np.log(h), np.log(sens_errors), 1)[0]
    # DOPRI5 approaches 5 from above on this problem (5.6 to 5.4 over these steps); Rodas4 sits at 4.03-4.05.
    # A sensitivity system without the coupling block M_p would drop Rodas4 to order 1.
    tolerance = 0.75 if order == 5 else 0.25
    assert abs(slope - order) < tolerance, (slope, errors)
    assert abs(sens_slope - order) < tolerance, (sens_slope, sens_errors)


@pytest.mark.parametrize("method", [native.METHOD_AUTO, native.METHOD_DOPRI5, native.METHOD_RODAS4])
def test_outputs_at_the_start_time_and_repeated_times_are_exact(method):
    times = [0.0, 0.0, 0.3, 0.3, 1.0, 1.0]
    states, sens, status, _ = run_kernel(DIMER_REACTANTS, DIMER_PRODUCTS, [1.0], [1.0, 0.0], times,
                                         method=method, sens=True, x0_index=[0])
    assert status[0, 0] == native.STATUS_SUCCESS
    np.testing.assert_array_equal(states[0, 0, :2], [[1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_array_equal(sens[0, 0, :2, 0], [[0.0, 1.0], [0.0, 1.0]])
    np.testing.assert_array_equal(states[0, 0, 2], states[0, 0, 3])
    np.testing.assert_array_equal(states[0, 0, 4], states[0, 0, 5])
    np.testing.assert_allclose(states[0, 0, [2, 4], 0], 1.0 / (1.0 + 2.0 * np.array([0.3, 1.0])), rtol=1e-7)


@pytest.mark.parametrize("method", [native.METHOD_AUTO, native.METHOD_DOPRI5, native.METHOD_RODAS4])
def test_too_many_steps_is_a_status_and_nan_from_the_failure_on(method):
    times = np.linspace(0.0, 10.0, 11)
    states, sens, status, stats = run_kernel(DIMER_REACTANTS, DIMER_PRODUCTS, [1.0], [1.0, 0.0], times,
                                             method=method, max_steps=5, sens=True)
    assert status[0, 0] == native.STATUS_TOO_MANY_STEPS
    assert stats[0, 0, native.STAT_ACCEPTED] + stats[0, 0, native.STAT_REJECTED] == 5
    np.testing.assert_array_equal(states[0, 0, 0], [1.0, 0.0])
    failed = np.isnan(states[0, 0, :, 0])
    first = int(np.argmax(failed))
    assert 0 < first < times.size and failed[first:].all() and not failed[:first].any()
    assert np.isnan(sens[0, 0, first:]).all() and not np.isnan(sens[0, 0, :first]).any()


@pytest.mark.parametrize("method", [native.METHOD_AUTO, native.METHOD_DOPRI5, native.METHOD_RODAS4])
def test_blow_up_fails_with_a_status_not_an_exception(method):
    # 2 A -> 3 A: dA/dt = k A^2 blows up at t = 1 / (k A0) = 1.
    reactants = np.array([[2]], dtype=np.int32)
    products = np.array([[3]], dtype=np.int32)
    states, _, status, _ = run_kernel(reactants, products, [1.0], [1.0], [0.0, 0.5, 2.0], method=method)
    assert status[0, 0] in (native.STATUS_STEP_TOO_SMALL, native.STATUS_NON_FINITE, native.STATUS_TOO_MANY_STEPS)
    np.testing.assert_allclose(states[0, 0, 1, 0], 2.0, rtol=1e-6)
    assert np.isnan(states[0, 0, 2, 0])


def test_non_finite_inputs_fail_immediately():
    for rates, x0 in (([np.nan], [1.0, 0.0]), ([1.0], [np.inf, 0.0])):
        states, _, status, stats = run_kernel(DIMER_REACTANTS, DIMER_PRODUCTS, rates, x0, [0.0, 1.0])
        assert status[0, 0] == native.STATUS_NON_FINITE
        assert np.isnan(states).all() and stats[0, 0, native.STAT_ACCEPTED] == 0


def test_auto_switches_to_rodas4_on_a_stiff_problem_only():
    # Robertson: A -> B (0.04), 2 B -> B + C (3e7), B + C -> A + C (1e4).
    reactants = np.array([[1, 0, 0], [0, 2, 0], [0, 1, 1]], dtype=np.int32)
    products = np.array([[0, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=np.int32)
    times = np.concatenate([[0.0], np.logspace(-4, 5, 10)])
    _, _, status, stats = run_kernel(reactants, products, [0.04, 3e7, 1e4], [1.0, 0.0, 0.0], times,
                                     rtol=1e-6, atol=1e-10)
    assert status[0, 0] == native.STATUS_SUCCESS
    assert stats[0, 0, native.STAT_IMPLICIT_STEPS] > 0
    assert stats[0, 0, native.STAT_ACCEPTED] < 400
    # A non-stiff oscillator (Lotka-Volterra) stays explicit.
    reactants = np.array([[1, 0], [1, 1], [0, 1]], dtype=np.int32)
    products = np.array([[2, 0], [0, 2], [0, 0]], dtype=np.int32)
    _, _, status, stats = run_kernel(reactants, products, [1.0, 0.1, 1.5], [10.0, 5.0], np.linspace(0, 30, 31),
                                     rtol=1e-6, atol=1e-9)
    assert status[0, 0] == native.STATUS_SUCCESS and stats[0, 0, native.STAT_IMPLICIT_STEPS] == 0


def _batch_case():
    # Michaelis-Menten with an explicit complex, 3 parameter sets x 2 experiments, with sensitivities.
    reactants = np.array([[1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0]], dtype=np.int32)
    products = np.array([[0, 0, 1, 0], [1, 1, 0, 0], [1, 0, 0, 1]], dtype=np.int32)
    rates = np.array([[1.0, 0.5, 0.3], [2.0, 0.1, 1.0], [0.5, 1.0, 0.05]])
    x0 = np.broadcast_to(np.array([[1.0, 10.0, 0.0, 0.0], [0.5, 3.0, 0.2, 0.0]]), (3, 2, 4)).copy()
    return reactants, products, rates, x0


def test_parallel_kernel_equals_serial_kernel():
    reactants, products, rates, x0 = _batch_case()
    times = np.linspace(0.0, 20.0, 9)
    serial = run_kernel(reactants, products, rates, x0, times, sens=True, x0_index=[0])
    threaded = run_kernel(reactants, products, rates, x0, times, sens=True, x0_index=[0], parallel=True)
    for a, b in zip(serial, threaded):
        np.testing.assert_array_equal(a, b)


PARITY_SCRIPT = """
import sys
import numpy as np
from tests.test_native_integrate import _batch_case, run_kernel
from mcts_crn import native
reactants, products, rates, x0 = _batch_case()
out = {}
for method in (native.METHOD_AUTO, native.METHOD_DOPRI5, native.METHOD_RODAS4):
    states, sens, status, stats = run_kernel(reactants, products, rates[:2], x0[:2], np.linspace(0.0, 8.0, 5),
                                             method=method, rtol=1e-5, atol=1e-8, sens=True, x0_index=[0, 2])
    out.update({f"states{method}": states, f"sens{method}": sens, f"status{method}": status,
                f"stats{method}": stats})
np.savez(sys.argv[1], **out)
"""


def test_kernels_give_the_same_result_with_jit_disabled(tmp_path):
    results = run_with_and_without_jit(PARITY_SCRIPT, tmp_path, timeout=600)
    assert results["0"].keys() == results["1"].keys() and len(results["0"]) == 12
    for name, value in results["0"].items():
        np.testing.assert_array_equal(value, results["1"][name], err_msg=name)
