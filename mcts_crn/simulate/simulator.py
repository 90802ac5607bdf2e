"""Simulate a mass-action CRN: states and forward sensitivities at observation times.

The ODE of a CRN with reactant and product coefficients ``A, B`` [R, S] and rate constants ``k`` [R] is

    dx/dt = (B - A)^T v(x),        v_r(x) = k_r * prod_i x_i ** A_ri        (law of mass action)

Every function here validates its inputs once and calls one kernel of ``mcts_crn.native``
(``integrate_batch``), which serves every CRN with one compiled code: the stoichiometry is data.

Sensitivities are with respect to ``p = (log k_1 .. log k_R, log x0_q for q in x0_params)``, P = R + Q:
``sens[t, i, p] = d x_i(t) / d p``. Log parameters make the derivatives scale-free (``d x / d log k =
k dx/dk``), which is what the fitter, working on log rate constants and log latent initial values, needs.

Methods are named at this edge (``METHODS``) and passed to the kernel as integers: ``"auto"`` starts with
the explicit Dormand-Prince 5(4) and switches once to the L-stable Rosenbrock method Rodas4 when the
problem turns out stiff; ``"dopri5"`` and ``"rodas4"`` force one method.

A failed simulation is a result, never an exception: the states from the failure time on are NaN and
the status is one of ``STATUS_MESSAGES``.
"""
from __future__ import annotations

import logging
from typing import NamedTuple, Sequence

import numpy as np

from mcts_crn import native
from mcts_crn.config import SimulateConfig

logger = logging.getLogger(__name__)

METHODS: dict[str, int] = {
    "auto": native.METHOD_AUTO,
    "dopri5": native.METHOD_DOPRI5,
    "rodas4": native.METHOD_RODAS4,
}
"""Method names accepted by ``method=`` and their kernel codes."""

STATUS_MESSAGES: dict[int, str] = {
    native.STATUS_SUCCESS: "success",
    native.STATUS_TOO_MANY_STEPS: "too many steps (max_steps reached)",
    native.STATUS_STEP_TOO_SMALL: "step size too small",
    native.STATUS_NON_FINITE: "non-finite values (overflow, NaN or non-finite input)",
    native.STATUS_SINGULAR: "singular iteration matrix in the implicit method",
}
"""Status codes of a simulation and what they mean."""

STATUS_SUCCESS = native.STATUS_SUCCESS

_DEFAULT_CONFIG = SimulateConfig()
_NO_INDEX = np.zeros(0, dtype=np.int32)


class BatchSimulation(NamedTuple):
    """Result of ``simulate_batch``.

    Attributes
    ----------
    states : np.ndarray, float64 [B, X, T, S]
        Amounts at the observation times; NaN after a failure and in padding past ``num_times[x]``.
    sensitivities : np.ndarray or None, float64 [B, X, T, S, P]
        ``d x_i / d p`` for ``p = (log k [R], log x0[x0_params] [Q])``; None unless requested.
    status : np.ndarray, int32 [B, X]
        Status code of each simulation (see ``STATUS_MESSAGES``); 0 is success.
    num_times : np.ndarray, int32 [X]
        Number of valid time points of each experiment.
    stats : np.ndarray, int64 [B, X, 4]
        Accepted steps, rejected steps, implicit (Rodas4) steps and right-hand side evaluations.
    """

    states: np.ndarray
    sensitivities: np.ndarray | None
    status: np.ndarray
    num_times: np.ndarray
    stats: np.ndarray


def status_message(status: int) -> str:
    """Text for a status code of ``simulate_batch`` / ``simulate_with_status``."""
    return STATUS_MESSAGES.get(int(status), f"unknown status {int(status)}")


# ---------------------------------------------------------------------------- validation
def _array(value, dtype, name: str, ndim: int | tuple[int, ...]) -> np.ndarray:
    """A C-contiguous, writable array of ``dtype`` (one compiled kernel: fixed dtypes and layouts)."""
    out = np.asarray(value)
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if out.dtype == dtype and out.ndim in dims and out.flags.c_contiguous and out.flags.writeable:
        return out
    if out.dtype != dtype:
        if dtype == np.int32 and not np.issubdtype(out.dtype, np.integer):
            raise ValueError(f"{name} must be integer, got dtype {out.dtype}")
        if dtype == np.float64 and not (np.issubdtype(out.dtype, np.number) or out.dtype == bool):
            raise ValueError(f"{name} must be numeric, got dtype {out.dtype}")
        out = out.astype(dtype)
    if out.ndim not in dims:
        raise ValueError(f"{name} must have {' or '.join(map(str, dims))} dimensions, got shape {out.shape}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        out = np.array(out, dtype=dtype, order="C", copy=True)
    return out


def _settings(method, rtol, atol, max_steps, config: SimulateConfig | None) -> tuple[int, float, float, int]:
    cfg = _DEFAULT_CONFIG if config is None else config
    method = cfg.method if method is None else method
    rtol = float(cfg.rtol if rtol is None else rtol)
    atol = float(cfg.atol if atol is None else atol)
    max_steps = int(cfg.max_steps if max_steps is None else max_steps)
    try:
        code = METHODS[method]
    except (KeyError, TypeError):
        raise ValueError(f"unknown method {method!r}; known methods are {sorted(METHODS)}") from None
    if not (rtol > 0.0 and np.isfinite(rtol)):
        raise ValueError(f"rtol must be positive and finite, got {rtol}")
    if not (atol > 0.0 and np.isfinite(atol)):
        raise ValueError(f"atol must be positive and finite, got {atol}")
    if max_steps < 1:
        raise ValueError(f"max_steps must be at least 1, got {max_steps}")
    return code, rtol, atol, max_steps


def _stoichiometry(crn) -> tuple[np.ndarray, np.ndarray]:
    reactants = _array(crn.reactants, np.int32, "crn.reactants", 2)
    products = _array(crn.products, np.int32, "crn.products", 2)
    if reactants.shape != products.shape:
        raise ValueError(f"crn.reactants {reactants.shape} and crn.products {products.shape} differ in shape")
    return reactants, products


def _x0_index(crn, x0_params, num_species: int) -> np.ndarray:
    if x0_params is None or len(x0_params) == 0:
        return _NO_INDEX
    index = []
    for q in x0_params:
        if isinstance(q, str):
            try:
                q = list(crn.species).index(q)
            except ValueError:
                raise ValueError(f"x0_params names {q!r}, which is not a species of the crn") from None
        q = int(q)
        if not 0 <= q < num_species:
            raise ValueError(f"x0_params index {q} out of range for {num_species} species")
        index.append(q)
    if len(set(index)) != len(index):
        raise ValueError(f"x0_params has duplicates: {list(x0_params)}")
    return np.array(index, dtype=np.int32)


def _times_table(times, num_times, num_experiments: int) -> tuple[np.ndarray, np.ndarray]:
    """Observation times as a padded table [X, T] and counts [X]."""
    if isinstance(times, (list, tuple)) and len(times) > 0 and np.ndim(times[0]) == 1:
        rows = [_array(t, np.float64, f"times[{x}]", 1) for x, t in enumerate(times)]
        counts = np.array([len(r) for r in rows], dtype=np.int32)
        table = np.full((len(rows), max(counts)), np.nan)
        for x, r in enumerate(rows):
            table[x, : len(r)] = r
        if num_times is not None:
            raise ValueError("num_times is only used with a padded times array [X, T]")
        return table, counts
    table = _array(times, np.float64, "times", (1, 2))
    if table.ndim == 1:
        if num_experiments == 1:
            table = table.reshape(1, -1)
        else:
            table = np.ascontiguousarray(np.broadcast_to(table, (num_experiments, table.shape[0])))
    if num_times is None:
        counts = np.full(table.shape[0], table.shape[1], dtype=np.int32)
    else:
        counts = _array(num_times, np.int32, "num_times", 1)
        if counts.shape != (table.shape[0],):
            raise ValueError(f"num_times has shape {counts.shape}, expected ({table.shape[0]},)")
        if (counts < 0).any() or (counts > table.shape[1]).any():
            raise ValueError(f"num_times must lie in [0, {table.shape[1]}], got {counts}")
    return table, counts


_TIME_ERRORS = {
    native.TIMES_NOT_FINITE: "times must be finite: experiment {x}, time index {j} is {value}",
    native.TIMES_DECREASING: "times must be non-decreasing: experiment {x}, time index {j} ({value}) < {before}",
    native.TIMES_BEFORE_START: "experiment {x} has a time {value} before its start time t0 = {start}",
    native.START_NOT_FINITE: "t0 must be finite, got {start} for experiment {x}",
}


def _check_times(table: np.ndarray, counts: np.ndarray, t0: np.ndarray) -> None:
    code, x, j = native.check_times(table, counts, t0)
    if code != native.TIMES_OK:
        before = table[x, j - 1] if j > 0 else t0[x]
        raise ValueError(_TIME_ERRORS[code].format(x=x, j=j, value=table[x, j], before=before, start=t0[x]))


def _start_times(t0, table: np.ndarray, counts: np.ndarray) -> np.ndarray:
    if t0 is None:
        if table.shape[0] == 1:
            return np.array([table[0, 0] if counts[0] > 0 else 0.0])
        first = table[:, 0] if table.shape[1] > 0 else np.zeros(table.shape[0])
        return np.where(counts > 0, first, 0.0).astype(np.float64)
    if np.ndim(t0) == 0:
        return np.full(table.shape[0], float(t0))
    out = _array(t0, np.float64, "t0", 1)
    if out.shape != (table.shape[0],):
        raise ValueError(f"t0 has shape {out.shape}, expected ({table.shape[0]},)")
    return out


def _run(crn, rates, x0, times, num_times, t0, x0_params, sensitivities: bool, parallel: bool,
         method, rtol, atol, max_steps, config) -> BatchSimulation:
    """The one wrapper of the ``integrate_batch`` kernel family: validate once, allocate outputs, call."""
    code, rtol, atol, max_steps = _settings(method, rtol, atol, max_steps, config)
    reactants, products = _stoichiometry(crn)
    num_reactions, num_species = reactants.shape

    rates = _array(rates, np.float64, "rates", (1, 2))
    if rates.ndim == 1:
        rates = rates.reshape(1, -1)
    if rates.shape[1] != num_reactions:
        raise ValueError(f"rates has {rates.shape[1]} columns, the crn has {num_reactions} reactions")
    num_batch = rates.shape[0]

    x0 = _array(x0, np.float64, "x0", (1, 2, 3))
    if x0.shape[-1] != num_species:
        raise ValueError(f"x0 has {x0.shape[-1]} species, the crn has {num_species}")
    if x0.ndim == 3 and x0.shape[0] != num_batch:
        if num_batch != 1:
            raise ValueError(f"x0 [B, X, S] has B = {x0.shape[0]}, rates has B = {num_batch}")
        num_batch = x0.shape[0]
        rates = np.ascontiguousarray(np.broadcast_to(rates, (num_batch, num_reactions)))
    num_experiments = 1 if x0.ndim == 1 else x0.shape[-2]

    table, counts = _times_table(times, num_times, num_experiments)
    if table.shape[0] != num_experiments:
        raise ValueError(f"times describe {table.shape[0]} experiments, x0 has {num_experiments}")
    t0 = _start_times(t0, table, counts)
    _check_times(table, counts, t0)
    if x0.ndim != 3:
        x0 = x0.reshape(1, num_experiments, num_species)
        if num_batch > 1:
            x0 = np.ascontiguousarray(np.broadcast_to(x0, (num_batch, num_experiments, num_species)))

    index = _x0_index(crn, x0_params, num_species) if sensitivities else _NO_INDEX
    num_params = num_reactions + index.shape[0] if sensitivities else 0
    max_times = table.shape[1]
    shape = (num_batch, num_experiments, max_times, num_species)
    padded = num_experiments > 1 and bool((counts < max_times).any())
    states = np.full(shape, np.nan) if padded else np.empty(shape)
    if not sensitivities:
        sens = np.empty(shape + (0,))
    elif padded:
        sens = np.full(shape + (num_params,), np.nan)
    else:
        sens = np.empty(shape + (num_params,))
    status = np.empty((num_batch, num_experiments), dtype=np.int32)
    stats = np.empty((num_batch, num_experiments, native.NUM_STATS), dtype=np.int64)
    kernel = native.integrate_batch_parallel if parallel else native.integrate_batch
    kernel(reactants, products, rates, x0, t0, table, counts, index, code, rtol, atol, max_steps,
           0.0, bool(sensitivities), states, sens, status, stats)
    return BatchSimulation(states, sens if sensitivities else None, status, counts, stats)


# ---------------------------------------------------------------------------- public API
def simulate_batch(crn, rates, x0, times, *, num_times=None, t0=None, sensitivities: bool = False,
                   x0_params: Sequence[int | str] | None = None, parallel: bool = False, method: str | None = None,
                   rtol: float | None = None, atol: float | None = None, max_steps: int | None = None,
                   config: SimulateConfig | None = None) -> BatchSimulation:
    """Simulate B parameter sets in X experiments in one kernel call.

    Parameters
    ----------
    crn : Crn
        The reaction network; only ``crn.reactants`` and ``crn.products`` (int32 [R, S]) are read
        (and ``crn.species`` for ``x0_params`` given by name).
    rates : array_like, float64 [R] or [B, R]
        Rate constants ``k`` (shared by all B initial-value sets if [R]).
    x0 : array_like, float64 [S], [X, S] or [B, X, S]
        Initial amounts at ``t0`` (shared by all parameter sets unless [B, X, S]).
    times : array_like [T] or [X, T], or a list of X arrays [T_x]
        Observation times of each experiment, non-decreasing and ``>= t0``. A 1-D array is shared by all
        experiments; a 2-D array is padded past ``num_times``.
    num_times : array_like, int32 [X], optional
        Valid length of each row of a padded ``times`` [X, T]; default: all of them.
    t0 : float or array_like [X], optional
        Start time of each experiment, the time at which ``x0`` holds; default: its first observation time.
    sensitivities : bool
        Also compute ``d x / d p`` for ``p = (log k [R], log x0[x0_params] [Q])``.
    x0_params : sequence of int or str, optional
        Species (indices or names) whose log initial values are sensitivity parameters.
    parallel : bool
        Spread the B x X simulations over threads (``numba.prange``).
    method, rtol, atol, max_steps : optional
        Override the fields of ``config`` (default ``SimulateConfig()``); ``method`` is a key of ``METHODS``.
    config : SimulateConfig, optional

    Returns
    -------
    BatchSimulation
        ``states`` [B, X, T, S], ``sensitivities`` [B, X, T, S, P] or None, ``status`` [B, X],
        ``num_times`` [X], ``stats`` [B, X, 4].

    Raises
    ------
    ValueError
        For inputs of the wrong shape or values (times decreasing or before ``t0``, unknown method,
        non-positive tolerances). Integration failures are reported in ``status``, never raised.
    """
    return _run(crn, rates, x0, times, num_times, t0, x0_params, sensitivities, parallel,
                method, rtol, atol, max_steps, config)


def simulate_with_status(crn, rates, x0, times, *, t0: float | None = None, method: str | None = None,
                         rtol: float | None = None, atol: float | None = None, max_steps: int | None = None,
                         config: SimulateConfig | None = None) -> tuple[np.ndarray, int]:
    """Simulate one experiment; return the states [T, S] and the status code (0 on success).

    Parameters are those of ``simulate``. On failure the states from the failure time on are NaN.
    """
    result = _run(crn, rates, _array(x0, np.float64, "x0", 1), _array(times, np.float64, "times", 1), None, t0,
                  None, False, False, method, rtol, atol, max_steps, config)
    return result.states[0, 0], int(result.status[0, 0])


def simulate(crn, rates, x0, times, *, t0: float | None = None, method: str | None = None,
             rtol: float | None = None, atol: float | None = None, max_steps: int | None = None,
             config: SimulateConfig | None = None) -> np.ndarray:
    """Simulate one experiment of a CRN under mass action.

    Parameters
    ----------
    crn : Crn
        The reaction network (``crn.reactants``, ``crn.products``: int32 [R, S]).
    rates : array_like, float64 [R]
        Rate constants ``k_r`` of ``v_r = k_r prod_i x_i ** reactants[r, i]``.
    x0 : array_like, float64 [S]
        Amounts at ``t0``, in the order of ``crn.species``.
    times : array_like, float64 [T]
        Observation times, non-decreasing, ``>= t0``.
    t0 : float, optional
        Start time; default ``times[0]``.
    method : str, optional
        A key of ``METHODS``: ``"auto"`` (default), ``"dopri5"`` or ``"rodas4"``.
    rtol, atol : float, optional
        Relative and absolute tolerance of the local error test.
    max_steps : int, optional
        Largest number of attempted steps.
    config : SimulateConfig, optional
        Defaults of the four settings above.

    Returns
    -------
    np.ndarray, float64 [T, S]
        The amounts at ``times``. If the integration fails (see ``simulate_with_status``), the rows from
        the failure time on are NaN and a debug message is logged.
    """
    states, status = simulate_with_status(crn, rates, x0, times, t0=t0, method=method, rtol=rtol, atol=atol,
                                          max_steps=max_steps, config=config)
    if status != STATUS_SUCCESS:
        logger.debug("simulation failed: %s", status_message(status))
    return states


def simulate_sensitivities(crn, rates, x0, times, *, x0_params: Sequence[int | str] | None = None,
                           t0: float | None = None, method: str | None = None, rtol: float | None = None,
                           atol: float | None = None, max_steps: int | None = None,
                           config: SimulateConfig | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Simulate one experiment with forward sensitivities.

    Parameters
    ----------
    crn, rates, x0, times, t0, method, rtol, atol, max_steps, config
        As in ``simulate``.
    x0_params : sequence of int or str, optional
        Species (indices or names) whose log initial values are parameters, e.g. latent species.

    Returns
    -------
    states : np.ndarray, float64 [T, S]
    sens : np.ndarray, float64 [T, S, P]
        ``sens[t, i, p] = d x_i(t) / d p`` with ``p = (log k_1 .. log k_R, log x0_q for q in x0_params)``.
    status : int
        0 on success (see ``STATUS_MESSAGES``); on failure rows from the failure time on are NaN.

    Notes
    -----
    The sensitivities solve ``s_p' = J(x) s_p + d f / d p`` with ``J = df/dx`` alongside the states, with
    both in the local error test. ``d x / d log x0_q`` at ``t0`` is ``x0_q e_q`` (zero where ``x0_q = 0``).
    """
    result = _run(crn, rates, _array(x0, np.float64, "x0", 1), _array(times, np.float64, "times", 1), None, t0,
                  x0_params, True, False, method, rtol, atol, max_steps, config)
    return result.states[0, 0], result.sensitivities[0, 0], int(result.status[0, 0])
