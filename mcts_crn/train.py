"""``python -m mcts_crn.train --out RUN``: train the GNN prior by self-play (``mcts_crn.learn.loop``).

Prints one line per iteration (games, recovery of the true network in self-play, losses, games per hour)
with progress bars while it works; ``--resume`` continues a killed or finished run (with a larger
``--iterations``).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mcts_crn.train",
                                     description="Train the learned prior of the structure search by self-play.")
    parser.add_argument("--out", type=Path, required=True, metavar="RUN", help="run folder (created)")
    parser.add_argument("--iterations", type=int, default=None, help="iterations in all (default 8)")
    parser.add_argument("--games-per-iteration", type=int, default=None, metavar="G",
                        help="self-play games per iteration (default 40)")
    parser.add_argument("--demonstration-tasks", type=int, default=None, metavar="D",
                        help="tasks per iteration stored as their true build paths only, without a search "
                             "(default 0)")
    parser.add_argument("--workers", type=int, default=None, metavar="W",
                        help="processes playing games (default 1: in process)")
    parser.add_argument("--simulations", type=int, default=None, metavar="N",
                        help="tree simulations per self-play search (default 60)")
    parser.add_argument("--steps", type=int, default=None, metavar="N",
                        help="training steps per iteration (default 200)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out (its stored settings, changed by the options given here)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="device of the training steps")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import torch

    from mcts_crn.config import TrainConfig
    from mcts_crn.learn.loop import run_training

    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda but torch sees no CUDA device", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    changes = {name: value for name, value in (
        ("iterations", args.iterations), ("games_per_iteration", args.games_per_iteration),
        ("demonstration_tasks", args.demonstration_tasks),
        ("workers", args.workers), ("simulations", args.simulations), ("steps_per_iteration", args.steps))
        if value is not None}

    def report(entry: dict) -> None:
        print(f"iteration {entry['iteration']}: {entry['games']} games ({entry['games_per_hour']:.0f}/h), "
              f"true network reached in {entry['recovered']}/{entry['games']} "
              f"(median {entry['median_fits_to_truth']:.0f} fits), "
              + (f"{entry['demonstration_tasks']} demonstration tasks ({entry['demonstration_seconds']:.0f}s), "
                 if entry.get("demonstration_tasks") else "")
              + f"{entry['replay_samples']} samples, "
              f"loss {entry['loss']:.3f} (policy {entry['policy_loss']:.3f}, value {entry['value_loss']:.4f}), "
              f"{entry['selfplay_seconds']:.0f}s play + {entry['train_seconds']:.0f}s train", flush=True)

    history = run_training(args.out, train_config=TrainConfig(), seed=args.seed, resume=args.resume,
                           overrides=changes, device=args.device,
                           progress=False if args.quiet else None, callback=report)
    print(f"done: {len(history)} iterations; newest checkpoint {args.out / 'checkpoint.pt'}")
    return 0


if __name__ == "__main__":
    from mcts_crn.cli import run

    run(main)
