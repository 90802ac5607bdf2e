"""Simulation of mass-action CRNs (states and forward sensitivities) on top of ``mcts_crn.native``."""
from mcts_crn.simulate.simulator import (
    METHODS,
    STATUS_MESSAGES,
    STATUS_SUCCESS,
    BatchSimulation,
    simulate,
    simulate_batch,
    simulate_sensitivities,
    simulate_with_status,
    status_message,
)

__all__ = [
    "METHODS", "STATUS_MESSAGES", "STATUS_SUCCESS", "BatchSimulation", "simulate", "simulate_batch",
    "simulate_sensitivities", "simulate_with_status", "status_message",
]
