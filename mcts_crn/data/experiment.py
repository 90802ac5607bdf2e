"""One experiment: a time grid, observed values with gaps, and known initial amounts."""
from __future__ import annotations

import dataclasses
import math
import types
from typing import Any, Mapping

import numpy as np
from numpy.typing import ArrayLike

DEFAULT_EXPERIMENT_NAME = "1"
"""Name given to the only experiment of data that has no experiment column or names."""


def check_name(kind: str, name: Any, *, group_name: bool = False) -> None:
    """Refuse a species or experiment name that cannot live in a CSV header or cell (or an HDF5 group name).

    Parameters
    ----------
    kind : str
        What is named ("species", "experiment"), for the message.
    name : Any
        The name to check: a non-empty printable str without surrounding whitespace.
    group_name : bool
        Also refuse '/' and names made of dots only, which HDF5 reads as paths.

    Raises
    ------
    ValueError
        If the name is not acceptable.
    """
    if not isinstance(name, str):
        raise ValueError(f"{kind} name {name!r} is not a string")
    if not name or name != name.strip() or not name.isprintable():
        raise ValueError(f"{kind} name {name!r} must be non-empty and printable, without surrounding whitespace")
    if group_name and ("/" in name or set(name) == {"."}):
        raise ValueError(f"{kind} name {name!r} must not contain '/' or be only dots")


def read_only_float64(array: ArrayLike) -> np.ndarray:
    """Return a read-only float64 copy of ``array``."""
    out = np.array(array, dtype=np.float64, copy=True)
    out.setflags(write=False)
    return out


@dataclasses.dataclass(frozen=True, eq=False)
class Experiment:
    """Observations of one experiment (one subject, dose or initial condition).

    Attributes
    ----------
    name : str
        Identifier, unique within a data set (the CSV ``experiment`` cell, the HDF5 group name).
    times : np.ndarray
        [T] float64, finite and strictly increasing; T >= 1. Read-only.
    values : np.ndarray
        [T, O] float64 observed amounts of the data set's O observed species, in the data set's species
        order; NaN marks a missing value, every other value is finite and >= 0. Read-only.
    initial_values : Mapping[str, float]
        Known initial amounts (finite, >= 0) by species name; may name species that are not observed,
        such as latent ones. A read-only mapping; empty by default.

    Notes
    -----
    The arrays are copied on construction, so later changes to the caller's arrays do not leak in.
    Two experiments are equal when names, initial values and arrays agree exactly, NaN positions included.
    """

    name: str
    times: np.ndarray
    values: np.ndarray
    initial_values: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name("experiment", self.name, group_name=True)
        times = read_only_float64(self.times)
        values = read_only_float64(self.values)
        where = f"experiment {self.name!r}"
        if times.ndim != 1 or times.size == 0:
            raise ValueError(f"{where}: times must be a non-empty 1-d array, got shape {times.shape}")
        if values.ndim != 2 or values.shape[0] != times.size:
            raise ValueError(f"{where}: values must have shape [T={times.size}, O], got {values.shape}")
        if not np.all(np.isfinite(times)):
            raise ValueError(f"{where}: times must be finite")
        steps = np.diff(times)
        if np.any(steps <= 0):
            index = int(np.argmax(steps <= 0)) + 1
            raise ValueError(
                f"{where}: times must strictly increase, but time {float(times[index])!r} (index {index}) "
                f"follows {float(times[index - 1])!r}"
            )
        if np.any(np.isinf(values)):
            raise ValueError(f"{where}: values must be finite or NaN (missing), found an infinity")
        if np.any(values < 0):
            raise ValueError(f"{where}: values must be >= 0 (amounts), found {float(np.nanmin(values))!r}")
        initial: dict[str, float] = {}
        for species, amount in dict(self.initial_values).items():
            check_name("species", species)
            amount = float(amount)
            if not (math.isfinite(amount) and amount >= 0):
                raise ValueError(f"{where}: initial value of {species!r} must be finite and >= 0, got {amount!r}")
            initial[species] = amount
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "initial_values", types.MappingProxyType(initial))

    __hash__ = None  # type: ignore[assignment]  # holds arrays

    def __reduce__(self):
        # the read-only view of the initial values does not pickle: rebuild (and re-check) from a dict
        return type(self), (self.name, self.times, self.values, dict(self.initial_values))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Experiment):
            return NotImplemented
        return (
            self.name == other.name
            and dict(self.initial_values) == dict(other.initial_values)
            and np.array_equal(self.times, other.times)
            and np.array_equal(self.values, other.values, equal_nan=True)
        )

    @property
    def num_times(self) -> int:
        """Number of time points T."""
        return int(self.times.size)
