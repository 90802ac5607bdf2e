"""Built-in published models with seeded synthetic data (``--example NAME``)."""
from mcts_crn.examples.library import EXAMPLES, ExampleModel, example_names, get_example

__all__ = ["EXAMPLES", "ExampleModel", "example_names", "get_example"]
