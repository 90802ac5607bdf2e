"""Measurement noise: the per-point error model and a data-driven estimate of its level.

Noise models (one level ``noise_j`` per observed species j, value ``y_ij`` of point i):

- ``"relative"`` (default): ``sigma_ij = noise_j * max(|y_ij|, scale_floor * scale_j)``, a coefficient
  of variation that stops shrinking below a small fraction of the species' scale, so that zeros and
  values near a detection limit keep a non-zero error bar.
- ``"absolute"``: ``sigma_ij = noise_j``, in the species' own units.

``scale_j`` is the largest absolute observed value of species j over all experiments (1 where the
species has no non-zero observation) and ``scale_floor`` is ``DataConfig.scale_floor``.
"""
from __future__ import annotations

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

MIN_PSEUDO_RESIDUALS = 3
"""Fewer pseudo-residuals than this for a species and the estimate falls back to DataConfig.fallback_noise."""


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
    values: np.ndarray, scale: np.ndarray, noise_model: str, *, config: DataConfig | None = None
) -> np.ndarray:
    """Standard deviation of each point per unit of noise level, so that ``sigma = noise * noise_unit``.

    Parameters
    ----------
    values : np.ndarray
        [..., O] float64 observed values, NaN where missing.
    scale : np.ndarray
        [O] float64 species scales (see `species_scale`).
    noise_model : str
        ``"relative"``: ``max(|y|, scale_floor * scale)``; ``"absolute"``: 1.
    config : DataConfig, optional
        Supplies ``scale_floor``.

    Returns
    -------
    np.ndarray
        Same shape as ``values``, float64, NaN where ``values`` is NaN.
    """
    check_noise_model(noise_model)
    config = config or DataConfig()
    if noise_model == "absolute":
        return np.where(np.isnan(values), np.nan, 1.0)
    return np.maximum(np.abs(values), config.scale_floor * scale)


def pseudo_residuals(times: np.ndarray, values: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """Standardised pseudo-residuals of one observed series (Gasser, Sroka and Jennen-Steinmetz 1986).

    Each interior point of the observed (non-NaN) series is compared with the straight line through
    its two observed neighbours: ``r_i = y_i - (w_l y_{i-1} + w_r y_{i+1})`` with
    ``w_l = (t_{i+1} - t_i) / (t_{i+1} - t_{i-1})`` and ``w_r = 1 - w_l``. Where the signal is locally
    linear and the errors are independent with standard deviations ``noise * u_k``, ``r_i`` has
    standard deviation ``noise * sqrt(u_i^2 + w_l^2 u_{i-1}^2 + w_r^2 u_{i+1}^2)``; dividing by that
    root leaves samples of standard deviation ``noise``.

    Parameters
    ----------
    times : np.ndarray
        [T] float64, strictly increasing.
    values : np.ndarray
        [T] float64, NaN where missing.
    unit : np.ndarray
        [T] float64 per-point noise unit (see `noise_unit`).

    Returns
    -------
    np.ndarray
        [max(n - 2, 0)] float64, n the number of observed points.
    """
    observed = ~np.isnan(values)
    t, y, u = times[observed], values[observed], unit[observed]
    if y.size < 3:
        return np.empty(0)
    left, right = t[1:-1] - t[:-2], t[2:] - t[1:-1]
    w_left, w_right = right / (left + right), left / (left + right)
    residual = y[1:-1] - w_left * y[:-2] - w_right * y[2:]
    return residual / np.sqrt(u[1:-1] ** 2 + (w_left * u[:-2]) ** 2 + (w_right * u[2:]) ** 2)


def estimate_noise(
    species: Sequence[str],
    experiments: Sequence[Experiment],
    *,
    noise_model: str = "relative",
    config: DataConfig | None = None,
) -> np.ndarray:
    """Estimate each species' noise level from the scatter of its observations about local straight lines.

    For species j, the standardised pseudo-residuals (`pseudo_residuals`, after Gasser, Sroka and
    Jennen-Steinmetz 1986, "Residual variance and residual pattern in nonlinear regression",
    Biometrika 73:625-633) of every experiment's observed series are pooled, and the level is the
    scaled median absolute value ``noise_j = 1.4826 * median(|e|)`` (the MAD about zero, the residuals'
    expected value; Hampel 1974, JASA 69:383-393), robust to outliers and to a few strongly curved
    stretches. For relative noise the residuals are standardised by the per-point unit
    ``max(|y|, scale_floor * scale_j)``, so the level is a coefficient of variation; for absolute
    noise it is in the species' units.

    The estimate is clipped below at ``config.noise_floor`` (times ``scale_j`` for absolute noise). A
    species with fewer than MIN_PSEUDO_RESIDUALS pseudo-residuals gets ``config.fallback_noise`` (times
    ``scale_j`` for absolute noise) and a logged warning.

    Where sampling is too coarse to resolve the dynamics (oscillations, sharp peaks), curvature counts
    as noise and the estimate is biased upwards; give the noise explicitly if it is known.

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
    np.ndarray
        [O] float64 noise levels, all > 0.
    """
    config = config or DataConfig()
    scale = species_scale(experiments)
    units = [noise_unit(x.values, scale, noise_model, config=config) for x in experiments]
    noise = np.empty(scale.size)
    for j, name in enumerate(species):
        residuals = np.concatenate(
            [pseudo_residuals(x.times, x.values[:, j], unit[:, j]) for x, unit in zip(experiments, units)]
        )
        level_unit = 1.0 if noise_model == "relative" else scale[j]
        if residuals.size < MIN_PSEUDO_RESIDUALS:
            logger.warning(
                "species %r: %d pseudo-residual(s), too few to estimate its noise; using the fallback %g (%s)",
                name, residuals.size, config.fallback_noise, noise_model,
            )
            level = config.fallback_noise * level_unit
        else:
            level = MAD_TO_SD * float(np.median(np.abs(residuals)))
        noise[j] = max(level, config.noise_floor * level_unit)
    return noise
