"""Numba kernels of mcts_crn (installed as ``mcts_crn.native``; never imports ``mcts_crn``).

Arrays and scalars in, results written into ``out`` arrays, integer status codes back. Compile flags live
in ``_compile``; every kernel also runs as plain Python under ``NUMBA_DISABLE_JIT=1``.
"""
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
from .integrate import (
    check_times,
    integrate_batch,
    integrate_batch_parallel,
)
from .linalg import lu_factor, lu_solve
from .mass_action import mass_action_hessian_action, mass_action_jacobian, mass_action_rates, mass_action_rhs

__all__ = [
    "METHOD_AUTO", "METHOD_DOPRI5", "METHOD_RODAS4", "NUM_STATS", "STAT_ACCEPTED", "STAT_IMPLICIT_STEPS",
    "STAT_REJECTED", "STAT_RHS_EVALS", "STATUS_NON_FINITE", "STATUS_SINGULAR", "STATUS_STEP_TOO_SMALL",
    "STATUS_SUCCESS", "STATUS_TOO_MANY_STEPS", "START_NOT_FINITE", "TIMES_BEFORE_START", "TIMES_DECREASING",
    "TIMES_NOT_FINITE", "TIMES_OK", "check_times", "integrate_batch", "integrate_batch_parallel", "lu_factor",
    "lu_solve", "mass_action_hessian_action", "mass_action_jacobian", "mass_action_rates", "mass_action_rhs",
]
