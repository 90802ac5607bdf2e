"""The self-play training loop: games -> replay buffer -> training steps -> checkpoint, resumable.

A run folder holds

``config.json``              the model, task and train configs and the seed;
``replay.h5``                the replay buffer (``mcts_crn.learn.replay``), appended game by game;
``checkpoint.pt``            the newest checkpoint: model state_dict and config, optimizer state, iteration
                             count, history (``mcts_crn.model.checkpoint``);
``checkpoints/iter_NNNN.pt`` the model after iteration N (``iter_0000.pt``: before any training), for
                             learning curves;
``history.json``             one entry per iteration (games, recovery in self-play, losses, timings).

Iteration i (1-based) plays ``games_per_iteration`` games with the model of iteration i - 1 and stores the
true build paths of ``demonstration_tasks`` more tasks (no search; their records have ``num_fits`` 0), trains
``steps_per_iteration`` Adam steps on the newest ``replay_window`` samples and writes the checkpoints. A
killed run resumes (``resume=True``) from its newest checkpoint; games and demonstration tasks of the
interrupted iteration that were already appended are not played again.

Seeds: one ``SeedSequence(seed)``; game g of iteration i uses the child key ``(0, i, g)`` (task
``+ (0,)``, search ``+ (1,)``), demonstration task j of iteration i ``(4, i, j)`` (the same children), the
minibatches of iteration i ``(1, i)``, the model's initial weights ``(2,)``. Held-out evaluation tasks use
``(3, j)`` of another seed (``experiments/learning_curve.py``).
"""
from __future__ import annotations

import json
import logging
import math
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from mcts_crn.config import ModelConfig, TaskConfig, TrainConfig
from mcts_crn.learn.replay import ReplayBuffer
from mcts_crn.learn.selfplay import demonstrate, play_game
from mcts_crn.learn.tasks import generate_task
from mcts_crn.learn.training import make_batch, make_optimizer, train_step, usable
from mcts_crn.model.checkpoint import load_model, read_checkpoint, save_checkpoint
from mcts_crn.model.features import (
    action_feature_size,
    graph_feature_size,
    reaction_feature_size,
    species_feature_size,
)
from mcts_crn.model.gnn import CrnGnn

logger = logging.getLogger(__name__)

GAME_KEY, BATCH_KEY, INIT_KEY, EVAL_KEY, DEMO_KEY = 0, 1, 2, 3, 4


def game_seed(seed: int, iteration: int, game: int) -> np.random.SeedSequence:
    """The seed of game ``game`` of iteration ``iteration`` (1-based) of a run with ``seed``."""
    return np.random.SeedSequence(seed, spawn_key=(GAME_KEY, iteration, game))


def demonstration_seed(seed: int, iteration: int, task: int) -> np.random.SeedSequence:
    """The seed of demonstration task ``task`` of iteration ``iteration`` (``game_task`` builds its task)."""
    return np.random.SeedSequence(seed, spawn_key=(DEMO_KEY, iteration, task))


def game_task(game_key: np.random.SeedSequence, task_config: TaskConfig):
    """The task of the game with seed ``game_key`` (``game_seed``): its child ``(0,)``; the search uses ``(1,)``.
    ``game_task(game_seed(seed, i, g), config)`` rebuilds any task a run played, without its replay buffer."""
    return generate_task(np.random.SeedSequence(game_key.entropy, spawn_key=game_key.spawn_key + (0,)),
                         config=task_config)


def feature_sizes(config: ModelConfig) -> dict[str, int]:
    return {"species": species_feature_size(config), "reactions": reaction_feature_size(config),
            "graph": graph_feature_size(config), "action_features": action_feature_size(config)}


def initial_model(config: ModelConfig, seed: int) -> CrnGnn:
    """A fresh model whose weights depend on ``seed`` only (torch's global generator is restored after)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(np.random.SeedSequence(seed, spawn_key=(INIT_KEY,)).generate_state(1)[0]))
        return CrnGnn(config)


# ---------------------------------------------------------------------------------------------- games
_WORKER_MODELS: dict[str, CrnGnn] = {}


def _init_worker() -> None:
    torch.set_num_threads(1)


def _play_job(job: dict[str, Any]):
    """One game in a worker (or in process): the job holds plain values only."""
    path = job["checkpoint"]
    model = job.get("model")
    if model is None:
        model = _WORKER_MODELS.get(path)
        if model is None:
            _WORKER_MODELS.clear()
            model = _WORKER_MODELS[path] = load_model(path)
    train_config = TrainConfig.from_dict(job["train_config"])
    task_config = TaskConfig.from_dict(job["task_config"])
    seed = np.random.SeedSequence(job["seed"], spawn_key=tuple(job["spawn_key"]))
    task = game_task(seed, task_config)
    start = time.perf_counter()
    record, samples = (demonstrate if job.get("demonstration") else play_game)(
        task, model, config=train_config, task_config=task_config, iteration=job["iteration"], game=job["game"],
        rng=np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key + (1,)))
    return record, samples, time.perf_counter() - start


def _progress_bar(show: bool, **kwargs):
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(**kwargs)


# ---------------------------------------------------------------------------------------------- run
def _write_json(path: Path, value: Any) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(value, indent=2, sort_keys=True))
    os.replace(temporary, path)


def run_training(out: str | os.PathLike, *, train_config: TrainConfig | None = None,
                 model_config: ModelConfig | None = None, task_config: TaskConfig | None = None,
                 seed: int = 0, resume: bool = False, overrides: dict[str, Any] | None = None,
                 device: str = "cpu", progress: bool | None = None,
                 callback: Callable[[dict], None] | None = None) -> list[dict[str, Any]]:
    """Train the GNN prior by self-play (the module docstring describes the run folder and the seeds).

    Parameters
    ----------
    out : path
        The run folder (created).
    train_config, model_config, task_config : optional
        For a new run (a resumed run keeps the configs of its checkpoint).
    seed : int
        The run's one seed (a resumed run keeps its own).
    resume : bool
        Continue the run in ``out``; without it an existing run there is an error. Without a checkpoint
        in ``out`` a new run starts.
    overrides : dict, optional
        ``TrainConfig`` fields to change, applied on top of ``train_config`` or, when resuming, of the
        stored one (for example ``{"iterations": 20, "workers": 2}``).
    device : str
        Torch device of the training steps (self-play runs on the CPU).
    progress : bool, optional
        tqdm bars over games and steps; default on when stderr is a terminal.
    callback : callable, optional
        Called with each iteration's history entry.

    Returns
    -------
    list of dict
        The history: one entry per iteration.
    """
    out = Path(out)
    latest = out / "checkpoint.pt"
    show = sys.stderr.isatty() if progress is None else progress
    if latest.exists() and not resume:
        raise ValueError(f"{out} already holds a run; pass resume=True (--resume) to continue it")
    if resume and latest.exists():
        payload = read_checkpoint(latest)
        train_config = TrainConfig.from_dict(json.loads(payload["train_config"]))
        task_config = TaskConfig.from_dict(json.loads(payload["task_config"]))
        seed = int(payload["seed"])
        model = load_model(latest)
        model_config = model.config
        start_iteration = int(payload["iteration"])
        history = json.loads(payload["history"])
        optimizer_state = payload["optimizer"]
        logger.info("resuming %s after iteration %d", out, start_iteration)
    else:
        train_config = TrainConfig() if train_config is None else train_config
        model_config = ModelConfig() if model_config is None else model_config
        task_config = TaskConfig() if task_config is None else task_config
        model = initial_model(model_config, seed)
        start_iteration, history, optimizer_state = 0, [], None
    if overrides:
        train_config = TrainConfig.from_dict({**train_config.to_dict(), **overrides})
    out.mkdir(parents=True, exist_ok=True)
    (out / "checkpoints").mkdir(exist_ok=True)
    configs = {"model": model_config.to_dict(), "task": task_config.to_dict(), "train": train_config.to_dict(),
               "seed": seed}
    _write_json(out / "config.json", configs)
    replay = ReplayBuffer(out / "replay.h5", config={k: v for k, v in configs.items() if k != "train"}, seed=seed,
                          feature_sizes=feature_sizes(model_config))
    model.to(device)
    optimizer = make_optimizer(model, train_config)
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)

    def save(iteration: int) -> Path:
        extra = {"iteration": iteration, "optimizer": optimizer.state_dict(), "seed": seed,
                 "train_config": json.dumps(train_config.to_dict()), "task_config": json.dumps(task_config.to_dict()),
                 "history": json.dumps(history)}
        snapshot = out / "checkpoints" / f"iter_{iteration:04d}.pt"
        save_checkpoint(snapshot, model, **extra)
        save_checkpoint(latest, model, **extra)
        return snapshot

    if start_iteration == 0 and not (out / "checkpoints" / "iter_0000.pt").exists():
        save(0)
    pool = None
    if train_config.workers > 1 and train_config.games_per_iteration + train_config.demonstration_tasks > 0:
        pool = multiprocessing.get_context("spawn").Pool(train_config.workers, initializer=_init_worker)
    try:
        for iteration in range(start_iteration + 1, train_config.iterations + 1):
            entry = _iteration(iteration, model, optimizer, replay, out, seed, train_config, task_config,
                               device, pool, show)
            history.append(entry)
            save(iteration)
            _write_json(out / "history.json", history)
            logger.info("iteration %d: %s", iteration, entry)
            if callback is not None:
                callback(entry)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    return history


def _iteration(iteration: int, model: CrnGnn, optimizer, replay: ReplayBuffer, out: Path, seed: int,
               train_config: TrainConfig, task_config: TaskConfig, device: str, pool, show: bool) -> dict[str, Any]:
    checkpoint = str(out / "checkpoints" / f"iter_{iteration - 1:04d}.pt")
    # games and demonstration tasks of this iteration already appended (a resumed run): a game's record has
    # fits, a demonstration's none
    done = {(record.num_fits == 0, record.game) for record in replay.tasks() if record.iteration == iteration}

    def jobs_of(count: int, demonstration: bool, seed_of: Callable) -> list[dict[str, Any]]:
        jobs = []
        for game in range(count):
            if (demonstration, game) in done:
                continue
            key = seed_of(seed, iteration, game)
            jobs.append({"checkpoint": checkpoint, "iteration": iteration, "game": game, "seed": key.entropy,
                         "spawn_key": list(key.spawn_key), "train_config": train_config.to_dict(),
                         "task_config": task_config.to_dict(), "demonstration": demonstration})
        return jobs

    def run_jobs(jobs: list[dict[str, Any]], what: str, chunksize: int) -> tuple[list, list[float], int, float]:
        start = time.perf_counter()
        bar = _progress_bar(show and bool(jobs), total=len(jobs), desc=f"iteration {iteration} {what}",
                            unit="task", leave=False)
        records, seconds_each, num_samples = [], [], 0
        if pool is None:
            model.to("cpu")
            results = (_play_job(dict(job, model=model)) for job in jobs)
        else:
            results = pool.imap_unordered(_play_job, jobs, chunksize=chunksize)
        for record, samples, seconds in results:
            replay.append(record, samples)
            records.append(record)
            seconds_each.append(seconds)
            num_samples += len(samples)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        return records, seconds_each, num_samples, time.perf_counter() - start

    records, game_seconds, num_samples, play_time = run_jobs(
        jobs_of(train_config.games_per_iteration, False, game_seed), "self-play", 1)
    demos, _, demo_samples, demo_time = run_jobs(
        jobs_of(train_config.demonstration_tasks, True, demonstration_seed), "demonstrations", 8)  # short jobs
    model.to(device)

    start = time.perf_counter()
    losses = []
    if train_config.steps_per_iteration > 0:
        store = replay.load(train_config.replay_window)
        candidates = usable(store, train_config)
        if len(candidates):
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(BATCH_KEY, iteration)))
            bar = _progress_bar(show, total=train_config.steps_per_iteration, desc=f"iteration {iteration} training",
                                unit="step", leave=False)
            for _ in range(train_config.steps_per_iteration):
                indices = rng.choice(candidates, size=min(train_config.batch_size, len(candidates)), replace=False)
                batch, policy, value = make_batch(store, indices, train_config)
                losses.append(train_step(model, optimizer, batch, policy, value, config=train_config, device=device))
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{losses[-1]['loss']:.3f}")
            if bar is not None:
                bar.close()
    train_time = time.perf_counter() - start
    reached = [r.fits_to_truth for r in records if r.fits_to_truth > 0]

    def mean(key: str) -> float:
        return float(np.mean([l[key] for l in losses])) if losses else math.nan

    return {"iteration": iteration, "games": len(records), "samples": num_samples,
            "demonstration_tasks": len(demos), "demonstration_samples": demo_samples,
            "demonstration_seconds": demo_time, "replay_samples": len(replay),
            "recovered": len(reached), "median_fits_to_truth": float(np.median(reached)) if reached else math.nan,
            "loss": mean("loss"), "policy_loss": mean("policy"), "value_loss": mean("value"),
            "selfplay_seconds": play_time, "train_seconds": train_time,
            "games_per_hour": len(records) / play_time * 3600 if records and play_time > 0 else math.nan,
            "mean_game_seconds": float(np.mean(game_seconds)) if game_seconds else math.nan}
