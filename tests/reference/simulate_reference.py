"""Slow, obviously correct references for the simulator: mass action with plain loops, scipy solves, and
finite-difference sensitivities (plus ``check_sensitivities``, the helper the model-library tests use)."""
from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from tests.reference.crn_reference import mass_action_rhs


def _monomial(x, orders):
    out = 1.0
    for xi, a in zip(x, orders):
        for _ in range(int(a)):
            out *= xi
    return out


def mass_action_rates(crn, rates, x):
    """v_r = k_r prod_i x_i^a_ri, one reaction at a time."""
    return np.array([rates[r] * _monomial(x, crn.reactants[r]) for r in range(crn.num_reactions)])


def mass_action_jacobian(crn, rates, x):
    """J[i, j] = sum_r (b_ri - a_ri) dv_r/dx_j with dv_r/dx_j = a_rj v_r / x_j written as a product (x may be 0)."""
    num_species = crn.num_species
    jac = np.zeros((num_species, num_species))
    for r in range(crn.num_reactions):
        a = crn.reactants[r]
        for j in range(num_species):
            if a[j] == 0:
                continue
            lowered = a.copy()
            lowered[j] -= 1
            dv = rates[r] * a[j] * _monomial(x, lowered)
            for i in range(num_species):
                jac[i, j] += (int(crn.products[r, i]) - int(a[i])) * dv
    return jac


def jacobian_directional_derivative(crn, rates, x, s, u):
    """d/de [J(x + e u) s] at e = 0 = sum_r N_r sum_{j,l} d2 v_r / dx_j dx_l s_j u_l, with each second
    derivative written as a product (lower the order of x_j, then of x_l, by one each)."""
    num_species = crn.num_species
    out = np.zeros(num_species)
    for r in range(crn.num_reactions):
        a = crn.reactants[r].astype(int)
        second = 0.0
        for j in range(num_species):
            if a[j] == 0:
                continue
            once = a.copy()
            once[j] -= 1
            for l in range(num_species):
                if once[l] == 0:
                    continue
                twice = once.copy()
                twice[l] -= 1
                second += rates[r] * a[j] * once[l] * _monomial(x, twice) * s[j] * u[l]
        for i in range(num_species):
            out[i] += (int(crn.products[r, i]) - int(a[i])) * second
    return out


def solve_reference(crn, rates, x0, times, *, method="Radau", rtol=1e-10, atol=1e-14, t0=None):
    """scipy ``solve_ivp`` with the analytic Jacobian; returns the states [T, S]."""
    times = np.asarray(times, dtype=float)
    start = times[0] if t0 is None else t0

    def rhs(_t, x):
        return mass_action_rhs(crn, rates, x)

    def jac(_t, x):
        return mass_action_jacobian(crn, rates, x)

    kwargs = {} if method in ("RK45", "DOP853", "RK23") else {"jac": jac}
    sol = solve_ivp(rhs, (start, times[-1]), np.asarray(x0, dtype=float), method=method, t_eval=times,
                    rtol=rtol, atol=atol, **kwargs)
    assert sol.success, sol.message
    return sol.y.T


def finite_difference_sensitivities(crn, rates, x0, times, *, x0_params=(), step=1e-4, **simulate_kwargs):
    """Central differences of ``simulate`` in log parameters: [T, S, P], P = R + len(x0_params)."""
    from mcts_crn.simulate import simulate

    rates = np.asarray(rates, dtype=float)
    x0 = np.asarray(x0, dtype=float)
    columns = []
    for p in range(crn.num_reactions + len(x0_params)):
        pair = []
        for sign in (1.0, -1.0):
            k, x = rates.copy(), x0.copy()
            if p < crn.num_reactions:
                k[p] *= np.exp(sign * step)
            else:
                x[x0_params[p - crn.num_reactions]] *= np.exp(sign * step)
            pair.append(simulate(crn, k, x, times, **simulate_kwargs))
        columns.append((pair[0] - pair[1]) / (2 * step))
    return np.stack(columns, axis=-1)


def sensitivity_errors(sens, reference, states, *, floor=1e-6):
    """Relative error of each sensitivity entry against a reference [T, S, P].

    An entry's error is ``|sens - ref| / max(|ref|, floor * scale_i)``, ``scale_i`` the largest amount of
    species i: a derivative below ``floor`` times the species' scale is compared absolutely at that level.
    A central difference cannot resolve it relatively: it divides the simulation's rounding and integration
    error (1e-14 to 1e-12 of the scale) by ``2 step``.
    """
    scale = np.max(np.abs(states), axis=0)[None, :, None]
    denom = np.maximum(np.abs(reference), floor * np.maximum(scale, 1e-300))
    return np.abs(sens - reference) / denom


def check_sensitivities(crn, rates, x0, times, *, x0_params=(), method="auto", tol=1e-4, step=1e-4,
                        rtol=1e-10, atol=None, fd_method="auto", fd_rtol=1e-12):
    """Assert that ``simulate_sensitivities`` matches central finite differences (relative error < tol, see
    ``sensitivity_errors``). Returns the largest error.

    The sensitivities are integrated with ``method`` at ``rtol`` (``atol`` default ``1e-14 max(x0, 1)``);
    the finite differences use ``fd_method`` at the tighter ``fd_rtol``, because a central difference
    amplifies the integrator's error by ``1 / (2 step)``: the comparison then measures the sensitivity
    equations, not the tolerance.
    """
    from mcts_crn.simulate import simulate_sensitivities

    x0 = np.asarray(x0, dtype=float)
    if atol is None:
        atol = 1e-14 * max(float(np.max(np.abs(x0))), 1.0)
    states, sens, status = simulate_sensitivities(crn, rates, x0, times, x0_params=x0_params, method=method,
                                                  rtol=rtol, atol=atol)
    assert status == 0, f"simulation failed with status {status}"
    fd = finite_difference_sensitivities(crn, rates, x0, times, x0_params=x0_params, step=step, method=fd_method,
                                         rtol=fd_rtol, atol=atol * fd_rtol / rtol, max_steps=10**7)
    errors = sensitivity_errors(sens, fd, states)
    worst = float(errors.max())
    t, i, p = np.unravel_index(int(np.argmax(errors)), errors.shape)
    assert worst < tol, (f"sensitivity d{crn.species[i]}/dp[{p}] at t={times[t]}: {sens[t, i, p]} vs finite "
                         f"difference {fd[t, i, p]} (relative error {worst:.2e})")
    return worst
