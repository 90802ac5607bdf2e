"""The least-squares problem of one CRN on one data set: parameter layout, rescaling, residuals, Jacobian.

Residuals and loss
------------------
For experiment x, time point t and data column j (a species of the CRN, matched by name) with an
observed value ``y_xtj`` (missing values are skipped), the weighted residual is

    r_xtj(theta) = (x_j(t; theta) - y_xtj) / sigma_xtj

with ``sigma`` from the data set's noise model (relative or absolute noise per species, see
``Dataset.noise_model``). The loss is the chi-square ``chi2 = sum r^2`` over the N observed values, which
is twice the negative Gaussian log-likelihood up to a constant; ``chi2 / N`` is about 1 for a correct
model with the right noise levels.

Under relative noise, ``sigma = noise * max(|y~|, scale_floor * scale)`` needs the size of the true
signal. ``Dataset.sigmas`` uses the observation itself (``y~ = y``), but then the points that happen to
be low get the larger weights, and least squares is pulled down by about ``2 noise^2`` (0.5% at 5%
noise): small, yet systematic across hundreds of points, so a spurious decay reaction that lowers every
curve a little gains several chi-square units and can beat the true network in the reward. With
``FitConfig.weights = "smoothed"`` (default) ``y~`` is a local straight-line fit (in log scale where
positive) to the 5 nearest observations of the same series (``smoothed_values``), whose noise is about
5 times smaller in variance and so is the bias; where that line misses the observation by more than 3
noise levels (a sharp peak between coarse samples) the observation is kept. The weights still depend on
the data only, so every network is scored on the same quadratic loss.

Parameters
----------
``theta`` [P] holds natural logs of the R rate constants, then of the Q fitted initial values. Log space
makes the parameters positive, the problem scale-free and the sensitivities ``d x / d log p`` are what the
simulator returns. Internally the ODE is solved in rescaled units: time ``t' = (t - t_x0) / tau`` with
``tau`` the longest experiment's span, and every amount ``x' = x / c`` with ``c`` the largest observed
species scale (one scale for all species keeps the system mass action). A rate constant of a reaction of
order ``n`` becomes ``k' = k tau c^(n - 1)``, so ``log k' = log k + const`` and the sensitivities with
respect to ``log k'`` and ``log k`` coincide. Bounds and default values (``FitConfig``) are in these units.

Initial values (the state at each experiment's first time point)
----------------------------------------------------------------
For each experiment and species, in this order of precedence:

1. a value in ``experiment.initial_values`` is known and fixed (synthetic data know every species,
   latent ones included);
2. an observed species (one with a data column) whose first observation is at the first time point
   starts there; with ``FitConfig.fit_observed_initial`` (default) and a positive value it is a fitted
   parameter of that experiment (the first observation is noisy like every other, so it is a data point,
   not a constant), otherwise it is fixed at the observation (a zero stays zero: log space cannot reach it);
3. an observed species whose first value is missing gets a fitted initial value per experiment, starting
   at its first observation (or a small fraction of its scale if that is zero);
4. a latent species (one the search invented, ``X1, X2, ...``) gets a fitted initial value: one shared by
   every experiment that does not know it (``latent_initial="shared"``, the default: a latent pool such as
   an enzyme or a receptor is usually the same across experiments that vary doses of observed species, and
   one parameter instead of X keeps the search's complexity penalty fair), or one per experiment.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

import numpy as np

from mcts_crn.config import FitConfig
from mcts_crn.crn import Crn
from mcts_crn.data import Dataset
from mcts_crn.data.noise import noise_unit, smoothed_values
from mcts_crn import native
from mcts_crn.simulate import METHODS, STATUS_SUCCESS, BatchSimulation

_NO_INDEX = np.zeros(0, dtype=np.int32)
_HUGE = 1e100
"""Weighted residuals or derivatives beyond this mark a run-away simulation."""


@dataclasses.dataclass(frozen=True)
class InitialParam:
    """One fitted initial value: a species in some experiments.

    Attributes
    ----------
    species_index : int
        Index into ``crn.species``.
    experiments : tuple of int
        Indices of the experiments (of the problem) whose initial value of the species it is.
    shared : bool
        True for a value shared by several experiments (``latent_initial="shared"``).
    latent : bool
        True for a species without a data column.
    """

    species_index: int
    experiments: tuple[int, ...]
    shared: bool
    latent: bool = False


_SIGMA_CACHE: list[tuple[Dataset, str, tuple[np.ndarray, ...]]] = []
_SIGMA_CACHE_SIZE = 8


def cached_sigmas(dataset: Dataset, config: FitConfig) -> tuple[np.ndarray, ...]:
    """``data_sigmas``, remembered for the last few data sets (the search fits thousands of networks to
    one data set; data sets are immutable, so identity is a safe key)."""
    for cached, weights, sigmas in _SIGMA_CACHE:
        if cached is dataset and weights == config.weights:
            return sigmas
    sigmas = data_sigmas(dataset, config)
    for array in sigmas:
        array.setflags(write=False)
    _SIGMA_CACHE.insert(0, (dataset, config.weights, sigmas))
    del _SIGMA_CACHE[_SIGMA_CACHE_SIZE:]
    return sigmas


def data_sigmas(dataset: Dataset, config: FitConfig) -> tuple[np.ndarray, ...]:
    """Standard deviation of every observation, [X] arrays [T, O] (NaN where missing).

    ``Dataset.sigmas`` for absolute noise or ``config.weights == "observed"``; otherwise the relative
    noise model evaluated at ``smoothed_values`` of the observations (see the module docstring).
    """
    if dataset.noise_model != "relative" or config.weights == "observed":
        return dataset.sigmas()
    scale = dataset.species_scale
    out = []
    for x in dataset.experiments:
        smooth = smoothed_values(x.times, x.values)
        # where the local line misses the observation by more than 3 noise levels the series is too
        # sharp for it (a peak between coarse samples): keep the observation there
        with np.errstate(invalid="ignore"):
            miss = np.abs(x.values - smooth) > 3.0 * dataset.noise * np.maximum(np.abs(smooth), 1e-300)
        size = np.where(miss | np.isnan(smooth), x.values, smooth)
        out.append(dataset.noise * noise_unit(size, scale, "relative", floor=dataset.noise_floor))
    return tuple(out)


def match_species(crn: Crn, dataset: Dataset) -> np.ndarray:
    """Indices of the data set's columns in ``crn.species``, int64 [O].

    Every data column must name a species of the CRN (observed or latent: a latent species with a data
    column is compared with it) and every observed species of the CRN must have a column.

    Raises
    ------
    ValueError
        Naming the species that do not match.
    """
    missing_in_crn = [s for s in dataset.species if s not in crn.species]
    if missing_in_crn:
        raise ValueError(f"data set species {missing_in_crn} are not species of the crn {list(crn.species)}")
    missing_in_data = [s for s in crn.observed_species if s not in dataset.species]
    if missing_in_data:
        raise ValueError(f"observed species {missing_in_data} of the crn have no column in the data set "
                         f"(columns {list(dataset.species)}); mark them latent or add the data")
    return np.array([crn.species.index(s) for s in dataset.species], dtype=np.int64)


def reaction_key(reactants: Sequence[int], products: Sequence[int], species: Sequence[str]) -> tuple:
    """A hashable name-based key of one reaction (order of species irrelevant)."""
    lhs = tuple(sorted((species[i], int(c)) for i, c in enumerate(reactants) if c))
    rhs = tuple(sorted((species[i], int(c)) for i, c in enumerate(products) if c))
    return lhs, rhs


def text_reaction_key(text: str) -> tuple:
    """``reaction_key`` of one reaction given as text (``"E + S -> C"``)."""
    from mcts_crn.crn import parse_reactions

    _, parsed = parse_reactions(text)
    if len(parsed) != 1:
        raise ValueError(f"warm start key {text!r} must be one reaction")
    lhs, rhs = parsed[0]
    return tuple(sorted(lhs.items())), tuple(sorted(rhs.items()))


class FitProblem:
    """Weighted least squares of one CRN against (some experiments of) one data set.

    Parameters
    ----------
    crn : Crn
        The network; its species without a data column are latent.
    dataset : Dataset
        The data; noise levels give the weights.
    config : FitConfig
        Scaling of tolerances, bounds, initial-value policy.
    experiments : sequence of int, optional
        Indices of the experiments to fit (default: all); sigmas and scales always come from the whole
        data set, so a subset problem (held-out validation) has the same weights.
    time_fraction : float
        Keep only the observations within this fraction of the longest experiment's span from each
        experiment's start (at least two time points each): the windows of a time continuation. The
        parameter layout does not depend on it.

    Attributes
    ----------
    num_params : int
        P = R + Q.
    num_points : int
        N observed values.
    lower, upper : np.ndarray, float64 [P]
        Bounds of ``theta`` (rescaled log units).
    """

    def __init__(self, crn: Crn, dataset: Dataset, config: FitConfig,
                 experiments: Sequence[int] | None = None, time_fraction: float = 1.0) -> None:
        self.crn = crn
        self.dataset = dataset
        self.config = config
        columns = match_species(crn, dataset)
        self.columns = columns
        all_sigmas = cached_sigmas(dataset, config)
        exp_index = list(range(dataset.num_experiments)) if experiments is None else [int(e) for e in experiments]
        self.experiment_index = tuple(exp_index)
        exps = [dataset.experiments[e] for e in exp_index]
        sigmas = [all_sigmas[e] for e in exp_index]
        self.experiments = tuple(exps)
        num_species = crn.num_species
        num_reactions = crn.num_reactions
        self.num_reactions = num_reactions
        self.num_species = num_species

        # ---- scales
        spans = [float(x.times[-1] - x.times[0]) for x in dataset.experiments]
        self.time_scale = max(spans) if max(spans) > 0 else 1.0
        scale = dataset.species_scale
        self.amount_scale = float(scale.max())
        orders = crn.reactants.sum(axis=1).astype(np.float64)
        # log k' = log k + log_rate_shift
        self.log_rate_shift = np.log(self.time_scale) + (orders - 1.0) * np.log(self.amount_scale)
        self.atol = config.atol * float(scale.min()) / self.amount_scale
        self.rtol = config.rtol

        # ---- time table [X, T] in rescaled time, starting at 0
        num_exp = len(exps)
        limit = time_fraction * self.time_scale * (1.0 + 1e-12)
        self.num_times = np.array([min(x.num_times, max(2, int(np.count_nonzero(x.times - x.times[0] <= limit))))
                                   for x in exps], dtype=np.int32)
        max_times = int(self.num_times.max())
        table = np.empty((num_exp, max_times))
        for e, x in enumerate(exps):
            rel = (x.times[: self.num_times[e]] - x.times[0]) / self.time_scale
            table[e, : rel.size] = rel
            table[e, rel.size:] = rel[-1]
        self.times = table
        self.t0 = np.zeros(num_exp)

        # ---- initial values [X, S] (rescaled) and fitted initial parameters
        c = self.amount_scale
        base = np.zeros((num_exp, num_species))
        entries: list[InitialParam] = []
        starts: list[float] = []
        latent_unknown: dict[int, list[int]] = {}
        column_of = {int(s): j for j, s in enumerate(columns)}
        for e, x in enumerate(exps):
            for i, name in enumerate(crn.species):
                if name in x.initial_values:
                    base[e, i] = x.initial_values[name] / c
                    continue
                j = column_of.get(i)
                if j is None:
                    latent_unknown.setdefault(i, []).append(e)
                    continue
                column = x.values[:, j]
                first = column[0]
                if not np.isnan(first):
                    base[e, i] = first / c
                    if config.fit_observed_initial and first > 0:
                        entries.append(InitialParam(i, (e,), False))
                        starts.append(first / c)
                    continue
                seen = column[~np.isnan(column)]
                start = seen[0] if seen.size and seen[0] > 0 else 1e-3 * scale[j]
                entries.append(InitialParam(i, (e,), False))
                starts.append(start / c)
        for i, exp_list in latent_unknown.items():
            if config.latent_initial == "shared":
                entries.append(InitialParam(i, tuple(exp_list), len(exp_list) > 1, latent=True))
                starts.append(config.default_initial)
            else:
                for e in exp_list:
                    entries.append(InitialParam(i, (e,), False, latent=True))
                    starts.append(config.default_initial)
        self.x0_base = base
        self.initial_params = tuple(entries)
        self.initial_start = np.log(np.maximum(np.array(starts, dtype=np.float64), 1e-300))
        kernel_species = sorted({p.species_index for p in entries})
        self.kernel_x0_species = np.array(kernel_species, dtype=np.int32)
        self.num_initial = len(entries)
        self.num_params = num_reactions + self.num_initial

        # ---- residual layout: flat indices into [X, T, S] and weights
        flat, y, w, row_exp = [], [], [], []
        for e, (x, sigma) in enumerate(zip(exps, sigmas)):
            t_idx, j_idx = np.nonzero(~np.isnan(x.values[: self.num_times[e]]))
            flat.append((e * max_times + t_idx) * num_species + columns[j_idx])
            y.append(x.values[t_idx, j_idx] / c)
            w.append(c / sigma[t_idx, j_idx])
            row_exp.append(np.full(t_idx.size, e))
        self.flat_index = np.concatenate(flat).astype(np.int64)
        self.y = np.concatenate(y)
        self.w = np.concatenate(w)
        self.row_experiment = np.concatenate(row_exp).astype(np.int64)
        self.num_points = int(self.y.size)
        # Jacobian columns of the fitted initial values: kernel column and the rows they touch.
        self.initial_kernel_column = np.array(
            [num_reactions + kernel_species.index(p.species_index) for p in entries], dtype=np.int64)
        self.initial_row_mask = np.array(
            [np.isin(self.row_experiment, p.experiments) for p in entries], dtype=np.float64
        ).reshape(len(entries), self.num_points)
        self._initial_weight = np.ascontiguousarray((self.initial_row_mask * self.w).T)      # [N, Q]
        # where each fitted initial value goes in x0 [X, S]: flat (experiment, species, parameter) lists
        slots = [(e, p.species_index, num_reactions + q) for q, p in enumerate(entries) for e in p.experiments]
        self._x0_exp, self._x0_species, self._x0_param = (np.array(v, dtype=np.int64) for v in zip(*slots)) \
            if slots else (np.zeros(0, np.int64),) * 3

        # ---- bounds
        lo_r, hi_r = config.log_rate_bounds
        lo_i, hi_i = config.log_initial_bounds
        # ---- kernel inputs, laid out once (writable, C-contiguous: one compiled kernel)
        self._reactants = np.array(crn.reactants, dtype=np.int32, order="C")
        self._products = np.array(crn.products, dtype=np.int32, order="C")
        self._state_shape = (num_exp, max_times, num_species)
        try:
            self._method = METHODS[config.method]
        except KeyError:
            raise ValueError(f"unknown method {config.method!r}; known methods are {sorted(METHODS)}") from None
        self.lower = np.concatenate([np.full(num_reactions, lo_r), np.full(self.num_initial, lo_i)])
        self.upper = np.concatenate([np.full(num_reactions, hi_r), np.full(self.num_initial, hi_i)])
        self.num_simulations = 0

    # ------------------------------------------------------------------ parameter conversion
    def theta_from(self, rates: np.ndarray, initial: np.ndarray | None = None) -> np.ndarray:
        """``theta`` [P] from rate constants [R] and fitted initial values [Q] in data units."""
        theta = np.empty(self.num_params)
        theta[: self.num_reactions] = np.log(np.maximum(rates, 1e-300)) + self.log_rate_shift
        if self.num_initial:
            values = np.exp(self.initial_start) * self.amount_scale if initial is None else initial
            theta[self.num_reactions:] = np.log(np.maximum(values, 1e-300) / self.amount_scale)
        return np.clip(theta, self.lower, self.upper)

    def rates_of(self, theta: np.ndarray) -> np.ndarray:
        """Rate constants [R] in data units."""
        return np.exp(theta[..., : self.num_reactions] - self.log_rate_shift)

    def initial_of(self, theta: np.ndarray) -> np.ndarray:
        """Fitted initial values [Q] in data units."""
        return np.exp(theta[..., self.num_reactions:]) * self.amount_scale

    def x0_of(self, theta: np.ndarray) -> np.ndarray:
        """Initial values per experiment [..., X, S] in rescaled units."""
        theta = np.asarray(theta)
        batch = theta.shape[:-1]
        x0 = np.empty(batch + self.x0_base.shape)
        x0[...] = self.x0_base
        if self.num_initial:
            x0[..., self._x0_exp, self._x0_species] = np.exp(theta[..., self._x0_param])
        return x0

    # ------------------------------------------------------------------ evaluation
    def simulate(self, theta: np.ndarray, *, jacobian: bool) -> BatchSimulation:
        """Simulate a batch of parameter vectors ``theta`` [B, P] in every experiment.

        Calls the ``integrate_batch`` kernel directly with the arrays this problem validated and laid out
        once (what ``mcts_crn.simulate.simulate_batch`` does per call, which costs more than a small
        network's whole simulation in the fitting loop); ``tests/test_fit_problem.py`` checks that the
        results equal ``simulate_batch``'s.

        Returns
        -------
        BatchSimulation
            ``states`` [B, X, T, S] (past each experiment's ``num_times``: unspecified), ``sensitivities``
            [B, X, T, S, R + Q_kernel] or None, ``status`` [B, X].
        """
        theta = np.atleast_2d(theta)
        num_batch = theta.shape[0]
        rates = np.exp(theta[:, : self.num_reactions])
        x0 = np.ascontiguousarray(self.x0_of(theta))
        self.num_simulations += num_batch
        index = self.kernel_x0_species if jacobian else _NO_INDEX
        num_kernel = self.num_reactions + index.size if jacobian else 0
        shape = (num_batch,) + self._state_shape
        states = np.empty(shape)
        sens = np.empty(shape + (num_kernel,))
        status = np.empty((num_batch, shape[1]), dtype=np.int32)
        stats = np.empty((num_batch, shape[1], native.NUM_STATS), dtype=np.int64)
        kernel = native.integrate_batch_parallel if self.config.parallel else native.integrate_batch
        kernel(self._reactants, self._products, rates, x0, self.t0, self.times, self.num_times, index,
               self._method, self.rtol, self.atol, self.config.max_steps, 0.0, bool(jacobian),
               states, sens, status, stats)
        return BatchSimulation(states, sens if jacobian else None, status, self.num_times, stats)

    def evaluate(self, theta: np.ndarray, *, jacobian: bool = True):
        """Weighted residuals (and their Jacobian) of a batch of parameter vectors.

        Parameters
        ----------
        theta : np.ndarray, float64 [B, P]
        jacobian : bool
            Also return ``J = d r / d theta``.

        Returns
        -------
        residuals : np.ndarray, float64 [B, N]
            NaN where a simulation failed.
        jac : np.ndarray, float64 [B, N, P] or None
        ok : np.ndarray, bool [B]
            Every experiment integrated successfully and all residuals are finite.
        status : np.ndarray, int32 [B]
            The first non-zero simulation status of each parameter vector (0 if none).
        """
        theta = np.atleast_2d(theta)
        num_batch = theta.shape[0]
        sim = self.simulate(theta, jacobian=jacobian)
        pred = sim.states.reshape(num_batch, -1)[:, self.flat_index]
        failed = sim.status != STATUS_SUCCESS
        status = np.where(failed.any(axis=1), sim.status.max(axis=1), 0).astype(np.int32)
        with np.errstate(over="ignore", invalid="ignore"):
            residuals = (pred - self.y) * self.w
            # a trajectory that ran away to absurd amounts counts as failed (its squares would overflow);
            # the sum of squares is non-finite or huge exactly then
            squares = np.einsum("bn,bn->b", residuals, residuals)
            ok = (status == 0) & (squares < _HUGE)
            jac = None
            if jacobian:
                num_kernel = sim.sensitivities.shape[-1]
                if num_kernel:
                    sens = sim.sensitivities.reshape(num_batch, -1, num_kernel)[:, self.flat_index, :]
                else:
                    sens = np.zeros((num_batch, self.num_points, 0))
                if self.num_initial == 0:
                    jac = sens * self.w[None, :, None]
                else:
                    jac = np.empty((num_batch, self.num_points, self.num_params))
                    jac[:, :, : self.num_reactions] = sens[:, :, : self.num_reactions] * self.w[None, :, None]
                    jac[:, :, self.num_reactions:] = (sens[:, :, self.initial_kernel_column]
                                                      * self._initial_weight[None, :, :])
                ok &= np.abs(jac.sum(axis=(1, 2))) < _HUGE
        residuals[~ok] = np.nan
        return residuals, jac, ok, status

    def predictions(self, theta: np.ndarray) -> tuple[tuple[np.ndarray, ...], np.ndarray, int]:
        """Every species at each experiment's times in data units, with the weighted residuals of the same
        simulation: X arrays [T_x, S], residuals [N] and the status (0 on success)."""
        sim = self.simulate(theta[None, :], jacobian=False)
        out = tuple(np.array(sim.states[0, e, : n] * self.amount_scale) for e, n in enumerate(self.num_times))
        residuals = (sim.states.reshape(-1)[self.flat_index] - self.y) * self.w
        status = int(sim.status[0].max()) if (sim.status != STATUS_SUCCESS).any() else 0
        return out, residuals, status

    def parameter_names(self) -> tuple[str, ...]:
        """``k[<reaction>]`` for each rate, ``<species>(0)`` or ``<species>(0)@<experiment>`` per initial value."""
        names = [f"k[{self.crn.reaction_text(r)}]" for r in range(self.num_reactions)]
        for p in self.initial_params:
            species = self.crn.species[p.species_index]
            if p.shared or self.dataset.num_experiments == 1:
                names.append(f"{species}(0)")
            else:
                names.append(f"{species}(0)@{self.experiments[p.experiments[0]].name}")
        return tuple(names)

    def warm_theta(self, warm: "Mapping[str, float] | object | None") -> tuple[np.ndarray, np.ndarray]:
        """First start from a warm start; also a bool [P] mask of the parameters the warm start covered.

        ``warm`` is a previous ``FitResult`` (its rates by reaction and its fitted initial values by
        species, matched by name) or a mapping ``{reaction text: rate}``. Reactions it does not cover start
        at ``config.new_reaction_rate`` (or ``config.default_rate`` without any warm start).
        """
        theta = np.empty(self.num_params)
        covered = np.zeros(self.num_params, dtype=bool)
        theta[: self.num_reactions] = np.log(self.config.default_rate if warm is None
                                             else self.config.new_reaction_rate)
        theta[self.num_reactions:] = self.initial_start
        if warm is None:
            return np.clip(theta, self.lower, self.upper), covered
        if isinstance(warm, Mapping):
            rate_by_key = {text_reaction_key(text): float(rate) for text, rate in warm.items()}
            initial_by_species: dict[tuple[str, int], float] = {}
        else:
            rate_by_key = {text_reaction_key(text): float(rate) for text, rate in zip(warm.reactions, warm.rates)}
            initial_by_species = {}
            x0 = np.asarray(warm.x0)
            names = list(warm.species)
            if x0.ndim == 2 and x0.shape[0] == len(self.dataset.experiments):
                for e_local, e in enumerate(self.experiment_index):
                    for i, name in enumerate(names):
                        initial_by_species[(name, e_local)] = float(x0[e, i])
        for r in range(self.num_reactions):
            key = reaction_key(self.crn.reactants[r], self.crn.products[r], self.crn.species)
            rate = rate_by_key.get(key)
            if rate is not None and rate > 0 and np.isfinite(rate):
                theta[r] = np.log(rate) + self.log_rate_shift[r]
                covered[r] = True
        for q, p in enumerate(self.initial_params):
            name = self.crn.species[p.species_index]
            values = [initial_by_species.get((name, e)) for e in p.experiments]
            values = [v for v in values if v is not None and v > 0 and np.isfinite(v)]
            if values:
                theta[self.num_reactions + q] = np.log(np.mean(values) / self.amount_scale)
                covered[self.num_reactions + q] = True
        return np.clip(theta, self.lower, self.upper), covered
