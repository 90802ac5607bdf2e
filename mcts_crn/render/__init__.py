"""Output for people and other tools: sympy ODEs, LaTeX, reaction text with rates."""
from mcts_crn.render.ode import (ode_latex, ode_system, ode_text, rate_symbols, reactions_with_rates,
                                 species_symbols)

__all__ = ["ode_latex", "ode_system", "ode_text", "rate_symbols", "reactions_with_rates", "species_symbols"]
