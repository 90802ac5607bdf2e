"""The result of fitting a CRN: parameters, their uncertainty, the fit's quality and its predictions."""
from __future__ import annotations

import dataclasses

import numpy as np


def _frozen(array) -> np.ndarray:
    out = np.array(array, dtype=np.float64, copy=True)
    out.setflags(write=False)
    return out


@dataclasses.dataclass(frozen=True, eq=False)
class FitResult:
    """Fitted rate constants and initial values of one CRN on one data set.

    A failed fit (no start could be simulated, a diverging fit) is a result with ``success=False``, a
    ``message``, ``loss = inf`` and NaN parameters where none were found; it is never an exception.

    Attributes
    ----------
    success : bool
        A finite loss was reached (the best start may still have stopped at its iteration limit; see
        ``message``).
    message : str
        How the best start ended, or why the fit failed.
    species : tuple of str
        [S] the CRN's species (``x0`` and ``predictions`` columns).
    reactions : tuple of str
        [R] reaction texts, the keys for warm starting a child network.
    crn_key : str
        ``Crn.canonical_key()`` of the fitted network.
    rates : np.ndarray, float64 [R]
        Rate constants in the data's units.
    rate_se : np.ndarray, float64 [R]
        Standard errors of ``ln k`` (relative standard errors of the rates) from the Fisher information
        (Gauss-Newton ``J^T J`` of the weighted residuals); ``inf`` for a rate the data cannot determine.
    x0 : np.ndarray, float64 [X, S]
        Initial values used in each experiment (known, observed or fitted).
    param_names : tuple of str
        [P] ``k[reaction]`` for the rates, then ``species(0)`` (shared) or ``species(0)@experiment`` for
        the fitted initial values.
    params : np.ndarray, float64 [P]
        The rates and fitted initial values in data units.
    param_se : np.ndarray, float64 [P]
        Standard errors of the natural logs of ``params``.
    correlation : np.ndarray, float64 [P, P]
        Correlations of the log parameters (NaN where a standard error is infinite).
    loss : float
        The minimized chi-square ``sum ((prediction - y) / sigma)^2`` (``inf`` when failed).
    rss : float
        Unweighted residual sum of squares in data units.
    num_points : int
        N observed values.
    num_params : int
        P fitted parameters (rates plus fitted initial values).
    predictions : tuple of np.ndarray
        [X] arrays [T_x, S]: every species at the experiment's observation times.
    holdout_chi2 : float
        Chi-square of the last experiment predicted by a fit to the others (NaN unless computed).
    holdout_fit_chi2 : float
        Chi-square of the same experiment's points under this (full) fit, the baseline of the prediction
        (NaN unless computed); ``holdout_chi2 - holdout_fit_chi2`` is the generalization gap.
    holdout_points : int
        Observed values of the held-out experiment (0 unless computed).
    num_simulations : int
        Simulations (one per parameter set and experiment batch) the fit used, hold-out refit included.
    num_iterations : int
        Optimizer iterations of the best start.
    seed_entropy : int or None
        Entropy of the seed sequence of the random starts.
    """

    success: bool
    message: str
    species: tuple[str, ...]
    reactions: tuple[str, ...]
    crn_key: str
    rates: np.ndarray
    rate_se: np.ndarray
    x0: np.ndarray
    param_names: tuple[str, ...]
    params: np.ndarray
    param_se: np.ndarray
    correlation: np.ndarray
    loss: float
    rss: float
    num_points: int
    num_params: int
    predictions: tuple[np.ndarray, ...]
    holdout_chi2: float = float("nan")
    holdout_fit_chi2: float = float("nan")
    holdout_points: int = 0
    num_simulations: int = 0
    num_iterations: int = 0
    seed_entropy: int | None = None

    def __post_init__(self) -> None:
        for name in ("rates", "rate_se", "x0", "params", "param_se", "correlation"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, "predictions", tuple(_frozen(p) for p in self.predictions))

    @property
    def chi2(self) -> float:
        """Same as ``loss``."""
        return self.loss

    @property
    def chi2_per_point(self) -> float:
        """``loss / N``: about 1 for a correct model and correct noise levels."""
        return self.loss / max(self.num_points, 1)

    @property
    def num_reactions(self) -> int:
        return len(self.reactions)

    def rates_by_reaction(self) -> dict[str, float]:
        """``{reaction text: rate}``, a warm start for ``fit_rates``."""
        return dict(zip(self.reactions, self.rates.tolist()))

    def summary(self) -> str:
        """Multi-line text: status, loss, and a parameter table with relative standard errors."""
        lines = [f"fit {'ok' if self.success else 'FAILED'}: {self.message}",
                 f"chi2 {self.loss:.4g} over {self.num_points} points (chi2/N {self.chi2_per_point:.3g}), "
                 f"{self.num_params} parameters, {self.num_simulations} simulations"]
        for name, value, se in zip(self.param_names, self.params, self.param_se):
            lines.append(f"  {name:32s} {value:12.5g}   rel. s.e. {se:.3g}")
        return "\n".join(lines)


def fisher_uncertainty(jac: np.ndarray, rcond: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Standard errors and correlations of parameters from the Jacobian of the weighted residuals.

    With ``J = d r / d theta`` [N, P] and unit-variance weighted residuals, the Fisher information is
    ``F = J^T J`` and the (Cramer-Rao, Gauss-Newton) covariance is ``F^-1``. It is computed from the SVD
    ``J = U diag(s) V^T`` as ``V diag(1/s^2) V^T``; singular values below ``rcond * s_max`` are directions
    the data do not determine, and every parameter with a component along one of them gets an infinite
    standard error.

    Parameters
    ----------
    jac : np.ndarray, float64 [N, P]
    rcond : float

    Returns
    -------
    se : np.ndarray, float64 [P]
    correlation : np.ndarray, float64 [P, P]
    """
    num_params = jac.shape[1]
    if num_params == 0:
        return np.zeros(0), np.zeros((0, 0))
    if not np.isfinite(jac).all():
        return np.full(num_params, np.inf), np.full((num_params, num_params), np.nan)
    # column scaling first: the SVD then sees the conditioning of the model, not the parameters' units
    norms = np.linalg.norm(jac, axis=0)
    scale = np.where(norms > 0, norms, 1.0)
    _, s, vt = np.linalg.svd(jac / scale, full_matrices=False)
    good = s > rcond * (s.max() if s.size else 0.0)
    good &= s > 0
    inv = np.where(good, 1.0 / np.where(good, s, 1.0) ** 2, 0.0)
    cov = (vt.T * inv) @ vt / np.outer(scale, scale)
    null = vt[~good]
    unidentified = (np.abs(null) > 1e-8).any(axis=0) if null.size else np.zeros(num_params, bool)
    unidentified |= norms == 0
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    se[unidentified] = np.inf
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(se, se)
    corr[unidentified, :] = np.nan
    corr[:, unidentified] = np.nan
    np.fill_diagonal(corr, np.where(unidentified, np.nan, 1.0))
    return se, corr
