"""The integration driver and the batched simulation kernels.

``integrate_batch`` simulates every parameter set ``b`` [B] in every experiment ``x`` [X] of a CRN and
writes the states (and optionally the forward sensitivities) at the observation times. One compiled
kernel serves every CRN: the stoichiometry is data. Work arrays are allocated once per call (once per
simulation in the threaded variant); nothing is allocated inside the step loop.

Step-size control follows Hairer's DOPRI5 (PI controller, beta = 0.04) and RODAS (with Gustafsson's
predictive controller). Outputs come from each method's dense output, so the step sequence does not
depend on the observation times; only the last observation time is hit exactly. In ``METHOD_AUTO``
the driver starts with DOPRI5 and switches once, for good, to Rodas4 when Hairer's stiffness test fires
15 times without 6 non-stiff steps in between (threshold lowered, see ``STIFF_RATIO``), when DOPRI5 fails
(step too small or non-finite), or when DOPRI5 has used half of ``max_steps``.

A failed simulation is a status code, never an exception: its outputs from the failure point on are NaN.
"""
from __future__ import annotations

import numpy as np

from ._compile import jit, jit_helper, jit_parallel, prange
from .constants import (
    METHOD_AUTO,
    METHOD_DOPRI5,
    METHOD_RODAS4,
    NUM_STATS,
    STAT_ACCEPTED,
    STAT_IMPLICIT_STEPS,
    STAT_REJECTED,
    STAT_RHS_EVALS,
    STATUS_NON_FINITE,
    STATUS_SINGULAR,
    STATUS_STEP_TOO_SMALL,
    STATUS_SUCCESS,
    STATUS_TOO_MANY_STEPS,
    TIMES_BEFORE_START,
    TIMES_DECREASING,
    TIMES_NOT_FINITE,
    TIMES_OK,
    START_NOT_FINITE,
)
from .dopri5 import (
    NUM_ROWS,
    ROW_K1,
    ROW_K7,
    ROW_TMP,
    ROW_Z,
    ROW_ZNEW,
    dopri5_dense,
    dopri5_step,
    dopri5_stiffness_ratio,
)
from .mass_action import augmented_rhs, dense_jacobian, eval_hessians, eval_rates_grads, net_change, stoich_csr
from .rodas import ROW_F0, rodas4_dense, rodas4_matrix, rodas4_step

EPS = 2.220446049250313e-16
SAFE = 0.9
# DOPRI5 controller (Hairer): exponent 1/5 - 0.75 beta, step ratio within [1/5, 10].
DOPRI_BETA = 0.04
DOPRI_EXPO = 0.2 - DOPRI_BETA * 0.75
DOPRI_FAC_MIN = 0.2
DOPRI_FAC_MAX = 10.0
# RODAS controller: step ratio within [1/5, 6].
RODAS_FAC_MIN = 0.2
RODAS_FAC_MAX = 6.0
# Stiffness test: h |lambda| above STIFF_RATIO in 15 accepted steps with no run of 6 below it. Hairer uses
# 3.25 (DOPRI5's stability boundary on the negative real axis is about 3.3), but the PI controller holds a
# stability-limited step at h |lambda| of 2.9 to 3.2 (Robertson at rtol 1e-8: 1600 DOPRI5 steps, no switch),
# so the threshold here is 80 % of the boundary. A false positive only costs efficiency: Rodas4 is accurate
# on non-stiff problems too.
STIFF_RATIO = 2.6
STIFF_COUNT = 15
NONSTIFF_COUNT = 6
MAX_SINGULAR = 5


@jit_helper
def _initial_step(zw, num_species, inv_order, t_span, rtol, atol, num_params, k, rptr, rsp, rord, nptr, nsp,
                  ncoef, rate, grad):
    """Hairer's starting step (HNW I, sec. II.4): an Euler step estimates the second derivative, and
    ``h`` is chosen so that ``h^order * max(|f|, |f'|)`` is 0.01 in the error norm (states only).
    ``inv_order`` is 1/order, a float so that the two call sites share one compiled specialization.
    The step is at least ``100 EPS t_span`` (ten times the smallest step the integrator takes at t = 0).
    Needs ``f(z)`` in ``zw[ROW_K1]``; overwrites ``zw[ROW_TMP]`` and ``zw[ROW_ZNEW]``."""
    dnf = 0.0
    dny = 0.0
    for i in range(num_species):
        sk = atol + rtol * abs(zw[ROW_Z, i])
        dnf += (zw[ROW_K1, i] / sk) ** 2
        dny += (zw[ROW_Z, i] / sk) ** 2
    if dnf <= 1e-10 or dny <= 1e-10:
        h = 1e-6
    else:
        h = 0.01 * np.sqrt(dny / dnf)
    h = min(h, t_span)
    for i in range(zw.shape[1]):
        zw[ROW_TMP, i] = zw[ROW_Z, i] + h * zw[ROW_K1, i]
    augmented_rhs(zw, ROW_TMP, ROW_ZNEW, num_species, num_params, k, rptr, rsp, rord, nptr, nsp, ncoef, rate, grad)
    der2 = 0.0
    for i in range(num_species):
        sk = atol + rtol * abs(zw[ROW_Z, i])
        der2 += ((zw[ROW_ZNEW, i] - zw[ROW_K1, i]) / sk) ** 2
    der2 = np.sqrt(der2) / h
    der12 = max(abs(der2), np.sqrt(dnf))
    if not (der12 > 1e-15):
        h1 = max(1e-6, h * 1e-3)
    else:
        h1 = (0.01 / der12) ** inv_order
    out = min(100.0 * h, h1, t_span)
    if not (out > 0.0):
        out = 1e-6 * t_span
    # not below ten times the smallest step the integrator takes (``hmin`` at t = 0): an amount of 1e-15
    # against an atol of 1e-12, produced at rate 1, gives Hairer's h ~ 1e-17, a failure before any step
    return min(max(out, 100.0 * EPS * t_span), t_span)


@jit_helper
def _write_output(zw, row, num_species, num_params, out_states, out_sens, index):
    for i in range(num_species):
        out_states[index, i] = zw[row, i]
    for p in range(num_params):
        base = num_species * (1 + p)
        for i in range(num_species):
            out_sens[index, i, p] = zw[row, base + i]


@jit_helper
def _fill_nan(start, num_times, num_params, out_states, out_sens):
    for j in range(start, num_times):
        for i in range(out_states.shape[1]):
            out_states[j, i] = np.nan
            for p in range(num_params):
                out_sens[j, i, p] = np.nan


@jit_helper
def integrate_one(k, x0, t0, times, num_times, x0_index, method, rtol, atol, max_steps, h_fixed,
                  num_params, rptr, rsp, rord, nptr, nsp, ncoef, hptr,
                  zw, rate, grad, grad0, hess0, jac, lu, piv, out_states, out_sens, stats):
    """Integrate one CRN from ``(t0, x0)`` and write states (and sensitivities) at ``times[:num_times]``.

    Parameters
    ----------
    k : float64 [R]
        Rate constants.
    x0 : float64 [S]
        Initial amounts at ``t0``.
    t0 : float
        Start time, ``<= times[0]``.
    times : float64 [>= num_times]
        Non-decreasing observation times.
    num_times : int
        Number of valid entries of ``times``.
    x0_index : int64 [Q]
        Species whose log initial value is a sensitivity parameter (after the R log rate constants).
    method : int
        ``METHOD_AUTO``, ``METHOD_DOPRI5`` or ``METHOD_RODAS4``.
    rtol, atol : float
        Tolerances of the local error test (atol > 0).
    max_steps : int
        Largest number of attempted steps (accepted and rejected, both methods).
    h_fixed : float
        If positive, take steps of exactly this size with no error control (for convergence studies).
    num_params : int
        P, 0 for states only, else ``R + Q``.
    rptr .. hptr : CSR stoichiometry from ``stoich_csr``.
    zw : float64 [NUM_ROWS, S (1 + P)]
        Work vectors.
    rate, grad, grad0, hess0, jac, lu, piv : work arrays [R], [Ea], [Ea], [Eh], [S, S], [S, S], int64 [S].
    out_states : float64 [>= num_times, S]
        Receives the states.
    out_sens : float64 [>= num_times, S, P]
        Receives ``d x_i / d p`` (untouched if P = 0).
    stats : int64 [NUM_STATS]
        Receives accepted, rejected and implicit step counts and right-hand side evaluations.

    Returns
    -------
    int
        A ``STATUS_*`` code. On failure the outputs from the failure time on are NaN.
    """
    num_species = x0.shape[0]
    num_reactions = k.shape[0]
    n = num_species * (1 + num_params)
    for j in range(NUM_STATS):
        stats[j] = 0
    if num_times == 0 or num_species == 0:
        return STATUS_SUCCESS

    for i in range(n):
        zw[ROW_Z, i] = 0.0
    bad_input = False
    for i in range(num_species):
        zw[ROW_Z, i] = x0[i]
        bad_input = bad_input or not (x0[i] - x0[i] == 0.0)
    for r in range(num_reactions):
        bad_input = bad_input or not (k[r] - k[r] == 0.0)
    iout = 0
    if bad_input:
        _fill_nan(iout, num_times, num_params, out_states, out_sens)
        return STATUS_NON_FINITE
    for q in range(x0_index.shape[0]):
        if num_params > 0:
            idx = x0_index[q]
            zw[ROW_Z, num_species * (1 + num_reactions + q) + idx] = x0[idx]

    t = t0
    while iout < num_times and times[iout] <= t:
        _write_output(zw, ROW_Z, num_species, num_params, out_states, out_sens, iout)
        iout += 1
    if iout == num_times:
        return STATUS_SUCCESS
    t_end = times[num_times - 1]
    t_span = t_end - t0
    hmax = t_span

    current = METHOD_RODAS4 if method == METHOD_RODAS4 else METHOD_DOPRI5
    augmented_rhs(zw, ROW_Z, ROW_K1, num_species, num_params, k, rptr, rsp, rord, nptr, nsp, ncoef, rate, grad)
    nfev = 1
    if h_fixed > 0.0:
        h = h_fixed
    else:
        h = _initial_step(zw, num_species, 0.2 if current == METHOD_DOPRI5 else 0.25, t_span, rtol, atol,
                          num_params, k, rptr, rsp, rord, nptr, nsp, ncoef, rate, grad)
        nfev += 1

    status = STATUS_SUCCESS
    nstep = 0
    naccept = 0
    nreject = 0
    nimplicit = 0
    dopri_steps = 0
    reject = False
    last = False
    last_nonfinite = False
    facold = 1e-4
    iasti = 0
    nonsti = 0
    need_jac = True
    factored_h = -1.0
    nsing = 0
    hacc = 0.0
    erracc = 1.0
    rodas_accepted = 0
    fac11 = 1.0

    while True:
        hmin = 10.0 * EPS * max(abs(t), abs(t_span))
        if nstep >= max_steps:
            status = STATUS_TOO_MANY_STEPS
            break
        if h < hmin:
            if method == METHOD_AUTO and current == METHOD_DOPRI5:
                current = METHOD_RODAS4
                need_jac = True
                # zw[ROW_K1] still holds f(z) at the last accepted point.
                h = _initial_step(zw, num_species, 0.25, t_end - t, rtol, atol, num_params, k, rptr, rsp, rord,
                                  nptr, nsp, ncoef, rate, grad)
                nfev += 1
                continue
            status = STATUS_NON_FINITE if last_nonfinite else STATUS_STEP_TOO_SMALL
            break
        last = False
        if t + 1.01 * h >= t_end:
            h = t_end - t
            last = True
        elif h_fixed <= 0.0 and t + 1.8 * h > t_end:
            h = 0.55 * (t_end - t)
        nstep += 1

        if current == METHOD_DOPRI5:
            dopri_steps += 1
            err = dopri5_step(zw, h, num_species, num_params, k, rptr, rsp, rord, nptr, nsp, ncoef, rate, grad,
                              rtol, atol)
            nfev += 6
        else:
            nimplicit += 1
            if need_jac:
                # f(z), the Jacobian and (for sensitivities) the rate Hessians at the step start.
                eval_rates_grads(zw, ROW_Z, k, rptr, rsp, rord, rate, grad0)
                net_change(rate, num_species, nptr, nsp, ncoef, zw, ROW_F0)
                if num_params > 0:
                    augmented_rhs(zw, ROW_Z, ROW_F0, num_species, num_params, k, rptr, rsp, rord, nptr, nsp, ncoef,
                                  rate, grad)
                    eval_hessians(zw, ROW_Z, k, rptr, rsp, rord, hptr, hess0)
                dense_jacobian(grad0, rptr, rsp, nptr, nsp, ncoef, jac)
                nfev += 1
                need_jac = False
                factored_h = -1.0
            if h != factored_h:
                if rodas4_matrix(jac, h, lu, piv) != 0:
                    nsing += 1
                    factored_h = -1.0
                    if nsing >= MAX_SINGULAR:
                        status = STATUS_SINGULAR
                        break
                    h *= 0.5
                    reject = True
                    continue
                factored_h = h
            err = rodas4_step(zw, h, num_species, num_params, k, rptr, rsp, rord, nptr, nsp, ncoef, rate, grad,
                              grad0, hptr, hess0, lu, piv, rtol, atol)
            nfev += 5

        if err == np.inf:
            # A non-finite trial step (overflow, NaN): retreat hard; fixed steps cannot retreat.
            last_nonfinite = True
            nreject += 1
            if h_fixed > 0.0:
                status = STATUS_NON_FINITE
                break
            h *= 0.2
            reject = True
            continue
        last_nonfinite = False

        if current == METHOD_DOPRI5:
            fac11 = err ** DOPRI_EXPO
            fac = fac11 / facold ** DOPRI_BETA
            fac = max(1.0 / DOPRI_FAC_MAX, min(1.0 / DOPRI_FAC_MIN, fac / SAFE))
            hnew = h / fac
        else:
            fac = max(1.0 / RODAS_FAC_MAX, min(1.0 / RODAS_FAC_MIN, err ** 0.25 / SAFE))
            hnew = h / fac

        if err <= 1.0 or h_fixed > 0.0:
            naccept += 1
            t_new = t_end if last else t + h
            while iout < num_times and times[iout] <= t_new:
                if times[iout] >= t_new:
                    _write_output(zw, ROW_ZNEW, num_species, num_params, out_states, out_sens, iout)
                else:
                    theta = (times[iout] - t) / h
                    if current == METHOD_DOPRI5:
                        dopri5_dense(zw, h, theta, ROW_TMP)
                    else:
                        rodas4_dense(zw, theta, ROW_TMP)
                    _write_output(zw, ROW_TMP, num_species, num_params, out_states, out_sens, iout)
                iout += 1
            switch = False
            if current == METHOD_DOPRI5:
                facold = max(err, 1e-4)
                if method == METHOD_AUTO:
                    ratio = dopri5_stiffness_ratio(zw, h, num_species, rtol, atol)
                    if ratio > STIFF_RATIO:
                        nonsti = 0
                        iasti += 1
                        switch = iasti >= STIFF_COUNT
                    elif ratio >= 0.0:
                        nonsti += 1
                        if nonsti >= NONSTIFF_COUNT:
                            iasti = 0
                    switch = switch or 2 * dopri_steps >= max_steps
                # FSAL: the last stage is f at the new point.
                for i in range(n):
                    zw[ROW_K1, i] = zw[ROW_K7, i]
            else:
                rodas_accepted += 1
                if rodas_accepted > 1:
                    # Gustafsson's predictive controller (HW II, IV.8): damps step-size oscillation.
                    facgus = (hacc / h) * (err * err / erracc) ** 0.25 / SAFE
                    facgus = max(1.0 / RODAS_FAC_MAX, min(1.0 / RODAS_FAC_MIN, facgus))
                    fac = max(fac, facgus)
                    hnew = h / fac
                hacc = h
                erracc = max(1e-2, err)
                need_jac = True
            for i in range(n):
                zw[ROW_Z, i] = zw[ROW_ZNEW, i]
            t = t_new
            if last:
                break
            if h_fixed > 0.0:
                hnew = h_fixed
            else:
                hnew = min(hnew, hmax)
                if reject:
                    hnew = min(hnew, h)
            reject = False
            if switch:
                current = METHOD_RODAS4
                need_jac = True
            h = hnew
        else:
            nreject += 1
            if current == METHOD_DOPRI5:
                hnew = h / min(1.0 / DOPRI_FAC_MIN, fac11 / SAFE)
            reject = True
            h = hnew

    if status != STATUS_SUCCESS:
        _fill_nan(iout, num_times, num_params, out_states, out_sens)
    stats[STAT_ACCEPTED] = naccept
    stats[STAT_REJECTED] = nreject
    stats[STAT_IMPLICIT_STEPS] = nimplicit
    stats[STAT_RHS_EVALS] = nfev
    return status


@jit
def _allocate_work(num_species, num_reactions, num_params, num_react, num_hess):
    n = num_species * (1 + num_params)
    zw = np.zeros((NUM_ROWS, n))
    rate = np.zeros(max(num_reactions, 1))
    grad = np.zeros(max(num_react, 1))
    grad0 = np.zeros(max(num_react, 1))
    hess0 = np.zeros(max(num_hess, 1))
    jac = np.zeros((num_species, num_species))
    lu = np.zeros((num_species, num_species))
    piv = np.zeros(num_species, dtype=np.int64)
    return zw, rate, grad, grad0, hess0, jac, lu, piv


@jit
def integrate_batch(reactants, products, rates, x0, t0, times, num_times, x0_index, method, rtol, atol,
                    max_steps, h_fixed, with_sens, out_states, out_sens, out_status, out_stats):
    """Simulate B parameter sets in X experiments of one CRN (serial loop over B x X).

    Parameters
    ----------
    reactants, products : int32 [R, S]
        Stoichiometric coefficients (``v_r = k_r prod_i x_i^reactants[r, i]``,
        ``dx/dt = (products - reactants)^T v``).
    rates : float64 [B, R]
        Rate constants.
    x0 : float64 [B, X, S]
        Initial amounts.
    t0 : float64 [X]
        Start time of each experiment.
    times : float64 [X, T]
        Observation times, non-decreasing, ``>= t0``, padded after ``num_times``.
    num_times : int32 [X]
        Number of valid times of each experiment.
    x0_index : int32 [Q]
        Species whose log initial value is a sensitivity parameter.
    method : int
        ``METHOD_AUTO``, ``METHOD_DOPRI5`` or ``METHOD_RODAS4``.
    rtol, atol : float
        Local error tolerances (``atol > 0``).
    max_steps : int
        Largest number of attempted steps per simulation.
    h_fixed : float
        Fixed step size, or 0 for adaptive steps.
    with_sens : bool
        Whether to compute sensitivities with respect to ``p = (log k [R], log x0[x0_index] [Q])``.
    out_states : float64 [B, X, T, S]
        Receives the states; entries past ``num_times`` are left untouched.
    out_sens : float64 [B, X, T, S, P]
        Receives ``d x / d p`` (P = R + Q); ignored (may have P = 0) without sensitivities.
    out_status : int32 [B, X]
        Receives a ``STATUS_*`` code per simulation.
    out_stats : int64 [B, X, NUM_STATS]
        Receives step and evaluation counts per simulation.
    """
    num_batch = rates.shape[0]
    num_exp = x0.shape[1]
    num_species = reactants.shape[1]
    num_reactions = reactants.shape[0]
    num_params = num_reactions + x0_index.shape[0] if with_sens else 0
    rptr, rsp, rord, nptr, nsp, ncoef, hptr = stoich_csr(reactants, products)
    index = x0_index.astype(np.int64)
    zw, rate, grad, grad0, hess0, jac, lu, piv = _allocate_work(
        num_species, num_reactions, num_params, rsp.shape[0], hptr[-1])
    for b in range(num_batch):
        for e in range(num_exp):
            out_status[b, e] = integrate_one(
                rates[b], x0[b, e], t0[e], times[e], num_times[e], index, method, rtol, atol, max_steps, h_fixed,
                num_params, rptr, rsp, rord, nptr, nsp, ncoef, hptr,
                zw, rate, grad, grad0, hess0, jac, lu, piv, out_states[b, e], out_sens[b, e], out_stats[b, e])


@jit_parallel
def integrate_batch_parallel(reactants, products, rates, x0, t0, times, num_times, x0_index, method, rtol, atol,
                             max_steps, h_fixed, with_sens, out_states, out_sens, out_status, out_stats):
    """``integrate_batch`` with the B x X simulations spread over threads (``numba.prange``).

    Same parameters and results; each simulation gets its own work arrays.
    """
    num_batch = rates.shape[0]
    num_exp = x0.shape[1]
    num_species = reactants.shape[1]
    num_reactions = reactants.shape[0]
    num_params = num_reactions + x0_index.shape[0] if with_sens else 0
    rptr, rsp, rord, nptr, nsp, ncoef, hptr = stoich_csr(reactants, products)
    index = x0_index.astype(np.int64)
    for flat in prange(num_batch * num_exp):
        b = flat // num_exp
        e = flat - b * num_exp
        zw, rate, grad, grad0, hess0, jac, lu, piv = _allocate_work(
            num_species, num_reactions, num_params, rsp.shape[0], hptr[-1])
        out_status[b, e] = integrate_one(
            rates[b], x0[b, e], t0[e], times[e], num_times[e], index, method, rtol, atol, max_steps, h_fixed,
            num_params, rptr, rsp, rord, nptr, nsp, ncoef, hptr,
            zw, rate, grad, grad0, hess0, jac, lu, piv, out_states[b, e], out_sens[b, e], out_stats[b, e])


@jit
def check_times(times, num_times, t0):
    """Validate observation times without allocating (the simulate wrappers' hot path).

    Parameters
    ----------
    times : float64 [X, T]
    num_times : int32 [X]
    t0 : float64 [X]

    Returns
    -------
    (code, x, j) : tuple of int
        ``TIMES_OK`` or the first problem found (``TIMES_NOT_FINITE``, ``TIMES_DECREASING``,
        ``TIMES_BEFORE_START``, ``START_NOT_FINITE``) with its experiment and time index.
    """
    for x in range(times.shape[0]):
        if not (t0[x] - t0[x] == 0.0):
            return START_NOT_FINITE, x, 0
        previous = t0[x]
        for j in range(num_times[x]):
            value = times[x, j]
            if not (value - value == 0.0):
                return TIMES_NOT_FINITE, x, j
            if value < previous:
                return (TIMES_BEFORE_START if j == 0 else TIMES_DECREASING), x, j
            previous = value
    return TIMES_OK, 0, 0
