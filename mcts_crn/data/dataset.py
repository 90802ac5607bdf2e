"""The data set: experiments over one set of observed species, with per-species noise levels."""
from __future__ import annotations

import dataclasses
import logging
import os
from typing import Mapping, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike

from mcts_crn.config import DataConfig
from mcts_crn.data import csv_io, hdf5_io
from mcts_crn.data.experiment import DEFAULT_EXPERIMENT_NAME, Experiment, check_name, read_only_float64
from mcts_crn.data.noise import check_noise_model, estimate_noise, noise_unit, species_scale

logger = logging.getLogger(__name__)

NoiseLike = Union[float, ArrayLike, Mapping[str, float]]
"""A noise level for every species, a [O] sequence in species order, or a mapping species -> level."""


def _noise_array(noise: NoiseLike, species: tuple[str, ...]) -> np.ndarray:
    """[O] read-only float64 noise levels from a scalar, a sequence or a mapping over ``species``."""
    if isinstance(noise, Mapping):
        if set(noise) != set(species):
            raise ValueError(f"noise must name exactly the species {list(species)}, got {sorted(noise)}")
        noise = [noise[name] for name in species]
    levels = np.array(noise, dtype=np.float64)
    levels = read_only_float64(np.full(len(species), levels) if levels.ndim == 0 else levels)
    if levels.shape != (len(species),):
        raise ValueError(f"noise must have shape [O={len(species)}], got {levels.shape}")
    if not np.all(np.isfinite(levels) & (levels > 0)):
        raise ValueError(f"noise levels must be finite and > 0, got {levels.tolist()}")
    return levels


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """Time series of X experiments over the same O observed species, with per-species noise levels.

    Attributes
    ----------
    species : tuple of str
        [O] observed species names, the column order of every experiment's ``values``. Unique; none is
        ``time`` or ``experiment`` (case-insensitively), which are CSV column names.
    experiments : tuple of Experiment
        [X] experiments, X >= 1, unique names; each may have its own time grid. Together they hold at
        least one observed (non-NaN) value.
    noise : np.ndarray
        [O] float64 noise levels, finite and > 0 (the constructor also takes a scalar for every species
        or a mapping species -> level). Read-only.
    noise_model : str
        How a level becomes the standard deviation of observation ``y_ij`` (experiment point i,
        species j): ``"relative"`` (default), ``sigma_ij = noise_j * max(|y_ij|, floor_j * scale_j)``
        with ``scale_j`` the largest absolute observed value of species j (`species_scale`) and
        ``floor_j`` from ``noise_floor``; ``"absolute"``, ``sigma_ij = noise_j`` in the species'
        units. `sigmas` evaluates it; `mcts_crn.data.noise` documents it.
    noise_given : bool
        True when the levels came from the user, False when `estimate_noise` made them.
    source : str
        Where the data came from: a file path or a description (without NUL characters).
    noise_floor : np.ndarray or None
        [O] float64 floors of relative noise, fractions of each species' scale in (0, 1] (1: absolute
        noise of ``noise_j * scale_j``); None: ``DataConfig.scale_floor`` for every species. Read-only.
    noise_note : str
        What the noise estimate could not tell (species pooled, uncertain or at the fallback); empty when
        the noise was given or the data told it well.

    Notes
    -----
    Equality is exact: same species, experiments (arrays equal, NaN positions included), noise, noise
    model, flag and source.
    """

    species: tuple[str, ...]
    experiments: tuple[Experiment, ...]
    noise: np.ndarray
    noise_model: str = "relative"
    noise_given: bool = True
    source: str = ""
    noise_floor: np.ndarray | None = None
    noise_note: str = ""

    def __post_init__(self) -> None:
        species = tuple(self.species)
        experiments = tuple(self.experiments)
        if not species:
            raise ValueError("a data set needs at least one observed species")
        for name in species:
            check_name("species", name)
            if name.lower() in csv_io.RESERVED_COLUMNS:
                raise ValueError(f"species name {name!r} is reserved for a CSV column")
        if len(set(species)) != len(species):
            raise ValueError(f"species names must be unique, got {list(species)}")
        if not experiments:
            raise ValueError("a data set needs at least one experiment")
        for experiment in experiments:
            if not isinstance(experiment, Experiment):
                raise ValueError(f"experiments must be Experiment objects, got {type(experiment).__name__}")
            if experiment.values.shape[1] != len(species):
                raise ValueError(
                    f"experiment {experiment.name!r} has {experiment.values.shape[1]} value columns "
                    f"for {len(species)} species {list(species)}"
                )
        names = [x.name for x in experiments]
        if len(set(names)) != len(names):
            raise ValueError(f"experiment names must be unique, got {names}")
        if not any(np.any(~np.isnan(x.values)) for x in experiments):
            raise ValueError("the data set has no observed value (all values are missing)")
        check_noise_model(self.noise_model)
        if not isinstance(self.noise_given, (bool, np.bool_)):
            raise ValueError(f"noise_given must be a bool, got {self.noise_given!r}")
        if not isinstance(self.source, str) or "\0" in self.source:
            raise ValueError(f"source must be a str without NUL characters (for HDF5), got {self.source!r}")
        object.__setattr__(self, "species", species)
        object.__setattr__(self, "experiments", experiments)
        object.__setattr__(self, "noise", _noise_array(self.noise, species))
        object.__setattr__(self, "noise_given", bool(self.noise_given))
        if self.noise_floor is not None:
            floor = _noise_array(self.noise_floor, species)
            if (floor > 1.0).any():
                raise ValueError(f"noise_floor must be in (0, 1], got {floor.tolist()}")
            object.__setattr__(self, "noise_floor", floor)
        if not isinstance(self.noise_note, str):
            raise ValueError(f"noise_note must be a str, got {self.noise_note!r}")

    __hash__ = None  # type: ignore[assignment]  # holds arrays

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dataset):
            return NotImplemented
        return (
            (self.species, self.experiments, self.noise_model, self.noise_given, self.source, self.noise_note)
            == (other.species, other.experiments, other.noise_model, other.noise_given, other.source,
                other.noise_note)
            and np.array_equal(self.noise, other.noise)
            and (self.noise_floor is None) == (other.noise_floor is None)
            and (self.noise_floor is None or np.array_equal(self.noise_floor, other.noise_floor))
        )

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_arrays(
        cls,
        species: Sequence[str],
        experiments: Experiment | Sequence[Experiment] | tuple[ArrayLike, ArrayLike],
        *,
        noise: NoiseLike | None = None,
        noise_model: str = "relative",
        initial_values: Mapping[str, float] | None = None,
        source: str = "arrays",
        config: DataConfig | None = None,
    ) -> Dataset:
        """Build a data set from arrays, estimating the noise unless it is given.

        Parameters
        ----------
        species : sequence of str
            [O] observed species names.
        experiments : Experiment, sequence of Experiment, or (times, values)
            The experiments, or one experiment as a pair of times [T] and values [T, O] (float64, NaN
            for missing), named DEFAULT_EXPERIMENT_NAME.
        noise : float, sequence or mapping, optional
            Noise levels (see `Dataset.noise`); None estimates them (`estimate_noise`).
        noise_model : str
            ``"relative"`` or ``"absolute"``.
        initial_values : mapping of str to float, optional
            Known initial amounts of the (times, values) experiment; Experiment objects carry their own.
        source : str
            Description of where the data came from.
        config : DataConfig, optional
            Settings of the noise estimate.

        Returns
        -------
        Dataset
        """
        if isinstance(experiments, Experiment):
            experiments = (experiments,)
        if all(isinstance(x, Experiment) for x in experiments):
            if initial_values:
                raise ValueError("initial_values goes with a (times, values) pair; Experiment objects carry their own")
        elif len(experiments) == 2:
            times, values = experiments
            experiments = (Experiment(DEFAULT_EXPERIMENT_NAME, times, values, initial_values or {}),)
        else:
            raise ValueError("experiments must be an Experiment, a sequence of Experiment, or a (times, values) pair")
        return cls._with_noise_for(species, experiments, noise, noise_model, source, config)

    @classmethod
    def from_csv(
        cls,
        path: str | os.PathLike,
        *,
        noise: NoiseLike | None = None,
        noise_model: str = "relative",
        config: DataConfig | None = None,
    ) -> Dataset:
        """Read a wide CSV file (format and refusals: `mcts_crn.data.csv_io.read_csv`).

        Parameters
        ----------
        path : str or os.PathLike
            The file; it becomes the data set's ``source``.
        noise : float, sequence or mapping, optional
            Noise levels; None estimates them (`estimate_noise`).
        noise_model : str
            ``"relative"`` or ``"absolute"``.
        config : DataConfig, optional
            Settings of the noise estimate.

        Raises
        ------
        ValueError
            For bad input, naming the file, the line (header = line 1) and the column.
        """
        species, experiments = csv_io.read_csv(path)
        return cls._with_noise_for(species, experiments, noise, noise_model, os.fspath(path), config)

    @classmethod
    def from_hdf5(cls, path: str | os.PathLike) -> Dataset:
        """Read a file written by `to_hdf5` (layout: `mcts_crn.data.hdf5_io`); the exact same data set.

        Raises
        ------
        ValueError
            Naming the file, for a file that is not HDF5, a missing or unknown schema_version, a missing
            group, dataset or attribute, or contents that fail validation.
        FileNotFoundError
            If there is no such file.
        """
        try:
            return cls(**hdf5_io.read_hdf5(path))
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as error:
            raise ValueError(f"{os.fspath(path)}: {error}") from error

    @classmethod
    def _with_noise_for(
        cls,
        species: Sequence[str],
        experiments: Sequence[Experiment],
        noise: NoiseLike | None,
        noise_model: str,
        source: str,
        config: DataConfig | None,
    ) -> Dataset:
        # Validate first (placeholder level 1), then set the given or estimated levels.
        placeholder = cls(species, experiments, noise=1.0, noise_model=noise_model, noise_given=False, source=source)
        return placeholder.with_noise(noise, config=config)

    # ------------------------------------------------------------------ output

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write the experiments as a wide CSV file that `from_csv` reads back to the same arrays.

        Noise levels and initial values are not stored (see `mcts_crn.data.csv_io.write_csv`); an
        experiment without any value is written but refused on reading.
        """
        csv_io.write_csv(path, self.species, self.experiments)

    def to_hdf5(self, path: str | os.PathLike) -> None:
        """(Over)write ``path`` with the whole data set; `from_hdf5` reads it back exactly."""
        hdf5_io.write_hdf5(path, self)

    # ------------------------------------------------------------------ derived data

    @property
    def num_experiments(self) -> int:
        """Number of experiments X."""
        return len(self.experiments)

    @property
    def num_species(self) -> int:
        """Number of observed species O."""
        return len(self.species)

    @property
    def num_points(self) -> int:
        """Number of observed (non-NaN) values over all experiments and species."""
        return int(sum(np.count_nonzero(~np.isnan(x.values)) for x in self.experiments))

    @property
    def time_span(self) -> tuple[float, float]:
        """Earliest and latest time over all experiments."""
        return min(float(x.times[0]) for x in self.experiments), max(float(x.times[-1]) for x in self.experiments)

    @property
    def species_scale(self) -> np.ndarray:
        """[O] float64 largest absolute observed value per species (1 where none is non-zero)."""
        return species_scale(self.experiments)

    def sigmas(self, *, config: DataConfig | None = None) -> tuple[np.ndarray, ...]:
        """Standard deviation of every observation under the noise model (see `Dataset.noise_model`).

        Parameters
        ----------
        config : DataConfig, optional
            Supplies ``scale_floor`` where ``noise_floor`` is None.

        Returns
        -------
        tuple of np.ndarray
            [X] arrays [T, O] float64, one per experiment, NaN where the value is missing.
        """
        scale = self.species_scale
        model = self.noise_model
        return tuple(self.noise * noise_unit(x.values, scale, model, config=config, floor=self.noise_floor)
                     for x in self.experiments)

    def experiment(self, key: str | int) -> Experiment:
        """The experiment with name ``key`` (a str) or at index ``key`` (an int)."""
        if isinstance(key, str):
            for experiment in self.experiments:
                if experiment.name == key:
                    return experiment
            raise KeyError(f"no experiment {key!r}; the experiments are {[x.name for x in self.experiments]}")
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            return self.experiments[key]
        raise TypeError(f"an experiment is chosen by name (str) or index (int), got {key!r}")

    def subset(self, experiments: Sequence[str | int]) -> Dataset:
        """The data set restricted to some experiments, in the order given.

        Noise levels, noise model, flag and source are kept: an estimate made on the full data set
        stays the reference for its parts (for example held-out experiments). The species scales, and
        with them the floor of relative noise, are those of the subset.

        Parameters
        ----------
        experiments : sequence of str or int
            Experiment names or indices.
        """
        if isinstance(experiments, (str, int)):
            experiments = [experiments]
        return dataclasses.replace(self, experiments=tuple(self.experiment(key) for key in experiments))

    def with_noise(
        self, noise: NoiseLike | None = None, noise_model: str | None = None, *, config: DataConfig | None = None
    ) -> Dataset:
        """The same data with new noise levels.

        Parameters
        ----------
        noise : float, sequence or mapping, optional
            The levels (then ``noise_given`` is True, and relative noise has the default floor); None
            estimates the levels, and under relative noise each species' floor, with `estimate_noise`
            (then ``noise_given`` is False and ``noise_note`` says what the data could not tell).
        noise_model : str, optional
            ``"relative"`` or ``"absolute"``; None keeps the current model.
        config : DataConfig, optional
            Settings of the noise estimate.
        """
        model = self.noise_model if noise_model is None else noise_model
        check_noise_model(model)
        if noise is not None:
            return dataclasses.replace(self, noise=noise, noise_model=model, noise_given=True, noise_floor=None,
                                       noise_note="")
        estimate = estimate_noise(self.species, self.experiments, noise_model=model, config=config)
        logger.info("%s: estimated %s noise %s", self.source, model,
                    dict(zip(self.species, estimate.level.tolist())))
        return dataclasses.replace(self, noise=estimate.level, noise_model=model, noise_given=False,
                                   noise_floor=estimate.floor if model == "relative" else None,
                                   noise_note=estimate.note)

    def noise_description(self) -> list[str]:
        """Each species' error model in words: ``"S 0.05 (at least 0.0021)"`` (relative above its floor),
        ``"V 12.5 (absolute)"`` (a floor of 1), or the bare level (given noise, default floor)."""
        if self.noise_model == "absolute" or self.noise_floor is None:
            return [f"{name} {level:.3g}" for name, level in zip(self.species, self.noise)]
        return [f"{name} {level * scale:.3g} (absolute)" if floor >= 1.0
                else f"{name} {level:.3g} (at least {level * floor * scale:.3g})"
                for name, level, floor, scale in zip(self.species, self.noise, self.noise_floor, self.species_scale)]

    def summary(self) -> str:
        """A human-readable multi-line description: sizes, noise, and per experiment its times and values."""
        lines = [
            f"Data set {self.source or '(no source)'}: {self.num_experiments} experiment(s), "
            f"{self.num_species} observed species, {self.num_points} observed values",
            f"noise ({self.noise_model}, {'given' if self.noise_given else 'estimated'}): "
            + ", ".join(self.noise_description()),
        ]
        if self.noise_note:
            lines.append(f"noise estimate: {self.noise_note} (give --noise if it is known)")
        for experiment in self.experiments:
            lines.append(
                f"experiment {experiment.name!r}: {experiment.num_times} times from "
                f"{experiment.times[0]:g} to {experiment.times[-1]:g}"
            )
            for name, column in zip(self.species, experiment.values.T):
                observed = column[~np.isnan(column)]
                extent = f" in [{observed.min():g}, {observed.max():g}]" if observed.size else ""
                lines.append(f"  {name}: {observed.size} values{extent}")
        return "\n".join(lines)
