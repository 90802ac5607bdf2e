"""Wide CSV files: a ``time`` column, an optional ``experiment`` column, one column per observed species.

Reading is strict: every refusal is a ValueError whose message starts with
``<path>, line <n>, column '<name>':`` (the header is line 1), so that the user can go straight to the cell.
"""
from __future__ import annotations

import csv
import dataclasses
import logging
import math
import os
from typing import Sequence

import numpy as np

from mcts_crn.data.experiment import DEFAULT_EXPERIMENT_NAME, Experiment, check_name

logger = logging.getLogger(__name__)

TIME_COLUMN = "time"
EXPERIMENT_COLUMN = "experiment"
RESERVED_COLUMNS = (TIME_COLUMN, EXPERIMENT_COLUMN)
"""Header names (matched case-insensitively) that are not species."""


def _error(path: str, line: int, column: str | None, message: str) -> ValueError:
    where = f"{path}, line {line}" + ("" if column is None else f", column {column!r}")
    return ValueError(f"{where}: {message}")


@dataclasses.dataclass
class _Columns:
    """Positions of the header's columns."""

    time: int
    experiment: int | None
    species: list[int]
    names: list[str]


@dataclasses.dataclass
class _Rows:
    """The rows of one experiment, gathered while reading."""

    first_line: int
    times: list[float] = dataclasses.field(default_factory=list)
    values: list[list[float]] = dataclasses.field(default_factory=list)
    last_line: int = 0


def _parse_header(path: str, line: int, header: list[str]) -> _Columns:
    names = [cell.strip() for cell in header]
    special: dict[str, int] = {}
    for index, name in enumerate(names):
        try:
            check_name("column", name)
        except ValueError as error:
            raise _error(path, line, name, f"bad column name (column {index + 1}): {error}") from None
        if name in names[:index]:
            raise _error(path, line, name, "duplicate column name")
        folded = name.lower()
        if folded in RESERVED_COLUMNS:
            if folded in special:
                raise _error(path, line, name, f"duplicate {folded!r} column (also {names[special[folded]]!r})")
            special[folded] = index
    if TIME_COLUMN not in special:
        raise _error(path, line, None, f"no {TIME_COLUMN!r} column in the header {names}")
    species = [index for index in range(len(names)) if index not in special.values()]
    if not species:
        raise _error(path, line, None, f"no species columns besides {sorted(special)}")
    return _Columns(special[TIME_COLUMN], special.get(EXPERIMENT_COLUMN), species, names)


def _parse_number(path: str, line: int, column: str, cell: str, *, negative_ok: bool) -> float:
    """The number in ``cell``; NaN for an empty cell."""
    text = cell.strip()
    if not text:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise _error(path, line, column, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise _error(path, line, column, f"{text!r} is not a finite number (leave the cell empty for a missing value)")
    if value < 0 and not negative_ok:
        raise _error(path, line, column, f"{text!r} is negative; amounts must be >= 0")
    return value


def read_csv(path: str | os.PathLike) -> tuple[tuple[str, ...], tuple[Experiment, ...]]:
    """Read and validate a wide CSV file.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Header (line 1): a ``time`` column and optionally an ``experiment`` column (both
        matched case-insensitively), every other column a species. Each further line is one time point;
        an empty cell is a missing value; blank lines are skipped. Rows are grouped by experiment id
        (any string, surrounding whitespace ignored) in order of first appearance; without an
        ``experiment`` column all rows form one experiment named DEFAULT_EXPERIMENT_NAME. Inside an
        experiment times must already strictly increase: rows are never reordered.

    Returns
    -------
    species : tuple of str
        [O] species names, in column order.
    experiments : tuple of Experiment
        [X] experiments; their ``values`` are [T, O] float64 with NaN for missing values.

    Raises
    ------
    ValueError
        Naming the file, the 1-based line and the column, for: an empty file, a header without
        ``time`` or without species columns, empty or duplicate column names, a row with the wrong
        number of cells, an empty time or experiment cell, a value that is not a number, not finite
        (``nan``, ``inf``) or negative (times may be negative), a time that does not exceed the
        previous time of its experiment, an experiment without any value, a species column without
        any value. A file that is not UTF-8 text is refused naming the file only.
    """
    where = os.fspath(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            rows = [(reader.line_num, row) for row in reader if row]
    except UnicodeDecodeError as error:
        raise ValueError(f"{where}: not UTF-8 text ({error.reason}); save the file as UTF-8") from None
    except csv.Error as error:
        raise _error(where, reader.line_num, None, f"unreadable CSV ({error})") from None
    if not rows:
        raise _error(where, 1, None, f"the file is empty; expected a header with a {TIME_COLUMN!r} column")
    header_line, header = rows[0]
    columns = _parse_header(where, header_line, header)
    if len(rows) == 1:
        raise _error(where, header_line, None, "no data rows after the header")
    time_name = columns.names[columns.time]
    groups: dict[str, _Rows] = {}
    for line, row in rows[1:]:
        if len(row) != len(columns.names):
            short = len(row) < len(columns.names)
            raise _error(
                where, line, columns.names[len(row)] if short else None,
                f"{len(row)} cells, expected {len(columns.names)} ({'missing' if short else 'extra'} cells at the end)",
            )
        name = DEFAULT_EXPERIMENT_NAME
        if columns.experiment is not None:
            name = row[columns.experiment].strip()
            try:
                check_name("experiment", name, group_name=True)
            except ValueError as error:
                raise _error(where, line, columns.names[columns.experiment], str(error)) from None
        time = _parse_number(where, line, time_name, row[columns.time], negative_ok=True)
        if math.isnan(time):
            raise _error(where, line, time_name, "empty time cell")
        values = [_parse_number(where, line, columns.names[k], row[k], negative_ok=False) for k in columns.species]
        group = groups.setdefault(name, _Rows(first_line=line))
        if group.times and time <= group.times[-1]:
            raise _error(
                where, line, time_name,
                f"time {time!r} does not exceed the previous time {group.times[-1]!r} (line {group.last_line}) "
                f"of experiment {name!r}; times inside an experiment must strictly increase",
            )
        group.times.append(time)
        group.values.append(values)
        group.last_line = line
    arrays = {name: np.array(group.values, dtype=np.float64) for name, group in groups.items()}
    for name, group in groups.items():
        if np.all(np.isnan(arrays[name])):
            column = None if columns.experiment is None else columns.names[columns.experiment]
            message = f"experiment {name!r} has no values (every species cell is empty)"
            raise _error(where, group.first_line, column, message)
    for j, k in enumerate(columns.species):
        if all(np.all(np.isnan(values[:, j])) for values in arrays.values()):
            raise _error(where, header_line, columns.names[k], "species column has no values")
    species = tuple(columns.names[k] for k in columns.species)
    experiments = tuple(Experiment(name, group.times, arrays[name]) for name, group in groups.items())
    logger.debug("%s: %d experiments, %d rows, species %s", where, len(experiments), len(rows) - 1, species)
    return species, experiments


def write_csv(path: str | os.PathLike, species: Sequence[str], experiments: Sequence[Experiment]) -> None:
    """Write experiments as a wide CSV file that `read_csv` reads back to the same arrays and names.

    The ``experiment`` column is left out when there is a single experiment named
    DEFAULT_EXPERIMENT_NAME. Numbers are written with ``repr`` (shortest exact form); missing values as
    empty cells. Initial values have no place in this format: they are dropped with a logged warning.

    Parameters
    ----------
    path : str or os.PathLike
        The file to (over)write.
    species : sequence of str
        [O] species names, the column order of the values.
    experiments : sequence of Experiment
        [X] experiments, values [T, O] float64.
    """
    dropped = [x.name for x in experiments if x.initial_values]
    if dropped:
        logger.warning("%s: initial values of experiments %s are not written (no place in CSV)", path, dropped)
    with_id = not (len(experiments) == 1 and experiments[0].name == DEFAULT_EXPERIMENT_NAME)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([TIME_COLUMN, *([EXPERIMENT_COLUMN] if with_id else []), *species])
        for experiment in experiments:
            for time, row in zip(experiment.times, experiment.values):
                cells = ["" if math.isnan(value) else repr(float(value)) for value in row]
                writer.writerow([repr(float(time)), *([experiment.name] if with_id else []), *cells])
