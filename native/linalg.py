"""Small dense LU factorization with partial pivoting (S is 2..10 here, so no BLAS call pays off)."""
from __future__ import annotations

import numpy as np

from ._compile import jit, jit_helper


@jit_helper
def lu_factor(a, piv):
    """Factor ``a`` [S, S] in place into ``P a = L U`` (unit lower L below the diagonal, U on and above).

    Parameters
    ----------
    a : float64 [S, S]
        Matrix, overwritten by its factors.
    piv : int64 [S]
        Receives the row swapped with row ``i`` at step ``i``.

    Returns
    -------
    int
        0 on success, ``i + 1`` if the pivot of column ``i`` is exactly zero or not finite.
    """
    n = a.shape[0]
    for j in range(n):
        p = j
        best = abs(a[j, j])
        for i in range(j + 1, n):
            v = abs(a[i, j])
            if v > best:
                best = v
                p = i
        piv[j] = p
        # best != best catches NaN: a NaN Jacobian must not pass as a valid factorization.
        if best == 0.0 or best != best or best == float("inf"):
            return j + 1
        if p != j:
            for c in range(n):
                tmp = a[j, c]
                a[j, c] = a[p, c]
                a[p, c] = tmp
        inv = 1.0 / a[j, j]
        for i in range(j + 1, n):
            a[i, j] *= inv
            lij = a[i, j]
            if lij != 0.0:
                for c in range(j + 1, n):
                    a[i, c] -= lij * a[j, c]
    return 0


@jit_helper
def lu_solve_row(lu, piv, b, row, offset):
    """Solve ``a y = b[row, offset:offset + S]`` in place with the factors from ``lu_factor``.

    Works on a row segment of a 2-D work array rather than a slice: in a step loop a slice costs more than
    the solve of a small system.
    """
    n = lu.shape[0]
    for j in range(n):
        p = piv[j]
        if p != j:
            tmp = b[row, offset + j]
            b[row, offset + j] = b[row, offset + p]
            b[row, offset + p] = tmp
    for i in range(1, n):
        acc = b[row, offset + i]
        for j in range(i):
            acc -= lu[i, j] * b[row, offset + j]
        b[row, offset + i] = acc
    for i in range(n - 1, -1, -1):
        acc = b[row, offset + i]
        for j in range(i + 1, n):
            acc -= lu[i, j] * b[row, offset + j]
        b[row, offset + i] = acc / lu[i, i]


@jit
def lu_solve(lu, piv, b):
    """Solve ``a y = b`` [S] in place in ``b`` with the factors from ``lu_factor``."""
    buffer = np.empty((1, b.shape[0]))
    buffer[0, :] = b
    lu_solve_row(lu, piv, buffer, 0, 0)
    b[:] = buffer[0]
