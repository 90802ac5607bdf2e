"""Dormand-Prince 5(4) step, its error estimate, stiffness test and dense output (Hairer's DOPRI5).

Reference: E. Hairer, S.P. Norsett, G. Wanner, Solving Ordinary Differential Equations I, 2nd ed.,
Springer 1993, sec. II.5 (the method), II.6 (dense output of Shampine 1986), IV.2 (stiffness test).
The step works on the augmented vector ``z = (x, s_1 .. s_P)``: the sensitivities are integrated by the
same explicit formula as the states (the internal-differentiation property of explicit RK methods makes
this the exact derivative of the discrete solution for a fixed step sequence).
"""
from __future__ import annotations

import numpy as np

from ._compile import jit_helper
from .mass_action import augmented_rhs

# Butcher tableau: row s holds the coefficients of stages 1..s for the argument of stage s + 1; row 6 is
# the 5th-order solution (first same as last: its derivative is stage 7).
DOPRI_A = np.array([
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [1.0 / 5.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0],
    [44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0],
    [19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0, 0.0, 0.0],
    [9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0, 49.0 / 176.0, -5103.0 / 18656.0, 0.0],
    [35.0 / 384.0, 0.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0],
])
# Difference between the 5th- and the embedded 4th-order solution, per stage 1..7.
DOPRI_E = np.array([71.0 / 57600.0, 0.0, -71.0 / 16695.0, 71.0 / 1920.0, -17253.0 / 339200.0, 22.0 / 525.0,
                    -1.0 / 40.0])
# Shampine's dense output: the 5th coefficient vector of the continuous extension, per stage 1..7.
DOPRI_D = np.array([-12715105075.0 / 11282082432.0, 0.0, 87487479700.0 / 32700410799.0,
                    -10690763975.0 / 1880347072.0, 701980252875.0 / 199316789632.0,
                    -1453857185.0 / 822651844.0, 69997945.0 / 29380423.0])

# Rows of the work array zw [NUM_ROWS, n] (shared with the Rosenbrock step, see rodas.py).
ROW_Z = np.int64(0)
ROW_ZNEW = np.int64(1)
ROW_K1 = np.int64(2)  # K1..K7 are rows 2..8
ROW_K6 = np.int64(7)
ROW_K7 = np.int64(8)
ROW_YSTI = np.int64(9)
ROW_TMP = np.int64(10)
NUM_ROWS = 11


@jit_helper
def error_norm(zw, erow, num_species, rtol, atol):
    """Hairer's RMS norm of the local error estimate ``zw[erow]`` with weights ``atol + rtol max(|z|, |znew|)``
    (``z = zw[ROW_Z]``, ``znew = zw[ROW_ZNEW]``).

    States and sensitivities are normed separately and the larger value is returned, so that neither the
    (usually more numerous) sensitivity components dilute the states' error nor the reverse. Returns inf
    when ``znew`` or the estimate is not finite, so that the step is rejected.
    """
    n = zw.shape[1]
    acc = 0.0
    bad = False
    for i in range(num_species):
        zi = abs(zw[ROW_Z, i])
        zn = abs(zw[ROW_ZNEW, i])
        bad = bad or not (zn - zn == 0.0)
        sk = atol + rtol * (zi if zi > zn else zn)
        q = zw[erow, i] / sk
        acc += q * q
    out = np.sqrt(acc / num_species)
    if n > num_species:
        acc = 0.0
        for i in range(num_species, n):
            zi = abs(zw[ROW_Z, i])
            zn = abs(zw[ROW_ZNEW, i])
            bad = bad or not (zn - zn == 0.0)
            sk = atol + rtol * (zi if zi > zn else zn)
            q = zw[erow, i] / sk
            acc += q * q
        other = np.sqrt(acc / (n - num_species))
        if other > out:
            out = other
    if bad or not (out - out == 0.0):
        return np.inf
    return out


@jit_helper
def dopri5_step(zw, h, num_species, num_params, k, rptr, rsp, rord, nptr, nsp, ncoef, rate, grad, rtol, atol):
    """One trial step of DOPRI5 from ``zw[ROW_Z]`` with derivative ``zw[ROW_K1]``.

    Writes the stages K2..K7 (K7 = f(znew), first stage of the next step), the stage-6 argument YSTI
    (for the stiffness test) and ``zw[ROW_ZNEW]``. Returns the error norm (inf if not finite).
    """
    n = zw.shape[1]
    for s in range(1, 7):
        arg = ROW_TMP if s < 5 else (ROW_YSTI if s == 5 else ROW_ZNEW)
        for i in range(n):
            acc = 0.0
            for j in range(s):
                acc += DOPRI_A[s, j] * zw[ROW_K1 + j, i]
            zw[arg, i] = zw[ROW_Z, i] + h * acc
        augmented_rhs(zw, arg, ROW_K1 + s, num_species, num_params, k, rptr, rsp, rord, nptr, nsp, ncoef, rate,
                      grad)
    for i in range(n):
        acc = 0.0
        for j in range(7):
            acc += DOPRI_E[j] * zw[ROW_K1 + j, i]
        zw[ROW_TMP, i] = h * acc
    return error_norm(zw, ROW_TMP, num_species, rtol, atol)


@jit_helper
def dopri5_stiffness_ratio(zw, h, num_species, rtol, atol):
    """Hairer's ``h |lambda|`` estimate ``h |f(znew) - f(ysti)| / |znew - ysti|`` on the states.

    Both points lie at ``t + h``; a ratio above 3.25 means the step size sits at the border of DOPRI5's
    stability region rather than being limited by accuracy. The differences are weighted by the error
    weights ``1 / (atol + rtol |x|)`` (Hairer uses plain norms): the quotient estimates an eigenvalue of
    ``D J D^-1`` (same spectrum as ``J``) along a direction no longer dominated by the most abundant species,
    which for amounts spanning many decades (HIV: T ~ 1e5, V ~ 10) would hide the fast eigenvalue.
    Returns -1 if the points coincide.
    """
    num = 0.0
    den = 0.0
    for i in range(num_species):
        zn = abs(zw[ROW_ZNEW, i])
        w = 1.0 / (atol + rtol * zn)
        d = (zw[ROW_K7, i] - zw[ROW_K6, i]) * w
        num += d * d
        d = (zw[ROW_ZNEW, i] - zw[ROW_YSTI, i]) * w
        den += d * d
    if den > 0.0:
        return h * np.sqrt(num / den)
    return -1.0


@jit_helper
def dopri5_dense(zw, h, theta, out_row):
    """Shampine's 4th-order continuous extension of the last DOPRI5 step at ``t + theta h`` into ``zw[out_row]``."""
    theta1 = 1.0 - theta
    for i in range(zw.shape[1]):
        z = zw[ROW_Z, i]
        ydiff = zw[ROW_ZNEW, i] - z
        bspl = h * zw[ROW_K1, i] - ydiff
        r4 = ydiff - h * zw[ROW_K7, i] - bspl
        acc = 0.0
        for j in range(7):
            acc += DOPRI_D[j] * zw[ROW_K1 + j, i]
        zw[out_row, i] = z + theta * (ydiff + theta1 * (bspl + theta * (r4 + theta1 * h * acc)))
