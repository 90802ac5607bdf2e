"""Integer codes shared by the kernels and their Python wrappers.

Methods and statuses cross the kernel boundary as integers; the Python layer maps names to these codes
in one dict (``mcts_crn.simulate.METHODS``) and codes to messages (``STATUS_MESSAGES``).
"""
from __future__ import annotations

# Integration methods.
METHOD_AUTO = 0
"""Dormand-Prince 5(4), switching once to Rodas4 when the stiffness test fires or DOPRI5 fails."""
METHOD_DOPRI5 = 1
"""Explicit Dormand-Prince 5(4) with Shampine's 4th-order dense output."""
METHOD_RODAS4 = 2
"""Linearly implicit Rosenbrock method Rodas4 (order 4(3), L-stable, stiffly accurate), 3rd-order dense output."""

# Statuses of one simulation.
STATUS_SUCCESS = 0
STATUS_TOO_MANY_STEPS = 1
STATUS_STEP_TOO_SMALL = 2
STATUS_NON_FINITE = 3
STATUS_SINGULAR = 4

# Columns of the per-simulation statistics array [..., NUM_STATS].
STAT_ACCEPTED = 0
STAT_REJECTED = 1
STAT_IMPLICIT_STEPS = 2
STAT_RHS_EVALS = 3
NUM_STATS = 4

# Results of check_times (validation of observation times).
TIMES_OK = 0
TIMES_NOT_FINITE = 1
TIMES_DECREASING = 2
TIMES_BEFORE_START = 3
START_NOT_FINITE = 4
