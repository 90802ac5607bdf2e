"""Mass-action kinetics: reaction rates, right-hand side, Jacobian and the sensitivity system.

Reaction ``r`` with reactant coefficients ``a_r`` [S] and product coefficients ``b_r`` [S] runs at

    v_r(x) = k_r * prod_i x_i ** a_ri                       (law of mass action)

and the state obeys ``dx/dt = f(x) = sum_r (b_r - a_r) v_r(x) = N^T v(x)`` with ``N = B - A`` [R, S].
Integer powers are products (no ``pow``), so any integer order works and ``x < 0`` stays defined.

The kernels work on a compressed form of the stoichiometry, built once per call by ``stoich_csr``:
per reaction the species with a non-zero reactant coefficient (``rsp``, ``rord``) and the species whose
amount it changes (``nsp``, ``ncoef``), as CSR rows ``rptr`` / ``nptr``. Derivatives never divide by
``x`` (which may be 0): each one is a product over the other factors.

Forward sensitivities. With parameters ``p`` = (log k_1 .. log k_R, log x0_q for the selected species q),
``s_p = dx/dp`` [S] obeys ``s_p' = J(x) s_p + F_p(x)``, ``J = df/dx``, ``F_p = N_p v_p`` for a rate
constant (``dv_r/dlog k_r = v_r``) and ``F_p = 0`` for an initial value, whose effect enters only through
``s_p(t0) = x0_q e_q``. The augmented state is ``z = (x, s_1, .., s_P)``, length ``S (1 + P)``.
"""
from __future__ import annotations

import numpy as np

from ._compile import jit, jit_helper


@jit_helper
def ipow(x, a):
    """``x ** a`` for a non-negative integer ``a`` by repeated multiplication (exact for a <= 2)."""
    if a == 1:
        return x
    if a == 0:
        return 1.0
    if a == 2:
        return x * x
    out = x * x * x
    for _ in range(a - 3):
        out *= x
    return out


@jit
def stoich_csr(reactants, products):
    """Compress the stoichiometry of a CRN into the row form the kernels use.

    Parameters
    ----------
    reactants, products : int32 [R, S]
        Stoichiometric coefficients of the left and right side of each reaction.

    Returns
    -------
    rptr : int64 [R + 1]
        Row pointers into ``rsp`` / ``rord``.
    rsp, rord : int64 [Ea]
        Species index and order of each reactant entry.
    nptr : int64 [R + 1]
        Row pointers into ``nsp`` / ``ncoef``.
    nsp : int64 [En]
        Species whose amount reaction ``r`` changes.
    ncoef : float64 [En]
        Net change ``b_ri - a_ri`` (non-zero).
    hptr : int64 [R + 1]
        Offsets of each reaction's dense ``n_r x n_r`` block of second derivatives, ``n_r`` its number
        of reactant entries.
    """
    num_reactions, num_species = reactants.shape
    num_react = 0
    num_net = 0
    num_hess = 0
    for r in range(num_reactions):
        count = 0
        for i in range(num_species):
            if reactants[r, i] != 0:
                count += 1
            if products[r, i] != reactants[r, i]:
                num_net += 1
        num_react += count
        num_hess += count * count
    rptr = np.zeros(num_reactions + 1, dtype=np.int64)
    rsp = np.zeros(num_react, dtype=np.int64)
    rord = np.zeros(num_react, dtype=np.int64)
    nptr = np.zeros(num_reactions + 1, dtype=np.int64)
    nsp = np.zeros(num_net, dtype=np.int64)
    ncoef = np.zeros(num_net, dtype=np.float64)
    hptr = np.zeros(num_reactions + 1, dtype=np.int64)
    e = 0
    m = 0
    for r in range(num_reactions):
        for i in range(num_species):
            if reactants[r, i] != 0:
                rsp[e] = i
                rord[e] = reactants[r, i]
                e += 1
            if products[r, i] != reactants[r, i]:
                nsp[m] = i
                ncoef[m] = float(products[r, i] - reactants[r, i])
                m += 1
        rptr[r + 1] = e
        nptr[r + 1] = m
        count = rptr[r + 1] - rptr[r]
        hptr[r + 1] = hptr[r] + count * count
    return rptr, rsp, rord, nptr, nsp, ncoef, hptr


@jit_helper
def eval_rates(zw, row, k, rptr, rsp, rord, rate):
    """Reaction rates ``v_r = k_r prod_i x_i^a_ri`` at ``x = zw[row, :S]`` into ``rate`` [R]."""
    for r in range(rptr.shape[0] - 1):
        v = k[r]
        for e in range(rptr[r], rptr[r + 1]):
            v *= ipow(zw[row, rsp[e]], rord[e])
        rate[r] = v


@jit_helper
def eval_rates_grads(zw, row, k, rptr, rsp, rord, rate, grad):
    """Rates into ``rate`` [R] and ``grad[e] = dv_r / dx_rsp[e]`` for each reactant entry [Ea], at
    ``x = zw[row, :S]``."""
    for r in range(rptr.shape[0] - 1):
        lo = rptr[r]
        hi = rptr[r + 1]
        v = k[r]
        for e in range(lo, hi):
            v *= ipow(zw[row, rsp[e]], rord[e])
        rate[r] = v
        for e in range(lo, hi):
            g = k[r] * rord[e] * ipow(zw[row, rsp[e]], rord[e] - 1)
            for f in range(lo, hi):
                if f != e:
                    g *= ipow(zw[row, rsp[f]], rord[f])
            grad[e] = g


@jit_helper
def eval_hessians(zw, row, k, rptr, rsp, rord, hptr, hess):
    """Second derivatives of each rate at ``x = zw[row, :S]``:
    ``hess[hptr[r] + e n_r + f] = d2 v_r / dx_e dx_f`` for the reaction's local entries e, f."""
    for r in range(rptr.shape[0] - 1):
        lo = rptr[r]
        hi = rptr[r + 1]
        count = hi - lo
        for e in range(lo, hi):
            ae = rord[e]
            for f in range(lo, hi):
                if e == f:
                    if ae < 2:
                        val = 0.0
                    else:
                        val = k[r] * ae * (ae - 1) * ipow(zw[row, rsp[e]], ae - 2)
                        for g in range(lo, hi):
                            if g != e:
                                val *= ipow(zw[row, rsp[g]], rord[g])
                else:
                    af = rord[f]
                    val = k[r] * ae * af * ipow(zw[row, rsp[e]], ae - 1) * ipow(zw[row, rsp[f]], af - 1)
                    for g in range(lo, hi):
                        if g != e and g != f:
                            val *= ipow(zw[row, rsp[g]], rord[g])
                hess[hptr[r] + (e - lo) * count + (f - lo)] = val


@jit_helper
def net_change(rate, num_species, nptr, nsp, ncoef, out, row):
    """``out[row, :S] = N^T rate``: the mass-action right-hand side from the rates."""
    for i in range(num_species):
        out[row, i] = 0.0
    for r in range(nptr.shape[0] - 1):
        v = rate[r]
        for m in range(nptr[r], nptr[r + 1]):
            out[row, nsp[m]] += ncoef[m] * v


@jit_helper
def dense_jacobian(grad, rptr, rsp, nptr, nsp, ncoef, jac):
    """``jac[i, j] = df_i/dx_j = sum_r N_ri dv_r/dx_j`` [S, S] from the rate gradients."""
    for i in range(jac.shape[0]):
        for j in range(jac.shape[1]):
            jac[i, j] = 0.0
    for r in range(rptr.shape[0] - 1):
        for m in range(nptr[r], nptr[r + 1]):
            c = ncoef[m]
            i = nsp[m]
            for e in range(rptr[r], rptr[r + 1]):
                jac[i, rsp[e]] += c * grad[e]


@jit_helper
def augmented_rhs(zw, src, dst, num_species, num_params, k, rptr, rsp, rord, nptr, nsp, ncoef, rate, grad):
    """Right-hand side of the augmented system at ``z = zw[src]`` into ``zw[dst]`` [S (1 + P)].

    ``z = (x, s_1 .. s_P)``; the state block is ``f(x)``, block ``p`` is ``J(x) s_p + F_p(x)`` computed
    without forming ``J``: ``sum_r N_r (grad v_r . s_p)``, plus ``N_p v_p`` when ``p < R`` is a rate constant.
    Rows of one 2-D work array, not slices, are passed around: in the step loop a slice costs more than
    the right-hand side of a small CRN.
    """
    num_reactions = rptr.shape[0] - 1
    if num_params == 0:
        eval_rates(zw, src, k, rptr, rsp, rord, rate)
    else:
        eval_rates_grads(zw, src, k, rptr, rsp, rord, rate, grad)
    net_change(rate, num_species, nptr, nsp, ncoef, zw, dst)
    for p in range(num_params):
        base = num_species * (1 + p)
        for i in range(num_species):
            zw[dst, base + i] = 0.0
        for r in range(num_reactions):
            d = 0.0
            for e in range(rptr[r], rptr[r + 1]):
                d += grad[e] * zw[src, base + rsp[e]]
            if p == r:
                d += rate[r]
            if d != 0.0:
                for m in range(nptr[r], nptr[r + 1]):
                    zw[dst, base + nsp[m]] += ncoef[m] * d


@jit_helper
def sensitivity_coupling(zw, srow, urow, base, p, rptr, rsp, nptr, nsp, ncoef, grad, hptr, hess):
    """Add ``M_p u`` to ``zw[urow, base:base + S]``, with ``u = zw[urow, :S]``, ``s_p = zw[srow, base:base + S]``
    and ``M_p = d(J(x) s_p + F_p(x))/dx`` the coupling block of the augmented Jacobian (``base = S (1 + p)``).

    ``M_p u = sum_r N_r (s_p^T H_r u + [p == r] grad v_r . u)`` with ``H_r`` the Hessian of ``v_r``; exact
    for mass action, so a Rosenbrock method keeps its order for the sensitivities. ``p < 0`` drops the
    rate-constant term.
    """
    for r in range(rptr.shape[0] - 1):
        lo = rptr[r]
        hi = rptr[r + 1]
        count = hi - lo
        d = 0.0
        hbase = hptr[r]
        for e in range(lo, hi):
            se = zw[srow, base + rsp[e]]
            if se != 0.0:
                hrow = hbase + (e - lo) * count
                for f in range(lo, hi):
                    d += se * hess[hrow + (f - lo)] * zw[urow, rsp[f]]
        if p == r:
            for e in range(lo, hi):
                d += grad[e] * zw[urow, rsp[e]]
        if d != 0.0:
            for m in range(nptr[r], nptr[r + 1]):
                zw[urow, base + nsp[m]] += ncoef[m] * d


# ---------------------------------------------------------------------------- dense-argument kernels
@jit
def mass_action_rates(reactants, k, x, out):
    """Reaction rates of a CRN.

    Parameters
    ----------
    reactants : int32 [R, S]
        Reactant stoichiometric coefficients.
    k : float64 [R]
        Rate constants.
    x : float64 [S]
        Amounts.
    out : float64 [R]
        Receives ``v_r = k_r prod_i x_i ** reactants[r, i]``.
    """
    rptr, rsp, rord, _, _, _, _ = stoich_csr(reactants, reactants)
    buffer = np.empty((1, x.shape[0]))
    buffer[0, :] = x
    eval_rates(buffer, 0, k, rptr, rsp, rord, out)


@jit
def mass_action_rhs(reactants, products, k, x, out):
    """Mass-action right-hand side ``dx/dt = (products - reactants)^T v(x)``.

    Parameters
    ----------
    reactants, products : int32 [R, S]
        Stoichiometric coefficients.
    k : float64 [R]
        Rate constants.
    x : float64 [S]
        Amounts.
    out : float64 [S]
        Receives ``dx/dt``.
    """
    rptr, rsp, rord, nptr, nsp, ncoef, _ = stoich_csr(reactants, products)
    rate = np.empty(k.shape[0])
    buffer = np.empty((2, x.shape[0]))
    buffer[0, :] = x
    eval_rates(buffer, 0, k, rptr, rsp, rord, rate)
    net_change(rate, x.shape[0], nptr, nsp, ncoef, buffer, 1)
    out[:] = buffer[1]


@jit
def mass_action_jacobian(reactants, products, k, x, out):
    """Jacobian ``out[i, j] = d(dx_i/dt)/dx_j`` of the mass-action right-hand side.

    Parameters
    ----------
    reactants, products : int32 [R, S]
        Stoichiometric coefficients.
    k : float64 [R]
        Rate constants.
    x : float64 [S]
        Amounts.
    out : float64 [S, S]
        Receives the Jacobian.
    """
    rptr, rsp, rord, nptr, nsp, ncoef, _ = stoich_csr(reactants, products)
    rate = np.empty(k.shape[0])
    grad = np.empty(rsp.shape[0])
    buffer = np.empty((1, x.shape[0]))
    buffer[0, :] = x
    eval_rates_grads(buffer, 0, k, rptr, rsp, rord, rate, grad)
    dense_jacobian(grad, rptr, rsp, nptr, nsp, ncoef, out)


@jit
def mass_action_hessian_action(reactants, products, k, x, s, u, out):
    """Second directional derivative ``out = d/de [J(x + e u) s]`` at e = 0 (the ``M_p u`` term without
    the rate-constant part), for tests of the coupling block.

    Parameters
    ----------
    reactants, products : int32 [R, S]
    k : float64 [R]
    x, s, u : float64 [S]
    out : float64 [S]
    """
    rptr, rsp, rord, nptr, nsp, ncoef, hptr = stoich_csr(reactants, products)
    rate = np.empty(k.shape[0])
    grad = np.empty(rsp.shape[0])
    hess = np.empty(hptr[-1])
    num_species = x.shape[0]
    buffer = np.zeros((2, 2 * num_species))
    buffer[0, :num_species] = x
    buffer[0, num_species:] = s
    buffer[1, :num_species] = u
    eval_rates_grads(buffer, 0, k, rptr, rsp, rord, rate, grad)
    eval_hessians(buffer, 0, k, rptr, rsp, rord, hptr, hess)
    sensitivity_coupling(buffer, 0, 1, num_species, -1, rptr, rsp, nptr, nsp, ncoef, grad, hptr, hess)
    out[:] = buffer[1, num_species:]
