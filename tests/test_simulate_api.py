"""The simulate wrappers: shapes, batching and padding semantics, start times, settings, validation and
failures reported as data."""
import logging

import numpy as np
import pytest

from mcts_crn import Crn
from mcts_crn.config import SimulateConfig
from mcts_crn.simulate import METHODS, STATUS_MESSAGES, simulate, simulate_batch, simulate_sensitivities, \
    simulate_with_status, status_message

MM = Crn.from_text("E + S -> C\nC -> E + S\nC -> E + P", observed=["S", "P"])
MM_RATES = np.array([1.0, 0.5, 0.3])
MM_X0 = np.array([1.0, 10.0, 0.0, 0.0])  # E, S, C, P


def test_simulate_returns_time_by_species_and_starts_at_x0():
    times = np.linspace(0.0, 30.0, 31)
    out = simulate(MM, MM_RATES, MM_X0, times)
    assert out.shape == (31, 4) and out.dtype == np.float64
    np.testing.assert_array_equal(out[0], MM_X0)
    # Substrate is converted into product: S + C + P = 10 and E + C = 1 throughout.
    np.testing.assert_allclose(out[:, 1] + out[:, 2] + out[:, 3], 10.0, rtol=1e-10)
    assert out[-1, 3] > 7.0


def test_every_method_name_agrees_within_tolerance():
    times = np.linspace(0.0, 30.0, 7)
    results = {m: simulate(MM, MM_RATES, MM_X0, times, method=m, rtol=1e-9, atol=1e-12) for m in METHODS}
    assert set(results) == {"auto", "dopri5", "rodas4"}
    for out in results.values():
        np.testing.assert_allclose(out, results["dopri5"], rtol=1e-6, atol=1e-9)


def test_config_supplies_defaults_and_keywords_override_it():
    times = np.linspace(0.0, 30.0, 7)
    config = SimulateConfig(method="rodas4", rtol=1e-4, atol=1e-7, max_steps=3)
    _, status = simulate_with_status(MM, MM_RATES, MM_X0, times, config=config)
    assert status == 1  # max_steps from the config
    out, status = simulate_with_status(MM, MM_RATES, MM_X0, times, config=config, max_steps=10_000)
    assert status == 0
    np.testing.assert_array_equal(out, simulate(MM, MM_RATES, MM_X0, times, method="rodas4", rtol=1e-4,
                                                atol=1e-7))


def test_batch_over_parameter_sets_and_ragged_experiments_matches_single_runs():
    rng = np.random.default_rng(0)
    rates = MM_RATES * np.exp(rng.normal(0.0, 0.5, size=(5, 3)))
    x0 = np.array([[1.0, 10.0, 0.0, 0.0], [0.5, 5.0, 0.1, 0.0], [2.0, 1.0, 0.0, 1.0]])
    times = [np.linspace(0.0, 30.0, 31), np.array([0.0, 2.0, 5.0]), np.linspace(1.0, 4.0, 13)]
    result = simulate_batch(MM, rates, x0, times)
    assert result.states.shape == (5, 3, 31, 4) and result.status.shape == (5, 3)
    assert result.sensitivities is None and result.stats.shape == (5, 3, 4)
    np.testing.assert_array_equal(result.num_times, [31, 3, 13])
    assert (result.status == 0).all()
    for b in range(5):
        for x in range(3):
            single = simulate(MM, rates[b], x0[x], times[x])
            n = len(times[x])
            np.testing.assert_array_equal(result.states[b, x, :n], single)
            assert np.isnan(result.states[b, x, n:]).all()


def test_padded_times_with_counts_and_per_set_initial_values():
    table = np.array([[0.0, 1.0, 2.0, 3.0], [0.0, 0.5, 9.0, 9.0]])
    x0 = np.stack([np.tile(MM_X0, (2, 1)), np.tile(MM_X0 * 2, (2, 1))])  # [B=2, X=2, S]
    result = simulate_batch(MM, np.tile(MM_RATES, (2, 1)), x0, table, num_times=[4, 2])
    assert result.states.shape == (2, 2, 4, 4)
    np.testing.assert_array_equal(result.states[1, 1, :2], simulate(MM, MM_RATES, MM_X0 * 2, [0.0, 0.5]))
    assert np.isnan(result.states[:, 1, 2:]).all()


def test_one_rate_vector_is_shared_by_several_initial_value_sets():
    x0 = np.stack([np.tile(MM_X0, (2, 1)), np.tile(MM_X0 * 0.5, (2, 1))])  # [B=2, X=2, S]
    result = simulate_batch(MM, MM_RATES, x0, [0.0, 1.0, 4.0])
    assert result.states.shape == (2, 2, 3, 4)
    np.testing.assert_array_equal(result.states[1, 0], simulate(MM, MM_RATES, MM_X0 * 0.5, [0.0, 1.0, 4.0]))


def test_start_time_before_the_first_observation():
    late = simulate(MM, MM_RATES, MM_X0, [2.0, 5.0], t0=0.0)
    full = simulate(MM, MM_RATES, MM_X0, [0.0, 2.0, 5.0])
    np.testing.assert_allclose(late, full[1:], rtol=1e-7, atol=1e-10)
    shifted = simulate(MM, MM_RATES, MM_X0, [2.0, 5.0])  # default t0: the first time
    np.testing.assert_array_equal(shifted[0], MM_X0)
    batch = simulate_batch(MM, MM_RATES, np.tile(MM_X0, (2, 1)), [[2.0, 5.0], [1.0, 3.0]], t0=[0.0, 1.0])
    np.testing.assert_allclose(batch.states[0, 0], late, rtol=1e-12)
    np.testing.assert_array_equal(batch.states[0, 1, 0], MM_X0)


def test_sensitivity_forms_agree_and_take_species_names():
    times = np.linspace(0.0, 10.0, 11)
    states, sens, status = simulate_sensitivities(MM, MM_RATES, MM_X0, times, x0_params=["E", "S"])
    assert status == 0 and sens.shape == (11, 4, 5)
    # The sensitivities take part in the error test, so the step sequence (not the solution) differs.
    np.testing.assert_allclose(states, simulate(MM, MM_RATES, MM_X0, times), rtol=1e-5, atol=1e-8)
    by_index = simulate_sensitivities(MM, MM_RATES, MM_X0, times, x0_params=[0, 1])
    np.testing.assert_array_equal(sens, by_index[1])
    batch = simulate_batch(MM, MM_RATES, MM_X0, times, sensitivities=True, x0_params=[0, 1])
    np.testing.assert_array_equal(batch.sensitivities[0, 0], sens)
    np.testing.assert_array_equal(batch.states[0, 0], states)
    # At t0 the sensitivities are d x / d log x0_q = x0_q e_q and zero for the rate constants.
    np.testing.assert_array_equal(sens[0, :, :3], 0.0)
    np.testing.assert_array_equal(sens[0, :, 3], [1.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(sens[0, :, 4], [0.0, 10.0, 0.0, 0.0])


def test_parallel_batch_equals_serial_batch():
    rates = MM_RATES * np.exp(np.random.default_rng(1).normal(0.0, 0.3, size=(8, 3)))
    times = np.linspace(0.0, 10.0, 6)
    serial = simulate_batch(MM, rates, MM_X0, times, sensitivities=True)
    threaded = simulate_batch(MM, rates, MM_X0, times, sensitivities=True, parallel=True)
    np.testing.assert_array_equal(serial.states, threaded.states)
    np.testing.assert_array_equal(serial.sensitivities, threaded.sensitivities)


def test_read_only_and_non_contiguous_inputs_are_accepted():
    rates = np.repeat(MM_RATES, 2)[::2]
    x0 = MM_X0.copy()
    x0.setflags(write=False)
    times = np.linspace(0.0, 10.0, 6)
    np.testing.assert_array_equal(simulate(MM, rates, x0, times), simulate(MM, MM_RATES, MM_X0, times))
    np.testing.assert_array_equal(simulate(MM, [1, 0.5, 0.3], [1, 10, 0, 0], list(times)),
                                  simulate(MM, MM_RATES, MM_X0, times))


@pytest.mark.parametrize("kwargs, message", [
    (dict(rates=[1.0, 0.5]), "rates has 2 columns"),
    (dict(x0=[1.0, 10.0]), "x0 has 2 species"),
    (dict(times=[0.0, 2.0, 1.0]), "non-decreasing"),
    (dict(times=[0.0, np.nan]), "finite"),
    (dict(t0=1.0), "before its start time"),
    (dict(method="euler"), "unknown method"),
    (dict(rtol=0.0), "rtol"),
    (dict(atol=-1.0), "atol"),
    (dict(max_steps=0), "max_steps"),
    (dict(rates=["a", "b", "c"]), "numeric"),
])
def test_bad_input_raises_a_value_error_that_names_it(kwargs, message):
    args = dict(rates=MM_RATES, x0=MM_X0, times=[0.0, 1.0, 2.0])
    args.update({k: v for k, v in kwargs.items() if k in args})
    options = {k: v for k, v in kwargs.items() if k not in args}
    with pytest.raises(ValueError, match=message):
        simulate(MM, args["rates"], args["x0"], args["times"], **options)


def test_batch_shape_mismatches_raise():
    with pytest.raises(ValueError, match="experiments"):
        simulate_batch(MM, MM_RATES, np.tile(MM_X0, (2, 1)), [[0.0, 1.0]] * 3)
    with pytest.raises(ValueError, match="B = 2"):
        simulate_batch(MM, np.tile(MM_RATES, (3, 1)), np.tile(MM_X0, (2, 1, 1)), [0.0, 1.0])
    with pytest.raises(ValueError, match="num_times"):
        simulate_batch(MM, MM_RATES, MM_X0, [[0.0, 1.0]], num_times=[3])
    with pytest.raises(ValueError, match="x0_params"):
        simulate_sensitivities(MM, MM_RATES, MM_X0, [0.0, 1.0], x0_params=["Q"])


def test_a_failed_simulation_is_nan_and_a_status_not_an_exception(caplog):
    runaway = Crn.from_text("2 A -> 3 A")
    times = np.array([0.0, 0.5, 0.9, 2.0, 3.0])
    with caplog.at_level(logging.DEBUG, logger="mcts_crn.simulate.simulator"):
        out = simulate(runaway, [1.0], [1.0], times)
    np.testing.assert_allclose(out[:3, 0], 1.0 / (1.0 - times[:3]), rtol=1e-5)
    assert np.isnan(out[3:]).all()
    assert "simulation failed" in caplog.text
    _, status = simulate_with_status(runaway, [1.0], [1.0], times)
    assert status != 0 and status in STATUS_MESSAGES
    batch = simulate_batch(runaway, [[1.0], [0.1]], [1.0], times)
    assert batch.status[0, 0] != 0 and batch.status[1, 0] == 0
    assert status_message(0) == "success" and "unknown" in status_message(99)


def test_a_network_without_reactions_stays_put():
    empty = Crn.empty(["A", "B"])
    out = simulate(empty, np.zeros(0), [1.0, 2.0], [0.0, 1.0, 5.0])
    np.testing.assert_array_equal(out, [[1.0, 2.0]] * 3)
    _, sens, status = simulate_sensitivities(empty, np.zeros(0), [1.0, 2.0], [0.0, 1.0], x0_params=["B"])
    assert status == 0 and sens.shape == (2, 2, 1)
    np.testing.assert_array_equal(sens[:, :, 0], [[0.0, 2.0], [0.0, 2.0]])
