"""Configuration: one frozen dataclass per layer.

Every config is immutable and built either directly or with ``from_dict``, which rejects unknown keys so
that a typo in a JSON config or a command line never passes silently.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, TypeVar

C = TypeVar("C", bound="_Config")


@dataclasses.dataclass(frozen=True)
class _Config:
    """Base class: ``from_dict`` / ``to_dict`` with unknown-key rejection."""

    @classmethod
    def from_dict(cls: type[C], values: Mapping[str, Any] | None = None) -> C:
        values = dict(values or {})
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown keys {unknown}; known keys are {sorted(names)}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self: C, **changes: Any) -> C:
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True)
class DataConfig(_Config):
    """Reading and validating data sets.

    Attributes
    ----------
    noise_floor : float
        Smallest relative noise level an estimate may return (guards against a zero estimate on
        perfectly smooth or constant data). For absolute noise the floor is this fraction of the
        species' scale (its largest observed absolute value).
    scale_floor : float
        Under relative noise, the fraction of a species' scale below which the noise stops shrinking
        with the amount: sigma = noise * max(|y|, scale_floor * scale). Keeps zeros and values near
        a detection limit from getting a vanishing error bar.
    fallback_noise : float
        Relative noise level (for absolute noise: this fraction of the species' scale) used when a
        species has too few observations to estimate its noise; a warning is logged.
    """

    noise_floor: float = 1e-3
    scale_floor: float = 1e-2
    fallback_noise: float = 0.1


@dataclasses.dataclass(frozen=True)
class CrnConfig(_Config):
    """Limits of the reaction-network space.

    Attributes
    ----------
    max_order : int
        Largest number of molecules on either side of a candidate reaction.
    """

    max_order: int = 2


@dataclasses.dataclass(frozen=True)
class SimulateConfig(_Config):
    """ODE integration settings (filled in by the simulator layer)."""

    method: str = "auto"
    rtol: float = 1e-6
    atol: float = 1e-9
    max_steps: int = 100_000
