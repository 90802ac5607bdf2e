"""Rodas4: a stiffly accurate, L-stable Rosenbrock method of order 4(3) with 3rd-order dense output.

Reference: E. Hairer, G. Wanner, Solving Ordinary Differential Equations II, 2nd ed., Springer 1996,
sec. IV.7 (coefficients of RODAS, ``METH = 1``, and its transformed formulation). With ``W = I/(gamma h) - J``
each stage solves

    W u_s = f(z + sum_j a_sj u_j) + sum_j (c_sj / h) u_j,        s = 1..6,

and ``z_new = z + a_5. u + u_5 + u_6``; the embedded 3rd-order solution differs from it by ``u_6`` (the
error estimate). Stages 5 and 6 and the solution are all evaluated at ``t + h`` (stiff accuracy).

Sensitivities. The method runs on the augmented system ``z = (x, s_1 .. s_P)`` with its exact Jacobian,
which is block lower triangular with identical diagonal blocks ``J(x)`` and coupling blocks
``M_p = d(J s_p + F_p)/dx`` (see ``mass_action.sensitivity_coupling``). So one S x S LU of ``W`` serves
every block: ``W u_x = r_x`` first, then ``W u_p = r_p + M_p u_x`` for each parameter. Rosenbrock methods
need the exact Jacobian for their order; ``M_p`` keeps it exact, so the sensitivities converge at the
same order as the states.
"""
from __future__ import annotations

import numpy as np

from ._compile import jit_helper
from .dopri5 import ROW_K1, ROW_K7, ROW_Z, ROW_ZNEW, error_norm
from .linalg import lu_factor, lu_solve_row
from .mass_action import augmented_rhs, sensitivity_coupling

GAMMA = 0.25
_A51, _A52, _A53, _A54 = 1.221224509226641, 6.019134481288629, 12.53708332932087, -0.687886036105895
# Row s: coefficients of u_1..u_s in the argument of stage s + 1 (row 6: the new solution).
RODAS_A = np.array([
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [1.544, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.9466785280815826, 0.2557011698983284, 0.0, 0.0, 0.0, 0.0],
    [3.314825187068521, 2.896124015972201, 0.9986419139977817, 0.0, 0.0, 0.0],
    [_A51, _A52, _A53, _A54, 0.0, 0.0],
    [_A51, _A52, _A53, _A54, 1.0, 0.0],
    [_A51, _A52, _A53, _A54, 1.0, 1.0],
])
# Row s: coefficients c_sj of u_1..u_s in the right-hand side of stage s + 1 (divided by h when used).
RODAS_C = np.array([
    [0.0, 0.0, 0.0, 0.0, 0.0],
    [-5.6688, 0.0, 0.0, 0.0, 0.0],
    [-2.430093356833875, -0.2063599157091915, 0.0, 0.0, 0.0],
    [-0.1073529058151375, -9.594562251023355, -20.47028614809616, 0.0, 0.0],
    [7.496443313967647, -10.24680431464352, -33.99990352819905, 11.7089089320616, 0.0],
    [8.083246795921522, -7.981132988064893, -31.52159432874371, 16.31930543123136, -6.058818238834054],
])
# Dense output: y(t + theta h) = (1 - theta) z + theta (z_new + (1 - theta) (c_2 + theta c_3)),
# with c_2, c_3 these combinations of u_1..u_5.
RODAS_D = np.array([
    [10.12623508344586, -7.487995877610167, -34.80091861555747, -7.992771707568823, 1.025137723295662],
    [-0.6762803392801253, 6.087714651680015, 16.43084320892478, 24.76722511418386, -6.594389125716872],
])

# Stage vectors U1..U6 reuse the DOPRI5 rows K1..K6 of the shared work array; ROW_F0 = K7 holds f(z).
ROW_U1 = ROW_K1
ROW_U6 = ROW_K1 + np.int64(5)
ROW_F0 = ROW_K7


@jit_helper
def rodas4_matrix(jac, h, lu, piv):
    """Form ``W = I/(gamma h) - J`` [S, S] in ``lu`` and factor it. Returns ``lu_factor``'s code."""
    num_species = jac.shape[0]
    fac = 1.0 / (GAMMA * h)
    for i in range(num_species):
        for j in range(num_species):
            lu[i, j] = -jac[i, j]
        lu[i, i] += fac
    return lu_factor(lu, piv)


@jit_helper
def rodas4_step(zw, h, num_species, num_params, k, rptr, rsp, rord, nptr, nsp, ncoef, rate, grad,
                grad0, hptr, hess0, lu, piv, rtol, atol):
    """One trial Rodas4 step from ``zw[ROW_Z]``, with ``zw[ROW_F0] = f(z)`` and ``W`` factored in ``lu``.

    ``grad0`` / ``hess0`` are the rate gradients and Hessians at the step start (they define the coupling
    blocks of the augmented Jacobian). Writes the stages U1..U6 and ``zw[ROW_ZNEW]``; returns the error norm
    of ``u_6`` (inf if not finite).
    """
    n = zw.shape[1]
    for s in range(6):
        row = ROW_U1 + s
        if s == 0:
            for i in range(n):
                zw[row, i] = zw[ROW_F0, i]
        else:
            for i in range(n):
                acc = 0.0
                for j in range(s):
                    acc += RODAS_A[s, j] * zw[ROW_U1 + j, i]
                zw[ROW_ZNEW, i] = zw[ROW_Z, i] + acc
            augmented_rhs(zw, ROW_ZNEW, row, num_species, num_params, k, rptr, rsp, rord, nptr, nsp, ncoef, rate,
                          grad)
            for i in range(n):
                acc = 0.0
                for j in range(s):
                    acc += RODAS_C[s, j] * zw[ROW_U1 + j, i]
                zw[row, i] += acc / h
        # Block forward substitution with the augmented Jacobian (coupling blocks at the step start).
        lu_solve_row(lu, piv, zw, row, 0)
        for p in range(num_params):
            base = num_species * (1 + p)
            sensitivity_coupling(zw, ROW_Z, row, base, p, rptr, rsp, nptr, nsp, ncoef, grad0, hptr, hess0)
            lu_solve_row(lu, piv, zw, row, base)
    for i in range(n):
        acc = 0.0
        for j in range(6):
            acc += RODAS_A[6, j] * zw[ROW_U1 + j, i]
        zw[ROW_ZNEW, i] = zw[ROW_Z, i] + acc
    return error_norm(zw, ROW_U6, num_species, rtol, atol)


@jit_helper
def rodas4_dense(zw, theta, out_row):
    """Hairer's 3rd-order continuous extension of the last Rodas4 step at ``t + theta h`` into ``zw[out_row]``."""
    theta1 = 1.0 - theta
    for i in range(zw.shape[1]):
        c2 = 0.0
        c3 = 0.0
        for j in range(5):
            c2 += RODAS_D[0, j] * zw[ROW_U1 + j, i]
            c3 += RODAS_D[1, j] * zw[ROW_U1 + j, i]
        zw[out_row, i] = zw[ROW_Z, i] * theta1 + theta * (zw[ROW_ZNEW, i] + theta1 * (c2 + theta * c3))
