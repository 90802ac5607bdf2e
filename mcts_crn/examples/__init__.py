"""Built-in published models with seeded synthetic data (``--example NAME``), and other data designs."""
from mcts_crn.examples.designs import DataDesign, DesignRanges, random_design
from mcts_crn.examples.library import EXAMPLES, ExampleModel, example_names, get_example

__all__ = ["EXAMPLES", "DataDesign", "DesignRanges", "ExampleModel", "example_names", "get_example", "random_design"]
