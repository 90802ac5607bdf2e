"""The learned evaluator: the GNN as the search's prior and value (``mcts_crn.search.Evaluator``)."""
from __future__ import annotations

import contextlib
import dataclasses
import os
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from mcts_crn.crn import ActionSpace, Crn
from mcts_crn.data import Dataset
from mcts_crn.model.batch import collate
from mcts_crn.model.checkpoint import model_from, read_checkpoint
from mcts_crn.model.features import FeatureBuilder, StateFeatures
from mcts_crn.model.gnn import CrnGnn


@contextlib.contextmanager
def torch_threads(num_threads: int | None) -> Iterator[None]:
    """Run the block with ``num_threads`` torch intra-op threads, then restore the previous number."""
    if num_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "default.pt"
"""The checkpoint shipped with the package (``load_default_evaluator``)."""


@dataclasses.dataclass(frozen=True, eq=False)
class LearnedEvaluator:
    """Priors and values from a ``CrnGnn``.

    Parameters
    ----------
    model : CrnGnn
    temperature : float
        Logits are divided by it (self-play uses T > 1 to flatten the prior).
    use_value : bool, optional
        Return the value head's estimate; default ``model.config.use_value``. Without it the values are NaN
        and the search scores a leaf by its reward alone.
    device : str
        Torch device of the forward passes.
    num_threads : int or None
        Torch intra-op threads during a forward pass (restored afterwards); default 1, because the graphs
        of a search are tiny and thread synchronization would cost more than it saves. None: leave as is.
    rollout_depth : int or None
        The playout depth (``SearchConfig.rollout_depth``) this prior is meant to be searched with, offered
        to the search's caller as ``search_settings``; None: ``SearchConfig``'s. The evaluator itself does
        not use it.
    """

    model: CrnGnn
    temperature: float = 1.0
    use_value: bool | None = None
    device: str = "cpu"
    num_threads: int | None = 1
    rollout_depth: int | None = None

    @property
    def search_settings(self) -> dict[str, int]:
        """The ``SearchConfig`` settings chosen with this prior (``mcts_crn.search.search_settings``)."""
        return {} if self.rollout_depth is None else {"rollout_depth": self.rollout_depth}

    def bind(self, dataset: Dataset, space: ActionSpace) -> "BoundLearnedEvaluator":
        """An evaluator for one search: the data summaries are computed once here."""
        self.model.to(self.device).eval()
        use_value = self.model.config.use_value if self.use_value is None else self.use_value
        return BoundLearnedEvaluator(self, FeatureBuilder(dataset, space, self.model.config), use_value)

    def __call__(self, states, fits, legal):  # pragma: no cover - only the bound form is called
        raise TypeError("bind(dataset, space) first")


@dataclasses.dataclass(frozen=True, eq=False)
class BoundLearnedEvaluator:
    """``LearnedEvaluator`` bound to a data set and action space."""

    parent: LearnedEvaluator
    features: FeatureBuilder
    use_value: bool

    def bind(self, dataset: Dataset, space: ActionSpace) -> "BoundLearnedEvaluator":
        return self.parent.bind(dataset, space)

    def __call__(self, states: Sequence[Crn], fits: Sequence, legal: Sequence[np.ndarray]
                 ) -> tuple[list[np.ndarray], np.ndarray]:
        """Logits over each state's legal actions and value estimates.

        Parameters
        ----------
        states : sequence of Crn, [B]
        fits : sequence of FitResult, [B]
        legal : sequence of int arrays [A_b]

        Returns
        -------
        logits : list of float64 [A_b]
        values : float64 [B]
            NaN unless ``use_value``.
        """
        legal = [np.asarray(a, dtype=np.int64).reshape(-1) for a in legal]
        out_logits: list[np.ndarray] = [np.zeros(0) for _ in legal]
        values = np.full(len(states), np.nan)
        keep = list(range(len(states))) if self.use_value else [b for b, a in enumerate(legal) if len(a)]
        if not keep:
            return out_logits, values
        features = self.features.batch([states[b] for b in keep], [fits[b] for b in keep], [legal[b] for b in keep])
        logits, kept_values = self.evaluate(features)
        for i, b in enumerate(keep):
            out_logits[b] = logits[i]
            values[b] = kept_values[i]
        return out_logits, values

    def evaluate(self, features: Sequence[StateFeatures]) -> tuple[list[np.ndarray], np.ndarray]:
        """Logits (divided by the temperature) and values (NaN unless ``use_value``) of built features."""
        batch = collate(features)
        with torch.no_grad(), torch_threads(self.parent.num_threads):
            output = self.parent.model(batch.to(self.parent.device))
        logits = output.logits.double().cpu().numpy() / self.parent.temperature
        offsets = np.concatenate([[0], np.cumsum([f.num_actions for f in features])])
        values = output.value.double().cpu().numpy() if self.use_value else np.full(len(features), np.nan)
        return [logits[offsets[i]:offsets[i + 1]] for i in range(len(features))], values


def load_evaluator(path: str | os.PathLike, **options) -> LearnedEvaluator:
    """A ``LearnedEvaluator`` from a checkpoint file (options as in ``LearnedEvaluator``); the temperature
    and playout depth default to the checkpoint's ``search_temperature`` and ``search_rollout_depth``
    (``export_checkpoint``; 1 and ``SearchConfig``'s where it has none)."""
    payload = read_checkpoint(path)
    options.setdefault("temperature", float(payload.get("search_temperature", 1.0)))
    if "search_rollout_depth" in payload:
        options.setdefault("rollout_depth", int(payload["search_rollout_depth"]))
    return LearnedEvaluator(model_from(payload), **options)


def load_default_evaluator(**options) -> LearnedEvaluator:
    """The evaluator of the checkpoint shipped with the package (``mcts_crn/model/default.pt``).

    Raises
    ------
    FileNotFoundError
        If this installation has no default checkpoint (train one with ``python -m mcts_crn.train``).
    """
    if not DEFAULT_CHECKPOINT.is_file():
        raise FileNotFoundError(f"no default checkpoint at {DEFAULT_CHECKPOINT}; train one with "
                                "`python -m mcts_crn.train --out RUN` and copy RUN/checkpoint.pt there")
    return load_evaluator(DEFAULT_CHECKPOINT, **options)
