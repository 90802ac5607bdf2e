"""HDF5 data set files: exact round trips, root attributes, and refusal of foreign or damaged files."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Callable

import h5py
import numpy as np
import pytest

from mcts_crn.data import Dataset, Experiment


@pytest.fixture
def dataset() -> Dataset:
    experiments = (
        Experiment("patient 1", [0.0, 0.5, 3.0], [[1.0, math.nan], [0.0, 2.5], [math.nan, 1e-12]], {"E": 0.25}),
        Experiment("2", [1.0], [[4.0, 5.0]], {"S": 1.0, "latent": 3.0}),
    )
    return Dataset(("S", "P"), experiments, noise=[0.05, 0.2], noise_model="absolute", noise_given=False,
                   source="made in a test")


@pytest.fixture
def written(dataset: Dataset, tmp_path: Path) -> Path:
    path = tmp_path / "data.h5"
    dataset.to_hdf5(path)
    return path


def test_round_trip_is_exact(dataset: Dataset, written: Path) -> None:
    again = Dataset.from_hdf5(written)
    assert again == dataset
    assert [dict(x.initial_values) for x in again.experiments] == [{"E": 0.25}, {"S": 1.0, "latent": 3.0}]
    assert np.isnan(again.experiments[0].values[2, 0]) and again.noise_model == "absolute"
    assert not again.noise_given and again.source == "made in a test"


def test_root_attributes_and_layout(dataset: Dataset, written: Path) -> None:
    with h5py.File(written, "r") as file:
        assert file.attrs["schema_version"] == 1
        assert isinstance(file.attrs["package_version"], str) and file.attrs["package_version"]
        assert json.loads(file.attrs["species"]) == ["S", "P"]
        np.testing.assert_array_equal(file.attrs["noise"], [0.05, 0.2])
        assert file["experiments/patient 1/values"].dtype == np.float64
        assert file["experiments/2/times"].shape == (1,)


def test_real_data_set_round_trips(tmp_path: Path) -> None:
    real = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "hiv_liang2010.csv"
    if not real.is_file():
        pytest.skip(f"the shared real data file {real} is absent")
    dataset = Dataset.from_csv(real)
    dataset.to_hdf5(tmp_path / "hiv.h5")
    assert Dataset.from_hdf5(tmp_path / "hiv.h5") == dataset


def drop_version(file: h5py.File) -> None:
    del file.attrs["schema_version"]


def future_version(file: h5py.File) -> None:
    file.attrs["schema_version"] = 2


def drop_experiments(file: h5py.File) -> None:
    del file["experiments"]


def drop_times(file: h5py.File) -> None:
    del file["experiments/2/times"]


def drop_group(file: h5py.File) -> None:
    del file["experiments/patient 1"]


def bad_values(file: h5py.File) -> None:
    del file["experiments/2/values"]
    file["experiments/2/values"] = np.array([[4.0, -5.0]])


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        (drop_version, "no schema_version attribute"),
        (future_version, "schema_version 2 is not supported"),
        (drop_experiments, "missing member 'experiments' of '/'"),
        (drop_group, "missing member 'patient 1' of '/experiments'"),
        (drop_times, "missing member 'times' of '/experiments/2'"),
        (bad_values, "values must be >= 0"),
    ],
)
def test_damaged_file_is_refused_naming_the_file(
    written: Path, damage: Callable[[h5py.File], None], fragment: str
) -> None:
    with h5py.File(written, "a") as file:
        damage(file)
    with pytest.raises(ValueError) as caught:
        Dataset.from_hdf5(written)
    assert str(caught.value).startswith(f"{written}: ") and fragment in str(caught.value), str(caught.value)


def test_not_an_hdf5_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "data.csv.h5"
    path.write_text("time,S\n0,1\n")
    with pytest.raises(ValueError) as caught:
        Dataset.from_hdf5(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_missing_file_stays_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Dataset.from_hdf5(tmp_path / "absent.h5")
