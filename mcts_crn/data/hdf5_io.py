"""HDF5 data set files (schema version 1).

Layout::

    /                      attributes: schema_version (int, 1), package_version (str), species (JSON list),
                           noise (float64 [O]), noise_model (str), noise_given (bool), source (str; bytes
                           where UTF-8 cannot hold it); optional: noise_floor (float64 [O]),
                           noise_note (str)
    /experiments           attribute order (JSON list of experiment names, in data set order)
    /experiments/<name>    datasets times (float64 [T]) and values (float64 [T, O], NaN = missing),
                           attribute initial_values (JSON object: species name -> amount)

The functions here are the storage half of `Dataset.to_hdf5` / `Dataset.from_hdf5`, which add the file
name to every error message.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from mcts_crn.data.experiment import Experiment

if TYPE_CHECKING:
    from mcts_crn.data.dataset import Dataset

SCHEMA_VERSION = 1


def package_version() -> str:
    """Version of the installed mcts_crn ("0.0.0" when it cannot be told)."""
    try:
        from mcts_crn import __version__

        return str(__version__)
    except ImportError:
        try:
            return importlib.metadata.version("mcts_crn")
        except importlib.metadata.PackageNotFoundError:
            return "0.0.0"


def write_hdf5(path: str | os.PathLike, dataset: Dataset) -> None:
    """(Over)write ``path`` with ``dataset`` in the layout of the module docstring."""
    with h5py.File(path, "w") as file:
        file.attrs["schema_version"] = SCHEMA_VERSION
        file.attrs["package_version"] = package_version()
        file.attrs["species"] = json.dumps(list(dataset.species))
        file.attrs["noise"] = dataset.noise
        file.attrs["noise_model"] = dataset.noise_model
        file.attrs["noise_given"] = dataset.noise_given
        file.attrs["source"] = _text_attribute(dataset.source)
        if dataset.noise_floor is not None:
            file.attrs["noise_floor"] = dataset.noise_floor
        if dataset.noise_note:
            file.attrs["noise_note"] = dataset.noise_note
        experiments = file.create_group("experiments")
        experiments.attrs["order"] = json.dumps([x.name for x in dataset.experiments])
        for experiment in dataset.experiments:
            group = experiments.create_group(experiment.name)
            group.create_dataset("times", data=experiment.times)
            group.create_dataset("values", data=experiment.values)
            group.attrs["initial_values"] = json.dumps(dict(experiment.initial_values))


def _text_attribute(text: str) -> str | np.bytes_:
    """``text`` as an HDF5 attribute: a UTF-8 string, or its bytes (lone surrogates kept, as
    ``surrogatepass`` encodes them) where UTF-8 cannot hold it: a file name with undecodable bytes, which
    ``os.fsdecode`` gives as surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return np.bytes_(text.encode("utf-8", "surrogatepass"))
    return text


def _read_text(value: Any) -> str:
    """The inverse of ``_text_attribute``."""
    return value.decode("utf-8", "surrogatepass") if isinstance(value, (bytes, np.bytes_)) else str(value)


def _get(node: h5py.Group, key: str, *, attribute: bool) -> Any:
    """An attribute or a member of ``node``; ValueError naming what is missing."""
    found = node.attrs.get(key) if attribute else node.get(key)
    if found is None:
        what = "attribute" if attribute else "member"
        raise ValueError(f"missing {what} {key!r} of {node.name!r} (schema_version {SCHEMA_VERSION})")
    return found


def read_hdf5(path: str | os.PathLike) -> dict[str, Any]:
    """Read a data set file into the keyword arguments of `Dataset`.

    Raises
    ------
    ValueError
        For a missing or unknown schema_version or a missing attribute, group or dataset. The message
        does not name the file; `Dataset.from_hdf5` adds it.
    """
    with h5py.File(path, "r") as file:
        version = file.attrs.get("schema_version")
        if version is None:
            raise ValueError("no schema_version attribute; not an mcts_crn data set file")
        if not isinstance(version, (int, np.integer)) or version != SCHEMA_VERSION:
            raise ValueError(f"schema_version {version} is not supported (this version reads {SCHEMA_VERSION})")
        group = _get(file, "experiments", attribute=False)
        experiments = []
        for name in json.loads(_get(group, "order", attribute=True)):
            member = _get(group, name, attribute=False)
            experiments.append(
                Experiment(
                    name,
                    _get(member, "times", attribute=False)[()],
                    _get(member, "values", attribute=False)[()],
                    json.loads(_get(member, "initial_values", attribute=True)),
                )
            )
        return {
            "species": tuple(json.loads(_get(file, "species", attribute=True))),
            "experiments": tuple(experiments),
            "noise": np.asarray(_get(file, "noise", attribute=True), dtype=np.float64),
            "noise_model": str(_get(file, "noise_model", attribute=True)),
            "noise_given": bool(_get(file, "noise_given", attribute=True)),
            "source": _read_text(_get(file, "source", attribute=True)),
            "noise_floor": (None if file.attrs.get("noise_floor") is None
                            else np.asarray(file.attrs["noise_floor"], dtype=np.float64)),
            "noise_note": _read_text(file.attrs.get("noise_note", "")),
        }
