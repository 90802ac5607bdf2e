"""Model inputs from a search state: numpy arrays built from (crn, data set, fit), no torch.

A state is the bipartite species-reaction graph of a CRN, decorated with what the data and the current fit
say about each species, plus the list of legal actions with what each one touches. Every feature is
computed per species or per reaction from quantities that do not depend on the species' positions, so that
relabelling the species permutes the species rows (and the species indices in ``edges`` and ``entries``)
and changes nothing else: the model built on them is permutation-equivariant.

Species features ``[S, F_s]`` (``species_feature_size``), on a grid of G points of normalized time
``u = (t - t_first) / (t_last - t_first)`` (linear interpolation between observed points, mean over
experiments):

- flags: observed, latent, latent-and-complete (made by one reaction and used by another);
- data (observed species, zeros for latent ones): the observed trajectory ``y / scale`` on the grid
  (mean over experiments and its spread max - min), ``log10(scale / largest scale) / 3``, the noise level,
  the fraction of missing values;
- the fit's prediction ``x / scale`` on the grid (latent species: ``x / max x`` and
  ``log10(max x / largest data scale) / 3``), zeros when the fit failed;
- residuals (observed species): weighted residuals ``r = (y - x) / sigma`` on the grid, squashed as
  ``sign(r) log(1 + |r|) / 3``, and ``log(1 + chi2_j / N_j) / 5``, the species' share of the misfit.

Reaction features ``[R, F_r]``: one-hot reactant order and product count (0 .. max_coefficient), whether
the rate is identified (relative standard error <= 1) and ``log10(se)`` clipped, and
``log10(turnover)`` clipped, with turnover ``mean_t v_r(t) * time span / largest data scale``.

Graph features ``[F_g]``: ``log(1 + chi2/N) / 5``, fit failed, the reward, reactions / max reactions,
latent species and the ones still allowed, parameters / points.

Action features ``[A, F_a]``: kind one-hot (reaction, add latent, stop), one-hot reactant order and
product count, whether the reverse reaction is present, the reaction's share of the data's slopes in a
sparse non-negative regression over all candidates (``mcts_crn.search.evaluators.regression_fit``,
once per data set), the fraction of the misfit it explains to first order (``direct_score``), and, last,
the log prior of a fast version of the search's heuristic built on these two (``heuristic_log_prior``;
0 when ``heuristic_features`` is off).

``entries`` lists, for every reaction action, the species it touches with their coefficients:
rows ``(action, species, reactant coefficient, product coefficient)``.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

from mcts_crn.config import ModelConfig
from mcts_crn.crn import ActionSpace, Crn, latent_complete
from mcts_crn.data import Dataset

FEATURE_VERSION = 2
"""Bumped whenever the meaning or layout of a feature changes (stored with replay buffers and checkpoints)."""

KIND_REACTION, KIND_ADD_LATENT, KIND_STOP = 0, 1, 2

NUM_FLAG_FEATURES = 3
NUM_GRAPH_FEATURES = 8


def species_feature_size(config: ModelConfig) -> int:
    """F_s: flags, data (2G + 3), prediction (G + 1), residuals (G + 1)."""
    g = config.grid_points
    return NUM_FLAG_FEATURES + (2 * g + 3) + (g + 1) + (g + 1)


def reaction_feature_size(config: ModelConfig) -> int:
    """F_r: reactant order and product count one-hot, identified, log se, log turnover."""
    return 2 * (config.max_coefficient * 2 + 1) + 3


def action_feature_size(config: ModelConfig) -> int:
    """F_a: kind one-hot, reactant order and product count one-hot, reverse present, regression share,
    direct score, heuristic."""
    return 3 + 2 * (config.max_coefficient * 2 + 1) + 4


def graph_feature_size(config: ModelConfig) -> int:
    return NUM_GRAPH_FEATURES


def _one_hot(values: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros((len(values), size), dtype=np.float32)
    out[np.arange(len(values)), np.clip(values, 0, size - 1)] = 1.0
    return out


@dataclasses.dataclass(frozen=True, eq=False)
class StateFeatures:
    """The model input of one state.

    Attributes
    ----------
    species : float32 [S, F_s]
    reactions : float32 [R, F_r]
    edges : int32 [E, 4]
        ``(species, reaction, reactant coefficient, product coefficient)`` per species taking part in a
        reaction (either side).
    graph : float32 [F_g]
    actions : int64 [A]
        The legal actions (codes of the search's ``ActionSpace``), in the order of the logits.
    action_features : float32 [A, F_a]
    entries : int32 [M, 4]
        ``(action row, species, reactant coefficient, product coefficient)`` for each species a reaction
        action touches.
    """

    species: np.ndarray
    reactions: np.ndarray
    edges: np.ndarray
    graph: np.ndarray
    actions: np.ndarray
    action_features: np.ndarray
    entries: np.ndarray

    @property
    def num_species(self) -> int:
        return int(self.species.shape[0])

    @property
    def num_actions(self) -> int:
        return int(self.actions.shape[0])


def _resample(times: np.ndarray, values: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns of ``values`` [T, C] (NaN = missing) linearly interpolated on ``grid`` [G].

    Returns the resampled [G, C] values (0 for a column with no finite value) and whether each column has
    any finite value, bool [C].
    """
    out = np.zeros((len(grid), values.shape[1]))
    present = np.zeros(values.shape[1], dtype=bool)
    finite = np.isfinite(values)
    if finite.all():
        if len(times) == 1:
            return np.repeat(values, len(grid), axis=0), np.ones(values.shape[1], bool)
        # every column on the same abscissa: one vectorized interpolation
        index = np.clip(np.searchsorted(times, grid, side="right") - 1, 0, len(times) - 2)
        t0, t1 = times[index], times[index + 1]
        w = np.clip((grid - t0) / np.where(t1 > t0, t1 - t0, 1.0), 0.0, 1.0)[:, None]
        return (1 - w) * values[index] + w * values[index + 1], np.ones(values.shape[1], bool)
    for c in range(values.shape[1]):
        ok = finite[:, c]
        if ok.any():
            out[:, c] = np.interp(grid, times[ok], values[ok, c])
            present[c] = True
    return out, present


class FeatureBuilder:
    """Builds ``StateFeatures`` for the states of one search (one data set, one action space).

    What depends on the data alone (trajectory summaries, scales, noise weights) and on the action space
    alone (the species each candidate touches, its reactant multiset, its reverse) is computed once here.

    Parameters
    ----------
    dataset : Dataset
    space : ActionSpace
    config : ModelConfig, optional
    """

    def __init__(self, dataset: Dataset, space: ActionSpace, config: ModelConfig | None = None) -> None:
        self.config = ModelConfig() if config is None else config
        self.dataset = dataset
        self.space = space
        g = self.config.grid_points
        first, last = dataset.time_span
        self._t0 = first
        self._span = (last - first) if last > first else 1.0
        self.grid = np.linspace(0.0, 1.0, g)
        self.scale = np.asarray(dataset.species_scale, dtype=np.float64)
        self.max_scale = float(self.scale.max())
        self.sigmas = dataset.sigmas()
        self._utimes = [(x.times - self._t0) / self._span for x in dataset.experiments]
        # data summary per observed species [O, 2G + 3]
        curves = []
        missing = np.zeros(dataset.num_species)
        total = 0
        for x, u in zip(dataset.experiments, self._utimes):
            resampled, _ = _resample(u, x.values / self.scale, self.grid)
            curves.append(resampled.T)
            missing += np.isnan(x.values).sum(axis=0)
            total += x.num_times
        curves = np.stack(curves)  # [X, O, G]
        self.data_features = np.concatenate([
            curves.mean(axis=0), curves.max(axis=0) - curves.min(axis=0),
            (np.log10(self.scale / self.max_scale) / 3.0)[:, None],
            np.asarray(dataset.noise, dtype=np.float64)[:, None],
            (missing / max(total, 1))[:, None]], axis=1).astype(np.float32)
        self._weights = [np.where(np.isfinite(sig), 1.0 / sig, 0.0) for sig in self.sigmas]
        # reactant multiset of each candidate as species indices padded with S_max (a column of ones)
        order = int(space.reactants.sum(axis=1).max()) if space.num_reaction_actions else 0
        self._reactant_index = np.full((space.num_reaction_actions, max(order, 1)), space.max_species, np.int64)
        for k, row in enumerate(space.reactants):
            members = np.repeat(np.arange(space.max_species), row)
            self._reactant_index[k, :len(members)] = members
        # per candidate reaction: touched species with coefficients (CSR by candidate)
        touched = (space.reactants > 0) | (space.products > 0)
        cand, spec = np.nonzero(touched)
        self._entry_candidate = cand.astype(np.int64)
        self._entry_species = spec.astype(np.int32)
        self._entry_a = space.reactants[cand, spec].astype(np.int32)
        self._entry_b = space.products[cand, spec].astype(np.int32)
        self._entry_start = np.searchsorted(cand, np.arange(space.num_reaction_actions + 1)).astype(np.int64)
        self._orders = space.reactants.sum(axis=1).astype(np.int64)
        self._sizes = space.products.sum(axis=1).astype(np.int64)
        self._reverse = self._reverse_index(space)
        from mcts_crn.search.evaluators import regression_confidence, regression_fit

        shares, explained = regression_fit(dataset, space)
        self.regression = np.asarray(shares, dtype=np.float64)  # [K]
        self.regression_confidence = regression_confidence(explained)

    @staticmethod
    def _reverse_index(space: ActionSpace) -> np.ndarray:
        """For each candidate reaction, the candidate with its sides swapped (it is always a candidate)."""
        index = {(r.tobytes(), p.tobytes()): k for k, (r, p) in enumerate(zip(space.reactants, space.products))}
        return np.array([index[(p.tobytes(), r.tobytes())] for r, p in zip(space.reactants, space.products)],
                        dtype=np.int64)

    # ------------------------------------------------------------------ pieces
    def _species_features(self, crn: Crn, fit) -> np.ndarray:
        cfg = self.config
        g = cfg.grid_points
        s = crn.num_species
        columns = np.array([crn.species_index(name) for name in self.dataset.species], dtype=np.int64)
        out = np.zeros((s, species_feature_size(cfg)), dtype=np.float32)
        out[:, 0] = ~crn.latent
        out[:, 1] = crn.latent
        out[:, 2] = crn.latent & latent_complete(crn)
        col = NUM_FLAG_FEATURES
        out[columns, col:col + 2 * g + 3] = self.data_features
        col += 2 * g + 3
        if fit is None or not fit.success:
            return out
        # predictions on the grid, mean over experiments [S, G]
        predicted = np.zeros((s, g))
        residual = np.zeros((len(columns), g))
        chi2 = np.zeros(len(columns))
        counts = np.zeros(len(columns))
        for e, (x, u) in enumerate(zip(self.dataset.experiments, self._utimes)):
            prediction = np.asarray(fit.predictions[e], dtype=np.float64)
            curve, _ = _resample(u, prediction, self.grid)
            predicted += curve.T
            r = (x.values - prediction[:, columns]) / self.sigmas[e]
            rs, _ = _resample(u, r, self.grid)
            residual += rs.T
            finite = np.isfinite(r)
            chi2 += np.square(np.where(finite, r, 0.0)).sum(axis=0)
            counts += finite.sum(axis=0)
        num_x = self.dataset.num_experiments
        predicted /= num_x
        residual /= num_x
        scale = np.ones(s)
        scale[columns] = self.scale
        magnitude = np.zeros(s)
        hidden = np.flatnonzero(crn.latent)
        if len(hidden):
            peak = np.nanmax(np.abs(predicted[hidden]), axis=1)
            peak = np.where(np.isfinite(peak) & (peak > 0), peak, 1.0)
            scale[hidden] = peak
            magnitude[hidden] = np.clip(np.log10(peak / self.max_scale) / 3.0, -3.0, 3.0)
        with np.errstate(invalid="ignore", over="ignore"):
            out[:, col:col + g] = np.clip(np.nan_to_num(predicted / scale[:, None]), -10.0, 10.0)
        out[:, col + g] = magnitude
        col += g + 1
        residual = np.nan_to_num(residual)
        out[columns, col:col + g] = np.sign(residual) * np.log1p(np.abs(residual)) / 3.0
        out[columns, col + g] = np.log1p(chi2 / np.maximum(counts, 1)) / 5.0
        return out

    def _reaction_features(self, crn: Crn, fit) -> np.ndarray:
        cfg = self.config
        width = cfg.max_coefficient * 2 + 1
        orders = crn.reactants.sum(axis=1).astype(np.int64)
        sizes = crn.products.sum(axis=1).astype(np.int64)
        out = np.zeros((crn.num_reactions, reaction_feature_size(cfg)), dtype=np.float32)
        out[:, :width] = _one_hot(orders, width)
        out[:, width:2 * width] = _one_hot(sizes, width)
        if fit is None or not fit.success or crn.num_reactions == 0:
            return out
        se = np.asarray(fit.rate_se, dtype=np.float64)
        out[:, 2 * width] = se <= 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            out[:, 2 * width + 1] = np.clip(np.nan_to_num(np.log10(se), nan=3.0, posinf=3.0), -3.0, 3.0) / 3.0
        # mean flux of each reaction over the experiments' predictions
        flux = np.zeros(crn.num_reactions)
        points = 0
        rates = np.asarray(fit.rates, dtype=np.float64)
        for prediction in fit.predictions:
            x = np.maximum(np.asarray(prediction, dtype=np.float64), 0.0)
            with np.errstate(over="ignore", invalid="ignore"):
                v = rates[None, :] * np.prod(x[:, None, :] ** crn.reactants[None, :, :], axis=2)
            flux += np.nan_to_num(v, nan=0.0, posinf=1e300).sum(axis=0)
            points += len(x)
        turnover = flux / max(points, 1) * self._span / self.max_scale
        with np.errstate(divide="ignore"):
            out[:, 2 * width + 2] = np.clip(np.log10(np.maximum(turnover, 1e-12)), -6.0, 3.0) / 3.0
        return out

    def _graph_features(self, crn: Crn, fit) -> np.ndarray:
        space = self.space
        out = np.zeros(NUM_GRAPH_FEATURES, dtype=np.float32)
        points = max(self.dataset.num_points, 1)
        ok = fit is not None and fit.success and math.isfinite(fit.loss)
        out[0] = math.log1p(fit.loss / points) / 5.0 if ok else 4.0
        out[1] = 0.0 if ok else 1.0
        if ok:
            from mcts_crn.reward import reward

            out[2] = reward(fit, crn, self.dataset)
            out[7] = fit.num_params / points * 10.0
        out[3] = crn.num_reactions / space.max_reactions
        out[4] = crn.num_latent
        out[5] = space.max_latent - crn.num_latent
        out[6] = float(latent_complete(crn)[crn.latent].all())
        return out

    def _edges(self, crn: Crn) -> np.ndarray:
        reaction, species = np.nonzero((crn.reactants > 0) | (crn.products > 0))
        return np.stack([species, reaction, crn.reactants[reaction, species], crn.products[reaction, species]],
                        axis=1).astype(np.int32).reshape(-1, 4)

    def _action_features(self, crn: Crn, fit, actions: np.ndarray, score: np.ndarray,
                         heuristic: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        cfg, space = self.config, self.space
        width = cfg.max_coefficient * 2 + 1
        num = len(actions)
        out = np.zeros((num, action_feature_size(cfg)), dtype=np.float32)
        is_reaction = actions < space.num_reaction_actions
        rows = np.flatnonzero(is_reaction)
        kinds = np.where(is_reaction, KIND_REACTION, np.where(actions == space.ADD_LATENT, KIND_ADD_LATENT, KIND_STOP))
        out[np.arange(num), kinds] = 1.0
        react = actions[rows]
        out[rows, 3:3 + width] = _one_hot(self._orders[react], width)
        out[rows, 3 + width:3 + 2 * width] = _one_hot(self._sizes[react], width)
        if crn.num_reactions and len(rows):
            present = space.reaction_actions(crn)
            out[rows, 3 + 2 * width] = np.isin(self._reverse[react], present)
        out[rows, -3] = self.regression[react]
        out[:, -2] = score
        if heuristic is not None:
            out[:, -1] = heuristic
        # entries of the reaction actions (CSR gather)
        starts, stops = self._entry_start[react], self._entry_start[react + 1]
        counts = stops - starts
        total = int(counts.sum())
        flat = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts) + np.arange(total)
        entries = np.stack([np.repeat(rows, counts), self._entry_species[flat], self._entry_a[flat],
                            self._entry_b[flat]], axis=1).astype(np.int32).reshape(-1, 4)
        return out, entries

    def direct_score(self, crn: Crn, fit, actions: np.ndarray) -> tuple[np.ndarray, float]:
        """Fraction of the misfit each reaction action could explain to first order, by its direct effect.

        The score test (Rao 1948; ``mcts_crn.search.ScoreTestEvaluator``) needs the sensitivities of the
        state's ODEs to every candidate's rate at zero, which costs an integration of ``S (R + K)``
        equations. Here the sensitivity is cut to its direct term: adding reaction j at a small rate k
        changes species i by about ``k d_ij V_j(t)`` with ``d_j = b_j - a_j`` its net change and
        ``V_j(t) = int_0^t prod_i x_i(s) ** a_ij ds`` its integrated rate law along the current fit (the
        term through the Jacobian, which carries the effect on to other species, is left out). With
        weighted residuals ``r = (y - x) / sigma`` and ``g_j = d_j V_j / sigma`` (observed species only),

            Delta_j / L = max(0, r . g_j) ** 2 / (|g_j| ** 2 L),     L = |r| ** 2,

        the share of the chi-square a non-negative rate of reaction j could remove to first order.
        Numpy only: a few matrix products over [T, K].

        Returns
        -------
        score : float64 [A]
            In [0, 1]; 0 for ``ADD_LATENT``, ``STOP`` and reactions that change no observed species.
        loss : float
            L (inf when the fit failed).
        """
        space = self.space
        actions = np.asarray(actions, dtype=np.int64)
        score = np.zeros(len(actions))
        if fit is None or not fit.success or not np.isfinite(fit.loss):
            return score, math.inf
        rows = np.flatnonzero(actions < space.num_reaction_actions)
        react = actions[rows]
        columns = np.array([crn.species_index(name) for name in self.dataset.species], dtype=np.int64)
        net = (space.products[react][:, columns] - space.reactants[react][:, columns]).astype(np.float64)  # [K, O]
        dot = np.zeros(len(react))
        norm2 = np.zeros(len(react))
        loss = 0.0
        index = self._reactant_index[react]
        for e, x in enumerate(self.dataset.experiments):
            prediction = np.maximum(np.nan_to_num(np.asarray(fit.predictions[e], dtype=np.float64)), 0.0)
            padded = np.zeros((len(prediction), space.max_species + 1))
            padded[:, :crn.num_species] = prediction
            padded[:, -1] = 1.0
            rate = padded[:, index].prod(axis=2)  # [T, K]
            times = x.times
            steps = np.diff(times)[:, None]
            integral = np.concatenate([np.zeros((1, len(react))),
                                       np.cumsum(0.5 * steps * (rate[1:] + rate[:-1]), axis=0)])  # V_j [T, K]
            weights = self._weights[e]  # [T, O]
            residual = np.nan_to_num((x.values - prediction[:, columns]) * weights)
            loss += float((residual ** 2).sum())
            # r . g_j with g_j = d_j V_j / sigma: the weighted residual weighted once more
            dot += np.einsum("ko,ko->k", net, ((residual * weights).T @ integral).T)
            norm2 += np.einsum("ko,ko->k", net ** 2, ((weights ** 2).T @ integral ** 2).T)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            delta = np.where(norm2 > 0, np.maximum(dot, 0.0) ** 2 / norm2, 0.0)
        score[rows] = np.clip(np.nan_to_num(delta / max(loss, 1e-300)), 0.0, 1.0)
        return score, loss

    def heuristic_log_prior(self, crn: Crn, fit, actions: np.ndarray, score: np.ndarray, loss: float) -> np.ndarray:
        """Log prior of a fast version of ``ScoreTestEvaluator`` (its defaults), with ``direct_score`` in place
        of the exact score test: ``floor + score + 2 w c`` for a reaction with regression share ``c`` and the
        regression's confidence ``w`` (``regression_confidence``),
        ``floor + 0.3 (1 - max score)`` for ``ADD_LATENT``, ``floor + 0.5 / (1 + L / N)`` for ``STOP``
        (floor 0.02)."""
        space = self.space
        prior = np.full(len(actions), 0.02)
        reaction = actions < space.num_reaction_actions
        prior[reaction] += score[reaction] + 2.0 * self.regression_confidence * self.regression[actions[reaction]]
        explained = float(score[reaction].max()) if reaction.any() else 0.0
        prior[actions == space.ADD_LATENT] += 0.3 * (1.0 - explained)
        if math.isfinite(loss):
            prior[actions == space.STOP] += 0.5 / (1.0 + loss / max(self.dataset.num_points, 1))
        return np.log(prior)

    # ------------------------------------------------------------------ public
    def __call__(self, crn: Crn, fit, actions: np.ndarray) -> StateFeatures:
        """Features of one state.

        Parameters
        ----------
        crn : Crn
            A state of the builder's action space.
        fit : FitResult or None
            Its fit (None or a failed fit: the fit-dependent features are zero).
        actions : int [A]
            Its legal actions, in the order the logits should come in.
        """
        actions = np.asarray(actions, dtype=np.int64).reshape(-1)
        score, loss = self.direct_score(crn, fit, actions)
        heuristic = self.heuristic_log_prior(crn, fit, actions, score, loss) if self.config.heuristic_features else None
        action_features, entries = self._action_features(crn, fit, actions, score, heuristic)
        return StateFeatures(
            species=self._species_features(crn, fit), reactions=self._reaction_features(crn, fit),
            edges=self._edges(crn), graph=self._graph_features(crn, fit), actions=actions,
            action_features=action_features, entries=entries)

    def batch(self, states: Sequence[Crn], fits: Sequence, legal: Sequence[np.ndarray]) -> list[StateFeatures]:
        """Features of several states."""
        return [self(c, f, a) for c, f, a in zip(states, fits, legal)]
