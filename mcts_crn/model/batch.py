"""A batch of states of different sizes as one disjoint graph (the torch-geometric layout), in torch."""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import torch

from mcts_crn.model.features import StateFeatures


@dataclasses.dataclass(frozen=True, eq=False)
class GraphBatch:
    """B states stacked: node and action rows of all states, each with the index of its state.

    Indices in ``edges`` and ``entries`` point into the stacked rows (offset per state).

    Attributes
    ----------
    species : float32 [N_s, F_s]
    species_graph : int64 [N_s]
    reactions : float32 [N_r, F_r]
    reaction_graph : int64 [N_r]
    edge_species, edge_reaction : int64 [E]
    edge_reactant, edge_product : int64 [E]
        Stoichiometric coefficients of the species in the reaction.
    graph : float32 [B, F_g]
    action_features : float32 [N_a, F_a]
    action_graph : int64 [N_a]
    entry_action, entry_species, entry_reactant, entry_product : int64 [M]
    num_actions : int64 [B]
        Legal actions per state (the logits come back in this order, state after state).
    """

    species: torch.Tensor
    species_graph: torch.Tensor
    reactions: torch.Tensor
    reaction_graph: torch.Tensor
    edge_species: torch.Tensor
    edge_reaction: torch.Tensor
    edge_reactant: torch.Tensor
    edge_product: torch.Tensor
    graph: torch.Tensor
    action_features: torch.Tensor
    action_graph: torch.Tensor
    entry_action: torch.Tensor
    entry_species: torch.Tensor
    entry_reactant: torch.Tensor
    entry_product: torch.Tensor
    num_actions: torch.Tensor

    @property
    def num_graphs(self) -> int:
        return int(self.graph.shape[0])

    def to(self, device: torch.device | str) -> "GraphBatch":
        return GraphBatch(**{f.name: getattr(self, f.name).to(device) for f in dataclasses.fields(self)})


def collate(states: Sequence[StateFeatures]) -> GraphBatch:
    """Stack ``StateFeatures`` of B states into one ``GraphBatch`` (numpy concatenation, then torch)."""
    num_species = np.array([s.species.shape[0] for s in states], dtype=np.int64)
    num_reactions = np.array([s.reactions.shape[0] for s in states], dtype=np.int64)
    num_actions = np.array([s.actions.shape[0] for s in states], dtype=np.int64)
    species_offset = np.concatenate([[0], np.cumsum(num_species)[:-1]])
    reaction_offset = np.concatenate([[0], np.cumsum(num_reactions)[:-1]])
    action_offset = np.concatenate([[0], np.cumsum(num_actions)[:-1]])
    graph_ids = np.arange(len(states), dtype=np.int64)
    edges = np.concatenate([s.edges.astype(np.int64) + [species_offset[b], reaction_offset[b], 0, 0]
                            for b, s in enumerate(states)]).reshape(-1, 4)
    entries = np.concatenate([s.entries.astype(np.int64) + [action_offset[b], species_offset[b], 0, 0]
                              for b, s in enumerate(states)]).reshape(-1, 4)
    return batch_from_arrays(
        species=np.concatenate([s.species for s in states]),
        species_graph=np.repeat(graph_ids, num_species),
        reactions=np.concatenate([s.reactions for s in states]),
        reaction_graph=np.repeat(graph_ids, num_reactions),
        edges=edges, graph=np.stack([s.graph for s in states]),
        action_features=np.concatenate([s.action_features for s in states]),
        action_graph=np.repeat(graph_ids, num_actions), entries=entries, num_actions=num_actions)


def batch_from_arrays(*, species, species_graph, reactions, reaction_graph, edges, graph, action_features,
                      action_graph, entries, num_actions) -> GraphBatch:
    """A ``GraphBatch`` from stacked numpy arrays (edges and entries [*, 4] already offset)."""
    def f32(a):
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    def i64(a):
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64))

    edges = np.asarray(edges).reshape(-1, 4)
    entries = np.asarray(entries).reshape(-1, 4)
    return GraphBatch(
        species=f32(species), species_graph=i64(species_graph), reactions=f32(reactions),
        reaction_graph=i64(reaction_graph), edge_species=i64(edges[:, 0]), edge_reaction=i64(edges[:, 1]),
        edge_reactant=i64(edges[:, 2]), edge_product=i64(edges[:, 3]), graph=f32(graph),
        action_features=f32(action_features), action_graph=i64(action_graph),
        entry_action=i64(entries[:, 0]), entry_species=i64(entries[:, 1]), entry_reactant=i64(entries[:, 2]),
        entry_product=i64(entries[:, 3]), num_actions=i64(num_actions))
