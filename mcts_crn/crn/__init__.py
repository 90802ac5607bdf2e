"""Reaction networks as arrays: text form, canonical key, conservation laws, candidate reactions."""
from mcts_crn.crn.actions import ActionSpace, latent_complete, latent_name
from mcts_crn.crn.network import Crn, candidate_reactions
from mcts_crn.crn.text import format_reaction, parse_reactions

__all__ = ["ActionSpace", "Crn", "latent_complete", "latent_name", "candidate_reactions", "format_reaction", "parse_reactions"]
