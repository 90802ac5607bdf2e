"""Model checkpoints: a state_dict plus the configuration that built it, in a ``torch.save`` file.

Layout (a dict of plain values and tensors, read back with ``torch.load(weights_only=True)`` so no
arbitrary object is unpickled): ``format``, ``schema_version``, ``feature_version``, ``package_version``,
``model_config`` (JSON), ``state_dict``, and whatever the trainer adds (``iteration``, ``optimizer``,
``train_config``, ``task_config``, ``seed``, ``history``: all plain values; ``export_checkpoint`` may add
``search_temperature`` and ``search_rollout_depth``).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from mcts_crn import __version__
from mcts_crn.config import ModelConfig
from mcts_crn.model.features import FEATURE_VERSION
from mcts_crn.model.gnn import CrnGnn

FORMAT = "mcts_crn.model"
SCHEMA_VERSION = 1


def save_checkpoint(path: str | os.PathLike, model: CrnGnn, **extra: Any) -> None:
    """Write ``model`` (state_dict and config) and ``extra`` plain values to ``path`` atomically.

    The file is written next to ``path`` and renamed over it, so a kill leaves the old or the new
    checkpoint, never half of one.
    """
    path = Path(path)
    payload = {"format": FORMAT, "schema_version": SCHEMA_VERSION, "feature_version": FEATURE_VERSION,
               "package_version": __version__, "model_config": json.dumps(model.config.to_dict()),
               "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}
    payload.update(extra)
    temporary = path.with_name(path.name + ".tmp")
    torch.save(payload, temporary)
    os.replace(temporary, path)


def read_checkpoint(path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The checkpoint's dict, checked for format and versions.

    Raises
    ------
    ValueError
        Naming the file, when it is not a model checkpoint or was written for other features.
    """
    payload = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{os.fspath(path)}: not an mcts_crn model checkpoint")
    if payload.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"{os.fspath(path)}: checkpoint schema_version {payload.get('schema_version')}, "
                         f"expected {SCHEMA_VERSION}")
    if payload.get("feature_version") != FEATURE_VERSION:
        raise ValueError(f"{os.fspath(path)}: checkpoint built for feature_version {payload.get('feature_version')}, "
                         f"this package has {FEATURE_VERSION}; retrain")
    return payload


def model_from(payload: dict[str, Any]) -> CrnGnn:
    """The ``CrnGnn`` of a checkpoint's dict (``read_checkpoint``), in eval mode."""
    model = CrnGnn(ModelConfig.from_dict(json.loads(payload["model_config"])))
    model.load_state_dict(payload["state_dict"])
    return model.eval()


def load_model(path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> CrnGnn:
    """The ``CrnGnn`` stored in a checkpoint, in eval mode."""
    return model_from(read_checkpoint(path, map_location=map_location))


def export_checkpoint(source: str | os.PathLike, destination: str | os.PathLike, *,
                      search_temperature: float | None = None, search_rollout_depth: int | None = None) -> None:
    """Copy a training checkpoint without its optimizer state (what the package ships as ``default.pt``).

    The iteration count, seed, configs and history are kept so the shipped model says how it was made.
    How its prior is meant to be searched with, each kept from ``source`` when not given:
    ``search_temperature``, which ``load_evaluator`` divides the logits by unless told otherwise, and
    ``search_rollout_depth``, the playout depth (``SearchConfig.rollout_depth``) that ``--prior learned``
    searches with (0: the value head alone judges a new leaf).
    """
    payload = read_checkpoint(source)
    keep = {k: payload[k] for k in ("iteration", "seed", "train_config", "task_config", "history",
                                    "search_temperature", "search_rollout_depth") if k in payload}
    if search_temperature is not None:
        if not search_temperature > 0:
            raise ValueError(f"search_temperature must be > 0, got {search_temperature}")
        keep["search_temperature"] = float(search_temperature)
    if search_rollout_depth is not None:
        if search_rollout_depth < 0:
            raise ValueError(f"search_rollout_depth must be >= 0, got {search_rollout_depth}")
        keep["search_rollout_depth"] = int(search_rollout_depth)
    save_checkpoint(destination, model_from(payload), **keep)
