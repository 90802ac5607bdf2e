"""Reading and writing wide CSV files: the shared real data sets, every refusal, and round trips."""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from mcts_crn.data import DEFAULT_EXPERIMENT_NAME, Dataset, Experiment

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
REAL_FILES = sorted(REAL.glob("*.csv")) if REAL.is_dir() else []
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason=f"the shared real data folder {REAL} is absent")


def count_with_csv_module(path: Path) -> tuple[int, int, dict[str, int]]:
    """Experiments, rows and non-empty cells per species column, counted without the package."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    species = [name for name in rows[0] if name.lower() not in ("time", "experiment")]
    experiments = {row.get("experiment", DEFAULT_EXPERIMENT_NAME) for row in rows}
    return len(experiments), len(rows), {name: sum(bool(row[name].strip()) for row in rows) for name in species}


@needs_real
@pytest.mark.parametrize("path", REAL_FILES, ids=lambda path: path.stem)
def test_real_file_loads_with_the_counts_of_the_csv_module(path: Path) -> None:
    dataset = Dataset.from_csv(path)
    num_experiments, num_rows, counts = count_with_csv_module(path)
    assert dataset.num_experiments == num_experiments
    assert sum(x.num_times for x in dataset.experiments) == num_rows
    assert dataset.species == tuple(counts)
    observed = [sum(int(np.count_nonzero(~np.isnan(x.values[:, j]))) for x in dataset.experiments)
                for j in range(dataset.num_species)]
    assert observed == list(counts.values())
    assert dataset.num_points == sum(counts.values())
    assert dataset.source == str(path) and not dataset.noise_given


@needs_real
def test_real_files_documented_facts() -> None:
    hiv = Dataset.from_csv(REAL / "hiv_liang2010.csv")
    assert [x.name for x in hiv.experiments] == ["1", "2"]
    assert [x.num_times for x in hiv.experiments] == [36, 48]
    cd4 = hiv.species.index("cd4_t_cells")
    assert [int(np.count_nonzero(~np.isnan(x.values[:, cd4]))) for x in hiv.experiments] == [8, 17]
    assert hiv.experiments[0].values[0].tolist() == [462.0, 35481.3389]  # written 3.54813389e+004

    malaria = Dataset.from_csv(REAL / "malaria_malariatherapy_untreated.csv")
    assert [x.name for x in malaria.experiments] == ["16", "18", "23", "24", "29"]
    assert sum(x.num_times for x in malaria.experiments) == 261
    assert min(float(np.nanmin(x.values)) for x in malaria.experiments) == 0.0  # zeros are valid amounts

    lynx_hare = Dataset.from_csv(REAL / "lynx_hare_hudson_bay_1900_1920.csv")
    assert lynx_hare.experiments[0].times.tolist() == list(map(float, range(1900, 1921)))
    assert lynx_hare.time_span == (1900.0, 1920.0)


@needs_real
@pytest.mark.parametrize("path", REAL_FILES, ids=lambda path: path.stem)
def test_real_file_round_trips_through_csv(path: Path, tmp_path: Path) -> None:
    dataset = Dataset.from_csv(path)
    dataset.to_csv(tmp_path / "copy.csv")
    again = Dataset.from_csv(tmp_path / "copy.csv")
    assert again.species == dataset.species and again.experiments == dataset.experiments
    np.testing.assert_array_equal(again.noise, dataset.noise)  # same data, same estimate


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    return path


BAD_INPUT = {
    # case: (file text, line, column or None, part of the message)
    "no_time_column": ("t,S\n0,1\n", 1, None, "no 'time' column"),
    "not_a_number": ("time,S\n0,1\n1,x\n", 3, "S", "'x' is not a number"),
    "nan_literal": ("time,S\n0,1\n1,nan\n", 3, "S", "'nan' is not a finite number"),
    "inf_literal": ("time,S\n0,inf\n", 2, "S", "'inf' is not a finite number"),
    "infinite_time": ("time,S\n0,1\n-Infinity,1\n", 3, "time", "is not a finite number"),
    "time_not_a_number": ("time,S\n0,1\n1 day,2\n", 3, "time", "'1 day' is not a number"),
    "negative_amount": ("time,S,R\n0,1,2\n1,3,-0.5\n", 3, "R", "'-0.5' is negative"),
    "duplicate_time": (
        "time,experiment,S\n0,a,1\n1,a,2\n1,a,3\n", 4, "time", "does not exceed the previous time 1.0 (line 3)"
    ),
    "decreasing_time": ("time,S\n0,1\n2,1\n1,1\n", 4, "time", "does not exceed the previous time 2.0"),
    "decreasing_time_after_other_experiment": (
        "time,experiment,S\n0,a,1\n5,a,1\n0,b,1\n4,a,1\n", 5, "time", "of experiment 'a'"
    ),
    "no_species_columns": ("time,experiment\n0,a\n", 1, None, "no species columns"),
    "experiment_without_data": (
        "time,experiment,S,R\n0,a,1,\n0,b,,\n1,b,,\n", 3, "experiment", "experiment 'b' has no values"
    ),
    "only_experiment_without_data": ("time,S\n0,\n1,\n", 2, None, "experiment '1' has no values"),
    "species_without_data": ("time,S,R\n0,1,\n1,2,\n", 1, "R", "species column has no values"),
    "empty_time_cell": ("time,S\n0,1\n ,2\n", 3, "time", "empty time cell"),
    "empty_experiment_cell": ("time,experiment,S\n0,a,1\n1,,2\n", 3, "experiment", "must be non-empty"),
    "too_few_cells": ("time,S,R\n0,1,2\n1,2\n", 3, "R", "2 cells, expected 3"),
    "too_many_cells": ("time,S\n0,1\n1,2,3\n", 3, None, "3 cells, expected 2"),
    "empty_file": ("", 1, None, "the file is empty"),
    "blank_file": ("\n\n", 1, None, "the file is empty"),
    "header_only": ("time,S\n", 1, None, "no data rows"),
    "duplicate_species_column": ("time,S,R,S\n0,1,2,3\n", 1, "S", "duplicate column name"),
    "duplicate_time_column": ("Time,S,TIME\n0,1,2\n", 1, "TIME", "duplicate 'time' column (also 'Time')"),
    "empty_column_name": ("time,S,\n0,1,2\n", 1, "", "must be non-empty"),
    "line_numbers_count_blank_lines": ("time,S\n\n0,1\n\n1,x\n", 5, "S", "'x' is not a number"),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_is_refused_naming_file_line_and_column(case: str, tmp_path: Path) -> None:
    text, line, column, fragment = BAD_INPUT[case]
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as caught:
        Dataset.from_csv(path)
    message = str(caught.value)
    where = f"{path}, line {line}" + ("" if column is None else f", column {column!r}")
    assert message.startswith(where + ":"), message
    assert fragment in message, message


def test_file_that_is_not_utf8_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("time,\u00b5M\n0,1\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8 text") as caught:
        Dataset.from_csv(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_numbers_missing_cells_zeros_and_negative_times(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffTIME , S,R\n-1.5,3.54813389e+004,0\n0, 1.81E+05 ,\n2,,0.0\n")
    dataset = Dataset.from_csv(path)
    assert dataset.species == ("S", "R")
    (experiment,) = dataset.experiments
    assert experiment.name == DEFAULT_EXPERIMENT_NAME
    np.testing.assert_array_equal(experiment.times, [-1.5, 0.0, 2.0])
    np.testing.assert_array_equal(experiment.values, [[35481.3389, 0.0], [181000.0, math.nan], [math.nan, 0.0]])


def test_experiments_keep_order_of_first_appearance_and_own_time_grids(tmp_path: Path) -> None:
    path = write(tmp_path, "time,Experiment,S\n0,b,1\n0,a,2\n1,b,3\n0.5,a,\n7,b,4\n")
    dataset = Dataset.from_csv(path)
    b, a = dataset.experiments
    assert (b.name, a.name) == ("b", "a")
    np.testing.assert_array_equal(b.times, [0.0, 1.0, 7.0])
    np.testing.assert_array_equal(b.values[:, 0], [1.0, 3.0, 4.0])
    np.testing.assert_array_equal(a.times, [0.0, 0.5])
    np.testing.assert_array_equal(a.values[:, 0], [2.0, math.nan])


def test_round_trip_with_gaps_and_different_grids(tmp_path: Path) -> None:
    experiments = [
        Experiment("dose 1", [0.0, 0.1, 2.5], [[1.0, math.nan], [0.0, 2.0], [1e-300, 7.25e12]]),
        Experiment("x,y", [-3.0, 100.0], [[math.nan, 1.0], [0.5, math.nan]]),
    ]
    dataset = Dataset.from_arrays(("A", "B"), experiments, noise=0.1)
    dataset.to_csv(tmp_path / "out.csv")
    again = Dataset.from_csv(tmp_path / "out.csv", noise=0.1)
    assert again.species == dataset.species and again.experiments == dataset.experiments
    assert again.noise_given


def test_single_default_experiment_is_written_without_experiment_column(tmp_path: Path) -> None:
    dataset = Dataset.from_arrays(["S"], ([0.0, 1.0], [[1.0], [2.0]]), noise=0.1)
    dataset.to_csv(tmp_path / "one.csv")
    assert (tmp_path / "one.csv").read_text().splitlines() == ["time,S", "0.0,1.0", "1.0,2.0"]
    assert Dataset.from_csv(tmp_path / "one.csv").experiments == dataset.experiments


def test_initial_values_are_dropped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    dataset = Dataset.from_arrays(["S"], ([0.0], [[1.0]]), noise=0.1, initial_values={"E": 2.0})
    dataset.to_csv(tmp_path / "out.csv")
    assert "initial values" in caplog.text
    assert dict(Dataset.from_csv(tmp_path / "out.csv").experiments[0].initial_values) == {}
