"""Plots of data against a fitted model (matplotlib, Agg backend: no screen needed)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from mcts_crn.crn import Crn
from mcts_crn.data import Dataset


def plot_fit(path: str | Path, dataset: Dataset, crn: Crn, rates: Sequence[float],
             x0: Sequence[Sequence[float]], *, title: str = "", show_latent: bool = True,
             num_points: int = 400) -> Path:
    """One panel per experiment: data as markers, the model as lines (latent species dashed).

    Parameters
    ----------
    path : str or Path
        Output image (``.png``, ``.pdf``, ``.svg``).
    dataset : Dataset
    crn : Crn
    rates : array_like, float64 [R]
    x0 : array_like, float64 [X, S]
        Initial amounts of each experiment, in ``crn.species`` order.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mcts_crn.simulate import simulate

    rates = np.asarray(rates, dtype=np.float64)
    x0 = np.asarray(x0, dtype=np.float64).reshape(len(dataset.experiments), crn.num_species)
    num = len(dataset.experiments)
    cols = min(num, 3)
    rows = int(np.ceil(num / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(5.0 * cols, 3.6 * rows), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for e, experiment in enumerate(dataset.experiments):
        ax = axes[e // cols][e % cols]
        t0, t1 = float(experiment.times[0]), float(experiment.times[-1])
        grid = np.linspace(t0, t1, num_points)
        states = np.asarray(simulate(crn, rates, x0[e], grid - t0))
        for i, name in enumerate(crn.species):
            colour = colours[i % len(colours)]
            if name in dataset.species:
                j = dataset.species.index(name)
                ax.plot(experiment.times, experiment.values[:, j], "o", ms=3.5, color=colour, label=f"{name} data")
                ax.plot(grid, states[:, i], "-", color=colour, label=f"{name} model")
            elif show_latent:
                ax.plot(grid, states[:, i], "--", color=colour, alpha=0.7, label=f"{name} (latent)")
        ax.set_title(f"experiment {experiment.name}")
        ax.set_xlabel("time")
        ax.set_ylabel("amount")
        if e == 0:
            ax.legend(fontsize=7, ncol=2)
    for e in range(num, rows * cols):
        axes[e // cols][e % cols].set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
