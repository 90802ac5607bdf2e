"""Measurement noise: the per-point error model and a data-driven estimate of it.

Noise models (one level ``noise_j`` per observed species j, value ``y_ij`` of point i):

- ``"relative"`` (default): ``sigma_ij = noise_j * max(|y_ij|, floor_j * scale_j)``, a coefficient of
  variation above ``floor_j`` times the species' scale and a constant (absolute) error below it. The floor
  is ``DataConfig.scale_floor`` unless the data set gives one per species (`estimate_noise` chooses it
  from the data): a floor of 1 is absolute noise of ``noise_j * scale_j`` at every point, a floor of
  0.01 relative noise that stops shrinking at 1% of the species' largest value (so zeros and values near a
  detection limit keep a non-zero error bar), and a floor in between both at once.
- ``"absolute"``: ``sigma_ij = noise_j``, in the species' own units.

``scale_j`` is the largest absolute observed value of species j over all experiments (1 where the
species has no non-zero observation).
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Sequence

import numpy as np

from mcts_crn.config import DataConfig
from mcts_crn.data.experiment import Experiment

logger = logging.getLogger(__name__)

NOISE_MODELS = ("relative", "absolute")
"""Accepted values of ``noise_model``."""

MAD_TO_SD = 1.482602218505602
"""1 / Phi^-1(3/4): turns the median absolute value of N(0, s^2) samples into s."""

TRIM = 3.0
"""Pseudo-residuals beyond this many robust standard deviations are left out of the level (curvature)."""

TRIMMED_VARIANCE = 0.9733369246625415
"""Variance of a standard normal truncated to [-TRIM, TRIM]: ``1 - 2 TRIM phi(TRIM) / (2 Phi(TRIM) - 1)``."""

MIN_PSEUDO_RESIDUALS = 3
"""Fewer pseudo-residuals than this for a species (and for all species pooled) and the estimate falls
back to DataConfig.fallback_noise."""

RELIABLE_PSEUDO_RESIDUALS = 55
"""Pseudo-residuals a species needs for its level to be known to within 30% at 95% confidence.

Neighbouring pseudo-residuals share observations (on an even grid their correlations are -2/3 and 1/6),
so ``n`` of them carry about ``n / 1.94`` independent squares, and the relative standard error of the
level is about ``1 / sqrt(n)``; ``1.96 / sqrt(55) = 0.264 = log(1.30)``."""

UNRESOLVED_RATIO = 1.5
"""A level estimated from every other point this much above the level from every point says that the
sampling does not resolve the dynamics (curvature between neighbours counts as noise): the estimate is then
an upper bound. On pure noise the two agree to within about ``1 / sqrt(n)``; the curvature term of a
pseudo-residual grows 16-fold in variance when the spacing doubles."""

MAX_RELATIVE_LEVEL = 0.5
"""Largest coefficient of variation a floor below 1 may explain the data with: near zero, absolute noise
looks like a relative noise of about 100%, which no instrument has."""

FLOOR_GRID = np.geomspace(1e-12, 1.0, 49)
"""Floors (fractions of a species' scale) among which the estimate chooses, from relative noise down to
1e-12 of the scale (a species that decays for many time constants) to absolute noise (1)."""


def check_noise_model(noise_model: str) -> None:
    """Raise ValueError unless ``noise_model`` is one of NOISE_MODELS."""
    if noise_model not in NOISE_MODELS:
        raise ValueError(f"noise_model must be one of {NOISE_MODELS}, got {noise_model!r}")


def species_scale(experiments: Sequence[Experiment]) -> np.ndarray:
    """Largest absolute observed value of each species.

    Parameters
    ----------
    experiments : sequence of Experiment
        X experiments with the same O observed species.

    Returns
    -------
    np.ndarray
        [O] float64; 1.0 for a species with no non-zero observation.
    """
    values = np.concatenate([x.values for x in experiments], axis=0)
    largest = np.where(np.isnan(values), 0.0, np.abs(values)).max(axis=0)
    return np.where(largest > 0, largest, 1.0)


def noise_unit(
    values: np.ndarray, scale: np.ndarray, noise_model: str, *, config: DataConfig | None = None,
    floor: np.ndarray | None = None,
) -> np.ndarray:
    """Standard deviation of each point per unit of noise level, so that ``sigma = noise * noise_unit``.

    Parameters
    ----------
    values : np.ndarray
        [..., O] float64 observed values, NaN where missing.
    scale : np.ndarray
        [O] float64 species scales (see `species_scale`).
    noise_model : str
        ``"relative"``: ``max(|y|, floor * scale)``; ``"absolute"``: 1.
    config : DataConfig, optional
        Supplies ``scale_floor``, the floor where ``floor`` is None.
    floor : np.ndarray, optional
        [O] float64 per-species floors, fractions of the scale.

    Returns
    -------
    np.ndarray
        Same shape as ``values``, float64, NaN where ``values`` is NaN.
    """
    check_noise_model(noise_model)
    if noise_model == "absolute":
        return np.where(np.isnan(values), np.nan, 1.0)
    if floor is None:
        floor = (config or DataConfig()).scale_floor
    return np.maximum(np.abs(values), floor * scale)


def smoothed_values(times: np.ndarray, values: np.ndarray, window: int = 5) -> np.ndarray:
    """A local fit at each observed point to the ``window`` nearest observations of its series.

    The local model is a straight line in ``log y`` where the window's values are all positive (exact
    for exponential growth and decay, which a straight line in ``y`` would overestimate by orders of
    magnitude at the low end of a window spanning a steep rise), else a straight line in ``y``.

    Parameters
    ----------
    times : np.ndarray, float64 [T]
    values : np.ndarray, float64 [T, O]
        NaN where missing.
    window : int
        Number of neighbouring observations (by index, centred where possible) of each local fit.

    Returns
    -------
    np.ndarray, float64 [T, O]
        Smoothed values, NaN where ``values`` is NaN; a series with fewer than 3 observations is
        returned as it is.
    """
    out = np.array(values, dtype=np.float64)
    for j in range(values.shape[1]):
        seen = np.flatnonzero(~np.isnan(values[:, j]))
        n = seen.size
        if n < 3:
            continue
        width = min(window, n)
        t, y = times[seen], values[seen, j]
        lo = np.clip(np.arange(n) - width // 2, 0, n - width)
        index = lo[:, None] + np.arange(width)[None, :]          # [n, width] window of each point
        tt = t[index]
        positive = y > 0
        use_log = positive[index].all(axis=1)
        yy = np.where(use_log[:, None], np.log(np.where(positive, y, 1.0))[index], y[index])
        dt = tt - tt.mean(axis=1, keepdims=True)
        denominator = np.einsum("nw,nw->n", dt, dt)
        slope = (np.einsum("nw,nw->n", dt, yy - yy.mean(axis=1, keepdims=True))
                 / np.where(denominator > 0, denominator, 1.0))
        value = yy.mean(axis=1) + slope * (t - tt.mean(axis=1))
        out[seen, j] = np.where(use_log, np.exp(np.minimum(value, 700.0)), value)
    return out


@dataclasses.dataclass(frozen=True)
class _Series:
    """The pseudo-residuals of one species, pooled over experiments, with what their spread depends on.

    ``residual`` [n]: ``y_i - w_l y_{i-1} - w_r y_{i+1}``; ``log_residual`` [n]: the same of ``log y``;
    ``level`` [n, 3]: the smoothed signal at the three points; ``weight`` [n, 3]: ``(1, w_l, w_r)``;
    ``scale``: the species' scale.
    """

    residual: np.ndarray
    log_residual: np.ndarray
    level: np.ndarray
    weight: np.ndarray
    scale: float

    def standardised(self, floor: float, noise_model: str) -> tuple[np.ndarray, np.ndarray]:
        """Each pseudo-residual per unit of noise level, and its standard deviation per unit (in ``y``), for
        one floor.

        Where all three points are above the floor (relative noise) the log pseudo-residual is used: its
        standard deviation is the level times ``sqrt(1 + w_l^2 + w_r^2)`` whatever the values, and an
        exponential rise or decay, the commonest curve in kinetics, is a straight line in ``log y`` (in ``y``
        a coarsely sampled one counts as noise). Elsewhere the pseudo-residual in ``y``.
        """
        if noise_model == "absolute":
            units = np.sqrt((self.weight ** 2).sum(axis=1))
            return self.residual / units, units
        size = np.maximum(self.level, floor * self.scale)
        units = np.sqrt(((self.weight * size) ** 2).sum(axis=1))
        relative = (self.level >= floor * self.scale).all(axis=1)
        e = np.where(relative, self.log_residual / np.sqrt((self.weight ** 2).sum(axis=1)), self.residual / units)
        return e, units


def pseudo_residual_series(times: np.ndarray, values: np.ndarray, smooth: np.ndarray):
    """Pseudo-residuals of one observed series (Gasser, Sroka and Jennen-Steinmetz 1986).

    Each interior point of the observed (non-NaN) series is compared with the straight line through
    its two observed neighbours: ``r_i = y_i - (w_l y_{i-1} + w_r y_{i+1})`` with
    ``w_l = (t_{i+1} - t_i) / (t_{i+1} - t_{i-1})`` and ``w_r = 1 - w_l``. Where the signal is locally
    linear and the errors are independent with standard deviations ``s_k``, ``r_i`` has standard deviation
    ``sqrt(s_i^2 + w_l^2 s_{i-1}^2 + w_r^2 s_{i+1}^2)``. Triples of three equal observations (a
    series stuck at a detection limit) tell nothing of the noise, and a zero is a censored value (an
    amount that cannot be negative, measured at or below zero): triples with either are left out.

    Parameters
    ----------
    times : np.ndarray
        [T] float64, strictly increasing.
    values, smooth : np.ndarray
        [T] float64 observations (NaN where missing) and their `smoothed_values`.

    Returns
    -------
    tuple of np.ndarray
        ``residual`` [n], ``log_residual`` [n] (the same of ``log y``), ``level`` [n, 3] (``|smooth|`` at
        the three points), ``weight`` [n, 3].
    """
    observed = ~np.isnan(values)
    t, y, m = times[observed], values[observed], np.abs(smooth[observed])
    if y.size < 3:
        return np.empty(0), np.empty(0), np.empty((0, 3)), np.empty((0, 3))
    left, right = t[1:-1] - t[:-2], t[2:] - t[1:-1]
    w_left, w_right = right / (left + right), left / (left + right)
    residual = y[1:-1] - w_left * y[:-2] - w_right * y[2:]
    level = np.stack([m[1:-1], m[:-2], m[2:]], axis=1)
    weight = np.stack([np.ones_like(w_left), w_left, w_right], axis=1)
    informative = ~((y[1:-1] == y[:-2]) & (y[1:-1] == y[2:])) & (y[1:-1] > 0) & (y[:-2] > 0) & (y[2:] > 0)
    log_y = np.log(np.where(y > 0, y, 1.0))
    log_residual = log_y[1:-1] - w_left * log_y[:-2] - w_right * log_y[2:]
    return residual[informative], log_residual[informative], level[informative], weight[informative]


def robust_scale(e: np.ndarray) -> float:
    """Standard deviation of mostly normal samples about zero, robust to a few large ones (curvature).

    The MAD about zero (``1.4826 median |e|``; Hampel 1974, JASA 69:383-393) finds the bulk; the root
    mean square of the samples within TRIM of those standard deviations, divided by the truncated normal's
    variance, is the estimate (nearly as efficient as the plain root mean square on normal samples).
    """
    mad = MAD_TO_SD * float(np.median(np.abs(e)))
    if mad == 0.0:
        return 0.0
    kept = e[np.abs(e) <= TRIM * mad]
    return float(np.sqrt(np.mean(kept ** 2) / TRIMMED_VARIANCE))


def _fit_level(series: Sequence[_Series], noise_model: str) -> tuple[float, float, int]:
    """Level, floor and count of pseudo-residuals of one error model shared by ``series``.

    For each floor of FLOOR_GRID the pseudo-residuals are standardised by their units and their
    `robust_scale` is the level; the floor kept maximises the likelihood of all pseudo-residuals, normal
    within TRIM standard deviations and with Huber's linear tails beyond (Huber 1964), so that a floor
    that explains most points with a tiny level and calls the rest outliers does not win. Under absolute
    noise there is no floor (1). A floor below 1 whose level exceeds MAX_RELATIVE_LEVEL is not a candidate.
    """
    count = sum(s.residual.size for s in series)
    if count < MIN_PSEUDO_RESIDUALS:
        return 0.0, 1.0, count
    floors = FLOOR_GRID if noise_model == "relative" else np.ones(1)
    best = (np.inf, 0.0, 1.0)
    for floor in floors:
        e, units = (np.concatenate(part) for part in zip(*(s.standardised(floor, noise_model) for s in series)))
        level = robust_scale(e)
        if level == 0.0:
            return 0.0, float(floor), count
        if level > MAX_RELATIVE_LEVEL and floor < 1.0:
            continue
        z = np.abs(e) / level
        # the negative log-likelihood with Huber's loss beyond TRIM (curvature), every point counted
        cost = count * np.log(level) + np.log(units).sum() + np.where(z <= TRIM, z ** 2 / 2,
                                                                          TRIM * z - TRIM ** 2 / 2).sum()
        if cost < best[0]:
            best = (cost, level, float(floor))
    return best[1], best[2], count


def _species_series(experiments: Sequence[Experiment], smooth: Sequence[np.ndarray], j: int, scale: float,
                    stride: int = 1) -> _Series:
    """The pseudo-residuals of species j over all experiments, of every ``stride``-th observed point (each
    offset in turn: stride 2 compares points with neighbours twice as far apart)."""
    parts = []
    for x, m in zip(experiments, smooth):
        seen = np.flatnonzero(~np.isnan(x.values[:, j]))
        for offset in range(stride):
            index = seen[offset::stride]
            parts.append(pseudo_residual_series(x.times[index], x.values[index, j], m[index, j]))
    return _Series(*(np.concatenate(column) for column in zip(*parts)), scale=scale)


def _level_at(series: Sequence[_Series], noise_model: str, floor: float) -> float:
    """The `robust_scale` level of ``series`` at one floor."""
    e = np.concatenate([s.standardised(floor, noise_model)[0] for s in series])
    return robust_scale(e) if e.size else float("nan")


@dataclasses.dataclass(frozen=True)
class NoiseEstimate:
    """The estimated error model of each observed species, and how well the data know it.

    Attributes
    ----------
    level : np.ndarray
        [O] float64 noise levels (relative: a coefficient of variation; absolute: species' units).
    floor : np.ndarray
        [O] float64 floors (fractions of each species' scale; see the module docstring): where relative
        noise gives way to absolute noise. At least ``DataConfig.scale_floor``; 1 under absolute noise.
    count : np.ndarray
        [O] int64 pseudo-residuals of each species.
    pooled : np.ndarray
        [O] bool: the species had too few pseudo-residuals of its own (< RELIABLE_PSEUDO_RESIDUALS) and
        shares the level and floor estimated from all species together.
    uncertain : np.ndarray
        [O] bool: the data cannot tell the noise well: even pooled, fewer than RELIABLE_PSEUDO_RESIDUALS
        pseudo-residuals (or the fallback), or a sampling too coarse for the dynamics (UNRESOLVED_RATIO).
    note : str
        What a reader should know: which species were pooled, fell back or are uncertain (empty if none).
    """

    level: np.ndarray
    floor: np.ndarray
    count: np.ndarray
    pooled: np.ndarray
    uncertain: np.ndarray
    note: str


def estimate_noise(
    species: Sequence[str],
    experiments: Sequence[Experiment],
    *,
    noise_model: str = "relative",
    config: DataConfig | None = None,
) -> NoiseEstimate:
    """Estimate each species' error model from the scatter of its observations about local straight lines.

    For species j, the pseudo-residuals (`pseudo_residual_series`, after Gasser, Sroka and
    Jennen-Steinmetz 1986, "Residual variance and residual pattern in nonlinear regression", Biometrika
    73:625-633) of every experiment's observed series are pooled and standardised by the error model's
    unit at the smoothed signal (`smoothed_values`: the signal, not the noisy observation, sets the size
    of relative noise). Under relative noise the level and the floor (where relative noise gives way to
    absolute noise, among FLOOR_GRID) are estimated together by maximum likelihood, with the level a
    robust root mean square (`robust_scale`) so that a few strongly curved stretches do not count as
    noise; under absolute noise the level alone.

    Rules where the data cannot tell:

    - a species with fewer than RELIABLE_PSEUDO_RESIDUALS pseudo-residuals gets the level and floor
      estimated from all species' pseudo-residuals together (one error model for the data set: most
      instruments measure every species alike), unless its own estimate is far from that (more than
      three of its standard errors, ``1 / sqrt(n)`` in log scale), which then stands; where even the
      pool has too few, the estimate is marked uncertain and the note says so;
    - a species whose level from every other point exceeds its level from every point by UNRESOLVED_RATIO
      is marked uncertain: its sampling does not resolve its dynamics and the estimate is an upper bound
      (an error bar too wide, which costs power but does not let the search chase noise);
    - fewer than MIN_PSEUDO_RESIDUALS in all: ``config.fallback_noise`` (times ``scale_j`` for absolute
      noise) and a logged warning.

    The level is clipped below at ``config.noise_floor`` (times ``scale_j`` for absolute noise), and the
    floor at ``config.scale_floor`` (relative noise below 1% of a species' largest value is taken as
    1% of it: the conservative error bar near zero). Where sampling is too coarse to resolve the
    dynamics (oscillations, sharp peaks), curvature counts as noise and the estimate is biased upwards;
    give the noise explicitly if it is known.

    Parameters
    ----------
    species : sequence of str
        [O] observed species names, the column order of every experiment's values (for messages).
    experiments : sequence of Experiment
        X >= 1 experiments with the same O observed species.
    noise_model : str
        ``"relative"`` or ``"absolute"`` (see the module docstring).
    config : DataConfig, optional
        Supplies ``noise_floor``, ``scale_floor`` and ``fallback_noise``.

    Returns
    -------
    NoiseEstimate
    """
    check_noise_model(noise_model)
    config = config or DataConfig()
    scale = species_scale(experiments)
    smooth = [smoothed_values(x.times, x.values) for x in experiments]
    series = [_species_series(experiments, smooth, j, float(scale[j])) for j in range(len(species))]
    own = [_fit_level([s], noise_model) for s in series]
    coarse = [_level_at([_species_series(experiments, smooth, j, float(scale[j]), stride=2)], noise_model, floor)
              for j, (_, floor, _) in enumerate(own)]
    pool = _fit_level(series, noise_model)
    num = len(species)
    level, floor = np.empty(num), np.empty(num)
    count = np.array([c for _, _, c in own], dtype=np.int64)
    pooled, uncertain = np.zeros(num, dtype=bool), np.zeros(num, dtype=bool)
    notes = []
    for j, name in enumerate(species):
        alone = own[j]
        if count[j] >= RELIABLE_PSEUDO_RESIDUALS or pool[2] <= count[j]:
            chosen = alone
        elif count[j] >= MIN_PSEUDO_RESIDUALS and alone[0] > 0 and pool[0] > 0 and (
                abs(np.log(alone[0] / pool[0])) > 3.0 / np.sqrt(count[j])):
            chosen = alone
            notes.append(f"{name}: its own noise ({count[j]} pseudo-residuals) differs from the other species'")
        else:
            chosen, pooled[j] = pool, True
        used = chosen[2]
        level_unit = 1.0 if noise_model == "relative" else scale[j]
        if used < MIN_PSEUDO_RESIDUALS:
            logger.warning(
                "species %r: %d pseudo-residual(s), too few to estimate its noise; using the fallback %g (%s)",
                name, count[j], config.fallback_noise, noise_model,
            )
            notes.append(f"{name}: too few points to estimate its noise; fallback {config.fallback_noise:g}")
            level[j], floor[j], uncertain[j] = config.fallback_noise * level_unit, config.scale_floor, True
        else:
            level[j], floor[j] = chosen[0], chosen[1]
            if used < RELIABLE_PSEUDO_RESIDUALS:
                uncertain[j] = True
                notes.append(f"{name}: {used} pseudo-residuals{' (all species pooled)' if pooled[j] else ''}, "
                             f"too few to know the noise well (within about x{np.exp(1.96 / np.sqrt(used)):.1f})")
        if not uncertain[j] and coarse[j] > UNRESOLVED_RATIO * own[j][0]:
            uncertain[j] = True
            notes.append(f"{name}: the sampling is too coarse for its dynamics; the estimate is an upper bound")
        level[j] = max(level[j], config.noise_floor * level_unit)
        floor[j] = 1.0 if noise_model == "absolute" else max(floor[j], config.scale_floor)
    if pooled.any() and not uncertain[pooled].all():
        notes.insert(0, "species with too few points share the noise estimated from all species: "
                     + ", ".join(name for name, p in zip(species, pooled) if p))
    return NoiseEstimate(level, floor, count, pooled, uncertain, "; ".join(notes))
