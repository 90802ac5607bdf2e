"""Self-play training of the GNN prior: tasks, self-play games, the HDF5 replay buffer, training, checkpoints.

This subpackage imports torch; ``import mcts_crn`` does not import it.
"""
from mcts_crn.learn.loop import run_training
from mcts_crn.learn.replay import ReplayBuffer, Sample, SampleStore, TaskRecord
from mcts_crn.learn.selfplay import RecordingEvaluator, play_game
from mcts_crn.learn.targets import best_below, build_order, toward_actions, visit_distribution
from mcts_crn.learn.tasks import Task, example_keys, generate_task, is_example, seed_from_label, seed_label, task_space
from mcts_crn.learn.training import make_batch, make_optimizer, policy_target, train_step

__all__ = [
    "RecordingEvaluator", "ReplayBuffer", "Sample", "SampleStore", "Task", "TaskRecord", "best_below", "build_order",
    "example_keys", "generate_task", "is_example", "make_batch", "make_optimizer", "play_game", "policy_target",
    "run_training", "seed_from_label", "seed_label", "task_space", "toward_actions", "train_step", "visit_distribution",
]
