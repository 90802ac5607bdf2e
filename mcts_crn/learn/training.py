"""Training steps on replay samples: batches, policy targets, the loss, Adam."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from mcts_crn.config import TrainConfig
from mcts_crn.learn.replay import SampleStore
from mcts_crn.model.batch import GraphBatch, collate
from mcts_crn.model.gnn import CrnGnn, policy_value_loss


def policy_target(policy: np.ndarray, toward_best: np.ndarray, toward_truth: np.ndarray, *,
                  best_weight: float, truth_weight: float, visit_weight: float = 1.0) -> np.ndarray:
    """The training policy of one sample: a mixture of its visit distribution and the edits toward the best
    and the true network,

        pi = (w_v pi_visits + w_b u(toward_best) + w_t u(toward_truth)) / (w_v + w_b + w_t)

    with ``u(M)`` uniform over the actions in M; a part that is empty (no visits, no such edit) is left
    out of the mixture and of the normalization.

    Returns
    -------
    float32 [A]
        Sums to 1 (all zeros when every part is empty).
    """
    total = np.zeros(len(policy))
    weight = 0.0
    parts = [(np.asarray(policy, np.float64), visit_weight), (np.asarray(toward_best, np.float64), best_weight),
             (np.asarray(toward_truth, np.float64), truth_weight)]
    for part, w in parts:
        mass = part.sum()
        if w > 0 and mass > 0:
            total += w * part / mass
            weight += w
    return (total / weight if weight > 0 else total).astype(np.float32)


def make_batch(store: SampleStore, indices: Sequence[int], config: TrainConfig
               ) -> tuple[GraphBatch, torch.Tensor, torch.Tensor]:
    """The ``GraphBatch`` of some samples and their targets: policy [N_a] and outcome [B]."""
    features = [store.features(i) for i in indices]
    targets = [policy_target(store.rows("policy", i), store.rows("toward_best", i), store.rows("toward_truth", i),
                             best_weight=config.best_weight, truth_weight=config.truth_weight,
                             visit_weight=config.visit_weight) for i in indices]
    policy = torch.from_numpy(np.concatenate(targets).astype(np.float32))
    value = torch.from_numpy(store.arrays["outcome"][np.asarray(indices)].astype(np.float32))
    return collate(features), policy, value


def usable(store: SampleStore, config: TrainConfig) -> np.ndarray:
    """Indices of the samples with a non-empty policy target."""
    keep = []
    for i in range(len(store)):
        target = policy_target(store.rows("policy", i), store.rows("toward_best", i), store.rows("toward_truth", i),
                               best_weight=config.best_weight, truth_weight=config.truth_weight,
                               visit_weight=config.visit_weight)
        if target.sum() > 0:
            keep.append(i)
    return np.array(keep, dtype=np.int64)


def train_step(model: CrnGnn, optimizer: torch.optim.Optimizer, batch: GraphBatch, policy: torch.Tensor,
               value: torch.Tensor, *, config: TrainConfig, device: str | torch.device = "cpu") -> dict[str, float]:
    """One Adam step on the loss of ``gnn.policy_value_loss`` (gradient norm clipped at 5); returns the
    losses before the step."""
    model.train()
    batch = batch.to(device)
    output = model(batch)
    total, policy_loss, value_loss = policy_value_loss(output, batch, policy.to(device), value.to(device),
                                                       value_weight=config.value_weight)
    optimizer.zero_grad()
    total.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    optimizer.step()
    return {"loss": total.item(), "policy": policy_loss.item(), "value": value_loss.item()}


def make_optimizer(model: CrnGnn, config: TrainConfig) -> torch.optim.Adam:
    return torch.optim.Adam(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)


def evaluate_loss(model: CrnGnn, batch: GraphBatch, policy: torch.Tensor, value: torch.Tensor, *,
                  config: TrainConfig, device: str | torch.device = "cpu") -> dict[str, float]:
    """The losses on a batch without a step."""
    model.eval()
    batch = batch.to(device)
    with torch.no_grad():
        output = model(batch)
        total, policy_loss, value_loss = policy_value_loss(output, batch, policy.to(device), value.to(device),
                                                           value_weight=config.value_weight)
    return {"loss": total.item(), "policy": policy_loss.item(), "value": value_loss.item()}
