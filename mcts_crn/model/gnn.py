"""The policy-value GNN over the bipartite species-reaction graph (torch, torch-scatter).

Notation: ``h_s`` species embeddings [N_s, H], ``h_r`` reaction embeddings [N_r, H], ``g`` graph
embeddings [B, H]; an edge (s, r) carries the species' reactant and product coefficients (a, b) in the
reaction. One layer of message passing is

    m_r = sum_{s in r} phi_sr(h_s + E_a[a] + E_b[b]),      h_r <- LN(h_r + U_r([h_r, m_r, g]))
    m_s = sum_{r ni s} phi_rs(h_r + E'_a[a] + E'_b[b]),    h_s <- LN(h_s + U_s([h_s, m_s, g]))
    g <- LN(g + U_g([g, mean_s h_s, mean_r h_r]))

(sum aggregation, as in GIN: Xu et al. 2019, ICLR; bipartite species-reaction graph as in reaction-network
GNNs). Everything is a sum or mean over species or reactions, so relabelling the species permutes the
species rows of every layer and leaves reactions, graph embeddings and action scores unchanged.

Policy: a reaction action touches a few species, each with a role (its reactant and product coefficients);
it is embedded as the DeepSets sum over them,

    z_k = sum_{s touched by k} psi(h_s + R[a_ks, b_ks]),

so the reactant and product multisets are both encoded, and scored as ``w^T MLP([z_k, A x_k, g])`` with
``x_k`` the action features; ``ADD_LATENT`` and ``STOP`` have ``z = 0`` and are scored from the graph
embedding ``g`` and their kind. With ``heuristic_skip`` the log prior of the fast score-test heuristic
(last action feature, ``FeatureBuilder.heuristic_log_prior``) is added with a learned weight ``lambda``
(1 at the start, the output layer 0 at the start: the untrained model is that heuristic). The policy is
the softmax of the logits over each state's legal actions (``torch_scatter.scatter_log_softmax`` over
the state index).

Value: ``sigmoid(MLP([g, mean_s h_s, mean_r h_r]))`` in (0, 1), the predicted best reward below the state.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch_scatter import scatter_add, scatter_log_softmax, scatter_mean

from mcts_crn.config import ModelConfig
from mcts_crn.model.batch import GraphBatch
from mcts_crn.model.features import (
    action_feature_size,
    graph_feature_size,
    reaction_feature_size,
    species_feature_size,
)


class ModelOutput(NamedTuple):
    """Outputs for a batch: ``logits`` [N_a] and ``log_policy`` [N_a] (state after state, legal actions
    only), ``value`` [B] in (0, 1), ``species`` [N_s, H] final species embeddings."""

    logits: torch.Tensor
    log_policy: torch.Tensor
    value: torch.Tensor
    species: torch.Tensor


def _mlp(sizes: list[int], *, final_zero: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.SiLU())
    if final_zero:
        nn.init.zeros_(layers[-1].weight)
        nn.init.zeros_(layers[-1].bias)
    return nn.Sequential(*layers)


class _Layer(nn.Module):
    def __init__(self, hidden: int, num_coefficients: int) -> None:
        super().__init__()
        self.sr_a = nn.Embedding(num_coefficients, hidden)
        self.sr_b = nn.Embedding(num_coefficients, hidden)
        self.rs_a = nn.Embedding(num_coefficients, hidden)
        self.rs_b = nn.Embedding(num_coefficients, hidden)
        self.phi_sr = _mlp([hidden, hidden, hidden])
        self.phi_rs = _mlp([hidden, hidden, hidden])
        self.update_r = _mlp([3 * hidden, hidden, hidden])
        self.update_s = _mlp([3 * hidden, hidden, hidden])
        self.update_g = _mlp([3 * hidden, hidden, hidden])
        self.norm_r = nn.LayerNorm(hidden)
        self.norm_s = nn.LayerNorm(hidden)
        self.norm_g = nn.LayerNorm(hidden)

    def forward(self, hs, hr, hg, batch: GraphBatch, a, b):
        num_r, num_s, num_b = hr.shape[0], hs.shape[0], hg.shape[0]
        es, er = batch.edge_species, batch.edge_reaction
        message = self.phi_sr(hs[es] + self.sr_a(a) + self.sr_b(b))
        m_r = scatter_add(message, er, dim=0, dim_size=num_r)
        hr = self.norm_r(hr + self.update_r(torch.cat([hr, m_r, hg[batch.reaction_graph]], dim=1)))
        message = self.phi_rs(hr[er] + self.rs_a(a) + self.rs_b(b))
        m_s = scatter_add(message, es, dim=0, dim_size=num_s)
        hs = self.norm_s(hs + self.update_s(torch.cat([hs, m_s, hg[batch.species_graph]], dim=1)))
        pooled_s = scatter_mean(hs, batch.species_graph, dim=0, dim_size=num_b)
        pooled_r = scatter_mean(hr, batch.reaction_graph, dim=0, dim_size=num_b)
        hg = self.norm_g(hg + self.update_g(torch.cat([hg, pooled_s, pooled_r], dim=1)))
        return hs, hr, hg


class CrnGnn(nn.Module):
    """Policy and value network over batches of CRN states (see the module docstring for the equations).

    Parameters
    ----------
    config : ModelConfig, optional
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = ModelConfig() if config is None else config
        cfg = self.config
        h = cfg.hidden
        self.num_coefficients = cfg.max_coefficient + 1
        self.encode_species = _mlp([species_feature_size(cfg), h, h])
        self.encode_reactions = _mlp([reaction_feature_size(cfg), h, h])
        self.encode_graph = _mlp([graph_feature_size(cfg), h, h])
        self.layers = nn.ModuleList(_Layer(h, self.num_coefficients) for _ in range(cfg.num_layers))
        self.role = nn.Embedding(self.num_coefficients ** 2, h)
        self.psi = _mlp([h, h, h])
        self.encode_actions = _mlp([action_feature_size(cfg), h])
        self.policy = _mlp([3 * h, h, h, 1], final_zero=cfg.heuristic_skip)
        self.heuristic_weight = nn.Parameter(torch.tensor(1.0 if cfg.heuristic_skip else 0.0),
                                             requires_grad=cfg.heuristic_skip)
        self.value = _mlp([3 * h, h, 1])

    def _coefficient(self, values: torch.Tensor) -> torch.Tensor:
        return values.clamp(0, self.num_coefficients - 1)

    def forward(self, batch: GraphBatch) -> ModelOutput:
        num_b = batch.num_graphs
        hs = self.encode_species(batch.species)
        hr = self.encode_reactions(batch.reactions)
        hg = self.encode_graph(batch.graph)
        a = self._coefficient(batch.edge_reactant)
        b = self._coefficient(batch.edge_product)
        for layer in self.layers:
            hs, hr, hg = layer(hs, hr, hg, batch, a, b)
        num_a = batch.action_features.shape[0]
        role = self._coefficient(batch.entry_reactant) * self.num_coefficients + self._coefficient(batch.entry_product)
        touched = self.psi(hs[batch.entry_species] + self.role(role))
        z = scatter_add(touched, batch.entry_action, dim=0, dim_size=num_a)
        features = torch.cat([z, self.encode_actions(batch.action_features), hg[batch.action_graph]], dim=1)
        logits = self.policy(features).squeeze(1)
        if self.config.heuristic_skip:
            logits = logits + self.heuristic_weight * batch.action_features[:, -1]
        log_policy = scatter_log_softmax(logits, batch.action_graph, dim=0, dim_size=num_b)
        pooled_s = scatter_mean(hs, batch.species_graph, dim=0, dim_size=num_b)
        pooled_r = scatter_mean(hr, batch.reaction_graph, dim=0, dim_size=num_b)
        value = torch.sigmoid(self.value(torch.cat([hg, pooled_s, pooled_r], dim=1)).squeeze(1))
        return ModelOutput(logits, log_policy, value, hs)


def policy_value_loss(output: ModelOutput, batch: GraphBatch, target_policy: torch.Tensor,
                      target_value: torch.Tensor, *, value_weight: float = 1.0
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The AlphaZero loss (Silver et al. 2018, Science 362:1140), without the L2 term (Adam's decay has it):

        L = mean_b [ -sum_{a legal in b} pi_b(a) log p_b(a) ] + c_v mean_b (v_b - z_b)^2

    Parameters
    ----------
    output : ModelOutput
    batch : GraphBatch
    target_policy : float32 [N_a]
        Target distribution over each state's legal actions (sums to 1 per state).
    target_value : float32 [B]
        Outcome z of each state.
    value_weight : float
        c_v.

    Returns
    -------
    total, policy, value : torch.Tensor
        Scalars.
    """
    num_b = batch.num_graphs
    cross = scatter_add(-target_policy * output.log_policy, batch.action_graph, dim=0, dim_size=num_b)
    policy = cross.mean()
    value = torch.mean((output.value - target_value) ** 2)
    return policy + value_weight * value, policy, value
