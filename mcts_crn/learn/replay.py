"""The replay buffer: self-play samples in an appendable HDF5 file that survives restarts.

A sample is one search state with its training targets. States are stored as their model features (not
as networks to refit: rebuilding the features would need each state's fit), together with the state's
reaction arrays, species flags and the task it came from, so it can be inspected or its features rebuilt.

Layout (``SCHEMA_VERSION`` 1). Root attributes: ``schema_version``, ``feature_version``,
``package_version``, ``seed`` (entropy of the run's seed), ``config`` (JSON: model, task and train
configs), ``created``. Every dataset below is resizable along its first axis and grows by appending.

``tasks/`` one row per self-play game:
    ``iteration``, ``game`` int32; ``seed`` (the task's seed as ``entropy/spawn.key``: with the task
    config in ``config``, ``generate_task(seed_from_label(seed), config=...)`` rebuilds the task and its
    data); ``key`` (canonical key of the true network, str); ``crn`` (its reaction text, str);
    ``species`` (comma-separated species, str); ``num_latent`` int32; ``noise`` float64; ``num_fits``,
    ``fits_to_truth`` (0: never reached) int32; ``best_reward``, ``truth_reward`` float64; ``best_key`` str.

``samples/`` one row per sample:
    ``task`` int64 (row of ``tasks``), ``source`` int8 (0 search node, 1 demonstration), ``outcome``
    float32 (best reward found at or below the state), ``visits`` int32 (visits of the node's edges),
    and the per-sample row counts ``num_species``, ``num_reactions``, ``num_edges``, ``num_actions``,
    ``num_entries`` int32 of the ragged tables below (offsets are their cumulative sums).

``ragged/`` tables, the rows of each sample consecutive and in sample order:
    ``species`` float32 [*, F_s], ``latent`` bool [*]; ``reactions`` float32 [*, F_r], ``reactants``,
    ``products`` int8 [*, S_max] (the state's stoichiometry, padded); ``edges`` int16 [*, 4]; ``graph``
    float32 [*, F_g] (one row per sample); ``actions`` int32 [*] (action codes of the task's
    ``ActionSpace``), ``action_features`` float32 [*, F_a], ``policy`` float32 [*] (visit distribution),
    ``toward_best``, ``toward_truth`` bool [*]; ``entries`` int16 [*, 4].

Appending writes the ragged tables first and the ``samples`` and ``tasks`` rows last; a file left by a
kill in the middle of an append has longer ragged tables than its ``samples`` rows claim, and opening it
cuts them back (the half-written game is lost, every complete one kept).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from typing import Any, Sequence

import h5py
import numpy as np

from mcts_crn import __version__
from mcts_crn.model.features import FEATURE_VERSION, StateFeatures

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MAX_SPECIES = 16
"""Width of the padded ``reactants`` / ``products`` tables."""

_STR = h5py.string_dtype()
_TASK_FIELDS = {"iteration": np.int32, "game": np.int32, "seed": _STR, "key": _STR, "crn": _STR, "species": _STR,
                "num_latent": np.int32, "noise": np.float64, "num_fits": np.int32, "fits_to_truth": np.int32,
                "best_reward": np.float64, "truth_reward": np.float64, "best_key": _STR}
_SAMPLE_FIELDS = {"task": np.int64, "source": np.int8, "outcome": np.float32, "visits": np.int32,
                  "num_species": np.int32, "num_reactions": np.int32, "num_edges": np.int32,
                  "num_actions": np.int32, "num_entries": np.int32}
# ragged table -> (count field, dtype)
_RAGGED = {"species": ("num_species", np.float32), "latent": ("num_species", np.bool_),
           "reactions": ("num_reactions", np.float32), "reactants": ("num_reactions", np.int8),
           "products": ("num_reactions", np.int8), "edges": ("num_edges", np.int16), "graph": (None, np.float32),
           "actions": ("num_actions", np.int32), "action_features": ("num_actions", np.float32),
           "policy": ("num_actions", np.float32), "toward_best": ("num_actions", np.bool_),
           "toward_truth": ("num_actions", np.bool_), "entries": ("num_entries", np.int16)}


@dataclasses.dataclass(frozen=True, eq=False)
class Sample:
    """One training sample: a state's features, its species flags and stoichiometry, and the targets.

    Attributes
    ----------
    features : StateFeatures
    latent : bool [S]
    reactants, products : int [R, S]
    policy : float32 [A]
        Visit distribution over ``features.actions`` (for a demonstration: uniform over the true edits).
    toward_best, toward_truth : bool [A]
        Actions toward the best network the search found / toward the true network.
    outcome : float
        Best reward found at or below the state.
    visits : int
        Visits of the node's edges (0 for a demonstration).
    source : int
        0 search node, 1 demonstration.
    """

    features: StateFeatures
    latent: np.ndarray
    reactants: np.ndarray
    products: np.ndarray
    policy: np.ndarray
    toward_best: np.ndarray
    toward_truth: np.ndarray
    outcome: float
    visits: int = 0
    source: int = 0


@dataclasses.dataclass(frozen=True)
class TaskRecord:
    """Summary of one self-play game (a row of ``tasks/``)."""

    iteration: int
    game: int
    seed: str
    key: str
    crn: str
    species: str
    num_latent: int
    noise: float
    num_fits: int
    fits_to_truth: int
    best_reward: float
    truth_reward: float
    best_key: str


@dataclasses.dataclass(frozen=True, eq=False)
class SampleStore:
    """Samples loaded in memory as flat arrays (the HDF5 layout) with row offsets, for training.

    ``arrays`` maps every ``samples/`` field and ragged table to its array; ``offsets[count_field]`` is
    int64 [N + 1].
    """

    arrays: dict[str, np.ndarray]
    offsets: dict[str, np.ndarray]

    def __len__(self) -> int:
        return int(len(self.arrays["outcome"]))

    def rows(self, table: str, index: int) -> np.ndarray:
        count_field = _RAGGED[table][0]
        if count_field is None:
            return self.arrays[table][index]
        start, stop = self.offsets[count_field][index], self.offsets[count_field][index + 1]
        return self.arrays[table][start:stop]

    def features(self, index: int) -> StateFeatures:
        """The ``StateFeatures`` of sample ``index``."""
        return StateFeatures(
            species=self.rows("species", index), reactions=self.rows("reactions", index),
            edges=self.rows("edges", index).astype(np.int32), graph=self.rows("graph", index),
            actions=self.rows("actions", index).astype(np.int64),
            action_features=self.rows("action_features", index), entries=self.rows("entries", index).astype(np.int32))


class ReplayBuffer:
    """An HDF5 file of self-play samples that grows by appending (layout: module docstring).

    Parameters
    ----------
    path : str or PathLike
        Created when missing; otherwise opened, checked (schema and feature versions), and repaired if a
        kill interrupted an append.
    config : dict, optional
        Written to the ``config`` attribute of a new file (JSON); compared with an existing file's and
        a warning is logged when they differ.
    seed : int, optional
        Entropy of the run's seed, written to a new file.
    feature_sizes : dict, optional
        ``{"species": F_s, "reactions": F_r, "graph": F_g, "action_features": F_a}`` for a new file.
    read_only : bool
        Open an existing file for reading only (checked, never repaired nor appended to), so that many
        processes can read it at once.
    """

    def __init__(self, path: str | os.PathLike, *, config: dict | None = None, seed: int | None = None,
                 feature_sizes: dict[str, int] | None = None, read_only: bool = False) -> None:
        self.path = os.fspath(path)
        if read_only:
            # many processes may read at once: no write access (HDF5 locks a file opened for writing)
            with h5py.File(self.path, "r") as f:
                self._check_versions(f)
            return
        if not os.path.exists(self.path):
            if feature_sizes is None:
                raise ValueError(f"{self.path}: a new replay buffer needs feature_sizes")
            self._create(config or {}, seed, feature_sizes)
        self._check_and_repair(config)

    # ------------------------------------------------------------------ file
    def _create(self, config: dict, seed: int | None, sizes: dict[str, int]) -> None:
        temporary = self.path + ".tmp"
        with h5py.File(temporary, "w") as f:
            f.attrs["schema_version"] = SCHEMA_VERSION
            f.attrs["feature_version"] = FEATURE_VERSION
            f.attrs["package_version"] = __version__
            f.attrs["seed"] = str(seed if seed is not None else "")
            f.attrs["config"] = json.dumps(config, sort_keys=True)
            f.attrs["created"] = time.strftime("%Y-%m-%dT%H:%M:%S")
            tasks = f.create_group("tasks")
            for name, dtype in _TASK_FIELDS.items():
                tasks.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(256,))
            samples = f.create_group("samples")
            for name, dtype in _SAMPLE_FIELDS.items():
                samples.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(1024,))
            widths = {"species": sizes["species"], "reactions": sizes["reactions"], "graph": sizes["graph"],
                      "action_features": sizes["action_features"], "edges": 4, "entries": 4,
                      "reactants": MAX_SPECIES, "products": MAX_SPECIES}
            ragged = f.create_group("ragged")
            for name, (_, dtype) in _RAGGED.items():
                width = widths.get(name)
                shape = (0,) if width is None else (0, width)
                maxshape = (None,) if width is None else (None, width)
                chunks = (4096,) if width is None else (max(1, 65536 // (width * 4)), width)
                ragged.create_dataset(name, shape=shape, maxshape=maxshape, dtype=dtype, chunks=chunks,
                                      compression="gzip", compression_opts=1)
        os.replace(temporary, self.path)

    def _check_versions(self, f: h5py.File) -> None:
        version = f.attrs.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"{self.path}: replay schema_version {version}, expected {SCHEMA_VERSION}")
        if f.attrs.get("feature_version") != FEATURE_VERSION:
            raise ValueError(f"{self.path}: replay feature_version {f.attrs.get('feature_version')}, "
                             f"this package has {FEATURE_VERSION}")

    def _check_and_repair(self, config: dict | None) -> None:
        with h5py.File(self.path, "a") as f:
            self._check_versions(f)
            if config is not None and json.loads(f.attrs["config"]) != json.loads(json.dumps(config)):
                logger.warning("%s: written with another configuration; appending anyway", self.path)
            samples = f["samples"]
            num = min(len(samples[name]) for name in _SAMPLE_FIELDS)
            num_tasks = min(len(f["tasks"][name]) for name in _TASK_FIELDS)
            if num:
                # samples whose task row was never written belong to an interrupted append
                task = samples["task"][:num]
                num = int(np.searchsorted(task, num_tasks, side="left")) if task[-1] >= num_tasks else num
            for name in _SAMPLE_FIELDS:
                samples[name].resize((num,) + samples[name].shape[1:])
            for name in _TASK_FIELDS:
                f["tasks"][name].resize((num_tasks,))
            for name, (count_field, _) in _RAGGED.items():
                total = num if count_field is None else int(samples[count_field][:num].sum(dtype=np.int64))
                data = f["ragged"][name]
                if len(data) < total:
                    raise ValueError(f"{self.path}: ragged table {name} has {len(data)} rows, the samples "
                                     f"need {total}; the file is damaged")
                if len(data) > total:
                    logger.warning("%s: dropping %d rows of %s left by an interrupted append", self.path,
                                   len(data) - total, name)
                    data.resize((total,) + data.shape[1:])

    # ------------------------------------------------------------------ reading
    @property
    def attrs(self) -> dict[str, Any]:
        with h5py.File(self.path, "r") as f:
            return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}

    def __len__(self) -> int:
        with h5py.File(self.path, "r") as f:
            return int(len(f["samples/outcome"]))

    @property
    def num_tasks(self) -> int:
        with h5py.File(self.path, "r") as f:
            return int(len(f["tasks/iteration"]))

    def tasks(self) -> list[TaskRecord]:
        """Every game's summary, in order."""
        with h5py.File(self.path, "r") as f:
            columns = {}
            for name in _TASK_FIELDS:
                data = f["tasks"][name][()]
                if data.dtype.kind == "O":
                    data = [v.decode() if isinstance(v, bytes) else str(v) for v in data]
                columns[name] = data
        count = len(columns["iteration"])
        return [TaskRecord(**{name: (columns[name][i] if isinstance(columns[name], list) else columns[name][i].item())
                              for name in _TASK_FIELDS}) for i in range(count)]

    def load(self, last: int | None = None) -> SampleStore:
        """The newest ``last`` samples (all by default) in memory."""
        with h5py.File(self.path, "r") as f:
            samples = f["samples"]
            total = len(samples["outcome"])
            first = 0 if last is None else max(0, total - last)
            arrays = {name: samples[name][first:] for name in _SAMPLE_FIELDS}
            before = {name: int(samples[name][:first].sum(dtype=np.int64)) for name in
                      ("num_species", "num_reactions", "num_edges", "num_actions", "num_entries")}
            offsets = {name: np.concatenate([[0], np.cumsum(arrays[name], dtype=np.int64)]) for name in before}
            for table, (count_field, _) in _RAGGED.items():
                data = f["ragged"][table]
                if count_field is None:
                    arrays[table] = data[first:total]
                else:
                    start = before[count_field]
                    arrays[table] = data[start:start + int(offsets[count_field][-1])]
        return SampleStore(arrays, offsets)

    # ------------------------------------------------------------------ writing
    def append(self, task: TaskRecord, samples: Sequence[Sample]) -> None:
        """Append one game: its samples, then its task row (the commit point)."""
        with h5py.File(self.path, "a") as f:
            task_index = len(f["tasks/iteration"])
            rows: dict[str, list[np.ndarray]] = {name: [] for name in _RAGGED}
            meta: dict[str, list] = {name: [] for name in _SAMPLE_FIELDS}
            for sample in samples:
                feats = sample.features
                num_species = feats.species.shape[0]
                if num_species > MAX_SPECIES:
                    raise ValueError(f"a state with {num_species} species exceeds the replay's {MAX_SPECIES}")
                pad = np.zeros((sample.reactants.shape[0], MAX_SPECIES), dtype=np.int8)
                reactants, products = pad.copy(), pad.copy()
                reactants[:, :num_species] = sample.reactants
                products[:, :num_species] = sample.products
                pieces = {"species": feats.species, "latent": np.asarray(sample.latent, bool),
                          "reactions": feats.reactions, "reactants": reactants, "products": products,
                          "edges": feats.edges, "graph": feats.graph[None, :], "actions": feats.actions,
                          "action_features": feats.action_features, "policy": sample.policy,
                          "toward_best": sample.toward_best, "toward_truth": sample.toward_truth,
                          "entries": feats.entries}
                for name, value in pieces.items():
                    rows[name].append(np.asarray(value, dtype=_RAGGED[name][1]))
                meta["task"].append(task_index)
                meta["source"].append(sample.source)
                meta["outcome"].append(sample.outcome)
                meta["visits"].append(sample.visits)
                meta["num_species"].append(num_species)
                meta["num_reactions"].append(feats.reactions.shape[0])
                meta["num_edges"].append(feats.edges.shape[0])
                meta["num_actions"].append(feats.actions.shape[0])
                meta["num_entries"].append(feats.entries.shape[0])
            for name, pieces in rows.items():
                if pieces:
                    _extend(f["ragged"][name], np.concatenate(pieces))
            for name, values in meta.items():
                _extend(f["samples"][name], np.asarray(values, dtype=_SAMPLE_FIELDS[name]))
            for name in _TASK_FIELDS:
                value = getattr(task, name)
                _extend(f["tasks"][name], np.array([value], dtype=object if _TASK_FIELDS[name] is _STR
                                                   else _TASK_FIELDS[name]))
            f.flush()


def _extend(dataset, values: np.ndarray) -> None:
    if len(values) == 0:
        return
    start = dataset.shape[0]
    dataset.resize((start + len(values),) + dataset.shape[1:])
    dataset[start:] = values
