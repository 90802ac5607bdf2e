"""Compile flags of every kernel in ``mcts_crn.native``, in one place.

``fastmath`` stays off so that NaN and inf propagate and an ODE that blows up is seen as such;
``error_model="numpy"`` makes a division by zero give inf/NaN instead of raising inside a kernel;
``cache=True`` keeps the compiled code on disk so that only the first import of a fresh install pays
for compilation. Every kernel also runs as plain Python under ``NUMBA_DISABLE_JIT=1``.

Constants that kernels pass to other kernels (work-array row numbers) are ``np.int64``, not Python ints:
Numba types a Python int constant as a literal and compiles a callee once per distinct value.
"""
from __future__ import annotations

import numba

JIT_OPTIONS = dict(cache=True, fastmath=False, nogil=True, error_model="numpy")

jit = numba.njit(**JIT_OPTIONS)
"""Decorator for kernels that allocate (entry points, set-up)."""

jit_helper = numba.njit(_nrt=False, **JIT_OPTIONS)
"""Decorator for the helpers of the step loop. They only read and write arrays they are given (no
allocation, no slicing), so they are compiled without Numba's reference-counting runtime: an ordinary call
increments and decrements the count of every array argument with atomic operations, which for a small CRN
costs more than the arithmetic of the call."""

jit_parallel = numba.njit(parallel=True, **JIT_OPTIONS)
"""Decorator for the kernels that spread independent simulations over threads with ``numba.prange``."""

prange = numba.prange
