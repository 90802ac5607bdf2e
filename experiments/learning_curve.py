"""Learning curve of the learned prior on held-out generated tasks, against the uniform and heuristic priors.

For N held-out tasks (generated from their own seed, disjoint from every training task of the run: the
keys in RUN/replay.h5 are excluded) and each prior (uniform, the score-test heuristic, and the learned
model at each saved checkpoint), run one search per task with a budget of ``--simulations`` (or of
``--max-fits``: the same cost for every prior, whatever fits it makes per simulation) and record when the
true network is first fitted. Prints a table and saves a plot and the raw results under
``--out`` (default experiments/out/learning_curve/).

    python experiments/learning_curve.py --run RUN [--tasks 30] [--simulations 300 | --max-fits N] [--workers 2]
                                         [--checkpoints all|last|0,5,10] [--priors uniform,heuristic,learned]
                                         [--temperature 1[,2,...]] [--rollout-depth 0[,1,...]]
                                         [--disjoint-from SEED[:N]] [--select]

Results are appended to OUT/results.jsonl as they come; a rerun with the same settings skips the searches
already done (so a long study can be stopped and continued), and leaves out stored results whose task is
no longer the one drawn (a run that trained on more tasks since can change the held-out set).

Choosing the checkpoint to ship without looking at the test tasks: run the checkpoints on a validation
set, another seed's tasks kept disjoint from the test set (``--seed 7 --disjoint-from 2024:30 --select``),
take the one ``--select`` names (most recovered, then fewest median fits among the recovered; also
written to OUT/selected.json), then choose its temperature the same way (``--checkpoints N --temperature
0.5,1,2 --select``), then the playout depth of its searches (``--temperature T --rollout-depth 0,1,2
--select``), and report the test set (``--seed 2024``) for that choice. A learned prior without
``--rollout-depth`` is searched with its checkpoint's ``search_rollout_depth`` (``export_checkpoint``) where
it has one, as ``--prior learned`` would.

Metrics per prior: recovery rate (the true network fitted within the budget), the median number of fits
until it was first fitted with unrecovered tasks counted as infinitely many (a censored median:
"unreached" when half or more are unrecovered), and the median among recovered tasks only. The table also
gives the run's self-play record (games per hour; games that reached the true network, per iteration), from
RUN/history.json or, for a run kept without it, its latest checkpoint; the plot shows that record beside the
held-out recovery rate.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

EVAL_KEY, SEARCH_KEY = 3, 4


def held_out_tasks(run: Path, num_tasks: int, seed: int, disjoint_from: tuple[tuple[int, int], ...] = (),
                   training_games: tuple[int, int] | None = None):
    """The ``num_tasks`` held-out tasks of ``seed``: none has the key of a training task of ``run`` (the keys in
    its replay buffer) or of a task of the held-out sets ``disjoint_from`` ((seed, count) pairs, for example
    the test set when this one validates a choice of checkpoint).

    ``training_games`` (iterations, games per iteration) rebuilds the training tasks from the run's seed and
    task settings instead of reading them from the replay buffer, for a run kept without it (its checkpoints
    and config.json only): every game of iterations 1 to ``iterations``, as ``mcts_crn.learn.loop`` drew them."""
    from mcts_crn.config import TaskConfig
    from mcts_crn.learn.loop import demonstration_seed, game_seed, game_task
    from mcts_crn.learn.replay import ReplayBuffer
    from mcts_crn.learn.tasks import generate_task

    config = json.loads((run / "config.json").read_text())
    task_config = TaskConfig.from_dict(config["task"])
    replay = run / "replay.h5"
    if training_games is not None:
        iterations, games = training_games
        demonstrations = config["train"].get("demonstration_tasks", 0)
        training = {game_task(seed_of(config["seed"], i, g), task_config).key
                    for i in range(1, iterations + 1)
                    for seed_of, count in ((game_seed, games), (demonstration_seed, demonstrations))
                    for g in range(count)}
    elif replay.exists():
        training = {t.key for t in ReplayBuffer(replay, read_only=True).tasks()}
    else:
        training = set()

    def draw(seed: int, count: int, exclude: set[str]) -> list:
        tasks, keys = [], set()
        for j in range(count):
            task = generate_task(np.random.SeedSequence(seed, spawn_key=(EVAL_KEY, j)), config=task_config,
                                 exclude=exclude | keys)
            keys.add(task.key)
            tasks.append(task)
        return tasks

    other = {t.key for other_seed, count in disjoint_from for t in draw(other_seed, count, training)}
    return draw(seed, num_tasks, training | other), task_config, config["train"], len(training)


_TASKS = None


def _init(run: str, num_tasks: int, seed: int, disjoint_from: tuple[tuple[int, int], ...],
          training_games: tuple[int, int] | None) -> None:
    """A worker: one torch thread, and the held-out tasks drawn again in it (cheaper than sending them)."""
    import torch

    torch.set_num_threads(1)
    global _TASKS
    _TASKS = held_out_tasks(Path(run), num_tasks, seed, disjoint_from, training_games)


def _search(job: dict) -> dict:
    from mcts_crn.config import SearchConfig
    from mcts_crn.search import ScoreTestEvaluator, UniformEvaluator, run_search, search_settings

    tasks, task_config, train_config, _ = _TASKS
    task = tasks[job["task"]]
    if job["prior"] == "uniform":
        evaluator = UniformEvaluator()
    elif job["prior"] == "heuristic":
        evaluator = ScoreTestEvaluator()
    else:
        from mcts_crn.model import load_evaluator

        evaluator = load_evaluator(job["checkpoint"], temperature=job.get("temperature", 1.0),
                                   use_value=job.get("use_value"))
    # the checkpoint's settings (as --prior learned), then this job's playout depth and --search settings
    settings = {**search_settings(evaluator),
                **({"rollout_depth": job["rollout_depth"]} if "rollout_depth" in job else {}), **job.get("search", {})}
    config = SearchConfig(num_simulations=job["simulations"], max_fits=job.get("max_fits"),
                          max_latent=task.num_latent, max_order=task_config.max_order,
                          max_reactions=task.num_reactions + train_config["extra_reactions"], top_k=0, **settings)
    start = time.perf_counter()
    result = run_search(task.dataset, config=config, evaluator=evaluator,
                        rng=np.random.SeedSequence(job["seed"], spawn_key=(SEARCH_KEY, job["task"])), progress=False)
    fits_to_truth = next((row["fit_calls"] for row in result.trace if row["key"] == task.key), 0)
    if job.get("max_fits") is not None and fits_to_truth > job["max_fits"]:
        fits_to_truth = 0  # reached in the last step's overshoot of the budget: not within it
    return dict(job, key=task.key, fits_to_truth=fits_to_truth, num_fits=result.num_fit_calls,
                best_is_truth=result.best is not None and result.best.key == task.key,
                seconds=time.perf_counter() - start)


def summarize(rows: list[dict]) -> dict:
    """Recovery rate and medians of one prior's rows; an unrecovered task counts as infinitely many fits."""
    fits = np.array([r["fits_to_truth"] for r in rows], float)
    reached = fits[fits > 0]
    median = _censored_median(fits)
    return {"tasks": len(rows), "recovered": int(len(reached)), "recovery_rate": len(reached) / max(len(rows), 1),
            "median_fits": median, "censored": not math.isfinite(median),
            "median_fits_recovered": float(np.median(reached)) if len(reached) else math.nan,
            "mean_fits": float(np.mean([r["num_fits"] for r in rows])) if rows else math.nan,
            "best_is_truth": int(sum(r["best_is_truth"] for r in rows)),
            "seconds": float(np.sum([r["seconds"] for r in rows]))}


def _censored_median(fits: np.ndarray) -> float:
    """Median of fits to the truth with 0 (not recovered) counted as infinitely many."""
    return float(np.median(np.where(fits > 0, fits, np.inf))) if len(fits) else math.nan


def _ratios(fits: np.ndarray, base: np.ndarray, budget: float | None = None) -> tuple[float, int, float, int, float]:
    """``compare``'s paired ratio (and its number of tasks), at-k ratio (and k) and median ratio of matched fits
    to the truth (0: not recovered) of a prior and a baseline on the same tasks."""
    both = (fits > 0) & (base > 0)
    paired = float(np.exp(np.mean(np.log(base[both] / fits[both])))) if both.any() else math.nan
    reached, base_reached = np.sort(fits[fits > 0]), np.sort(base[base > 0])
    k = len(base_reached)
    at_k = float(base_reached[k - 1] / reached[k - 1]) if 0 < k <= len(reached) else math.nan
    median, base_median = _censored_median(fits), _censored_median(base)
    if not math.isfinite(median):
        by_median = math.nan
    elif math.isfinite(base_median):
        by_median = base_median / median
    else:  # the baseline's median lies beyond the budget: the ratio is at least budget / median
        by_median = budget / median if budget else math.nan
    return paired, int(both.sum()), at_k, k, by_median


def compare(rows: list[dict], baseline: list[dict], *, resamples: int = 2000, seed: int = 0,
            budget: float | None = None) -> dict:
    """How many times fewer fits a prior (``rows``) needs than a ``baseline`` prior on the same tasks.

    ``median``: the baseline's median fits to the truth over the prior's, each median over all tasks with an
    unrecovered task counted as infinitely many (the issue's measure). Where the baseline recovered half of the
    tasks or fewer its median lies beyond the ``budget`` (fits per search), and ``median`` is the lower bound
    ``budget / prior's median`` (``median_is_bound``; NaN without a budget); NaN where the prior's own median is
    unreached. ``paired``: geometric mean over the tasks both recovered of the baseline's fits to the truth
    over the prior's (``paired_tasks`` of them). ``at_k``: the fits by which the baseline has recovered its
    ``k`` tasks (its k-th smallest fits to the truth, ``k`` = how many it recovered) over the fits by which
    the prior has recovered as many (NaN when the prior recovered fewer): a quantile of the fits-to-truth
    distributions that counts every task, unrecovered ones as beyond the budget.

    ``median_ci``, ``paired_ci`` and ``at_k_ci``: 90% bootstrap intervals (5th and 95th percentiles of the
    ratio over ``resamples`` resamplings of the tasks with replacement, each task keeping its pair of results;
    a resample where a ratio is undefined is left out of that ratio's interval, one where the baseline's
    median is unreached counts at its lower bound): how much the ratios would move on another set of
    held-out tasks of the same size."""
    fits_of = {r["task"]: r["fits_to_truth"] for r in rows}
    base_of = {r["task"]: r["fits_to_truth"] for r in baseline}
    tasks = sorted(set(fits_of) & set(base_of))
    fits = np.array([fits_of[j] for j in tasks], dtype=float)
    base = np.array([base_of[j] for j in tasks], dtype=float)
    paired, paired_tasks, at_k, k, by_median = _ratios(fits, base, budget)
    rng = np.random.default_rng(seed)
    draws = [_ratios(fits[i], base[i], budget)
             for i in rng.integers(0, len(tasks), size=(resamples, len(tasks)))] if tasks else []

    def interval(values: list[float]) -> tuple[float, float]:
        values = [v for v in values if math.isfinite(v)]
        return (float(np.percentile(values, 5)), float(np.percentile(values, 95))) if values else (math.nan, math.nan)

    return {"median": by_median, "median_is_bound": not math.isfinite(_censored_median(base)),
            "paired": paired, "paired_tasks": paired_tasks, "at_k": at_k, "k": k,
            "median_ci": interval([d[4] for d in draws]), "paired_ci": interval([d[0] for d in draws]),
            "at_k_ci": interval([d[2] for d in draws])}


def training_history(run: Path) -> list[dict]:
    """The run's per-iteration self-play record (games, how many reached the true network, seconds):
    RUN/history.json, or, for a run kept without it, the history saved in its latest checkpoint."""
    history_path = run / "history.json"
    if history_path.exists():
        return json.loads(history_path.read_text())
    checkpoints = sorted((run / "checkpoints").glob("iter_*.pt"))
    if not checkpoints:
        return []
    from mcts_crn.model.checkpoint import read_checkpoint

    history = read_checkpoint(checkpoints[-1]).get("history")
    return json.loads(history) if isinstance(history, str) else list(history or [])


def self_play_line(history: list[dict]) -> str:
    """Per iteration, the self-play games that reached the true network (each iteration's games are new
    tasks, searched with the model of the iteration before)."""
    if not history:
        return "self-play: no history"
    return ("self-play games reaching the true network, per iteration: "
            + " ".join(f"{h['recovered']}/{h['games']}" for h in history))


def select_checkpoint(table: dict) -> str | None:
    """The learned prior to ship (checkpoint, temperature, playout depth), chosen on validation tasks by a
    rule fixed in advance: the most tasks recovered, ties broken by the lower median fits to the truth among
    the recovered ones."""
    learned = [(label, row) for label, row in table.items() if label.startswith("learned@")]
    if not learned:
        return None
    return min(learned, key=lambda item: (-item[1]["recovered"], item[1]["median_fits_recovered"]))[0]


def policy_check(run: Path, checkpoints: list[Path], num_tasks: int, seed: int) -> str:
    """How each prior ranks the true edits on the states along a build order of each held-out task's true
    network (one fit per state, no search): mean probability on the true edits, how often the top action
    is a true edit, and the mean rank of the best-ranked true edit (1 = top; uniform: expected values)."""
    import torch

    from mcts_crn.explain.learning import score_true_edits, true_path_states
    from mcts_crn.learn.tasks import task_space
    from mcts_crn.model import collate, load_model
    from mcts_crn.model.features import FeatureBuilder

    torch.set_num_threads(1)
    tasks, task_config, train_config, _ = held_out_tasks(run, num_tasks, seed)
    from mcts_crn.search import ScoreTestEvaluator

    models = {f"learned@{int(c.stem.split('_')[1])}": load_model(c) for c in checkpoints}
    stats = {i: {"mass": [], "top": [], "rank": []} for i in ["uniform", "heuristic", *models]}

    def record(name: str, p: np.ndarray, toward: np.ndarray) -> None:
        for metric, value in score_true_edits(p, toward).items():
            stats[name][metric].append(value)
    for j, task in enumerate(tasks):
        space = task_space(task, max_order=task_config.max_order, extra_reactions=train_config["extra_reactions"])
        builder = FeatureBuilder(task.dataset, space, next(iter(models.values())).config)
        heuristic = ScoreTestEvaluator().bind(task.dataset, space)
        for s in true_path_states(task.crn, task.dataset, space, np.random.default_rng(j)):
            toward, legal = s.toward, s.legal
            # uniform: ties ranked at their mean
            stats["uniform"]["mass"].append(toward.mean())
            stats["uniform"]["top"].append(toward.mean())
            stats["uniform"]["rank"].append((len(legal) + 1) / (toward.sum() + 1))
            logits = heuristic([s.crn], [s.fit], [legal])[0][0]
            record("heuristic", np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum(), toward)
            features = builder(s.crn, s.fit, legal)
            for name, model in models.items():
                with torch.no_grad():
                    record(name, model(collate([features])).log_policy.exp().numpy(), toward)
    lines = [f"policy on the true build path of {num_tasks} held-out tasks ({len(stats['uniform']['top'])} states)",
             f"{'prior':>12s} {'mass on true edits':>19s} {'top-1 true':>11s} {'mean rank':>10s}"]
    for name, row in stats.items():
        lines.append(f"{name:>12s} {np.mean(row['mass']):>19.3f} {np.mean(row['top']):>11.3f} "
                     f"{np.mean(row['rank']):>10.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="training run folder (python -m mcts_crn.train --out)")
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--simulations", type=int, default=300, help="search budget per task (default 300)")
    parser.add_argument("--max-fits", type=int, default=None, metavar="N",
                        help="search budget per task in fits, every fit counted, in place of --simulations")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the held-out tasks and the searches")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--checkpoints", default="all", help="all, last, or comma-separated iterations")
    parser.add_argument("--priors", default="uniform,heuristic,learned")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out" / "learning_curve")
    parser.add_argument("--only", default=None, help="comma-separated task indices (of the --tasks held-out ones)")
    parser.add_argument("--temperature", type=lambda v: [float(t) for t in v.split(",")], default=[1.0],
                        help="learned priors: logits / T, or several comma-separated (default 1)")
    parser.add_argument("--no-value", action="store_true", help="learned priors: no value estimate for the search")
    parser.add_argument("--rollout-depth", type=lambda v: [int(d) for d in v.split(",")], default=[None],
                        help="learned priors: playout depth of the search, or several comma-separated (default: "
                             "the checkpoint's search_rollout_depth, else SearchConfig's)")
    parser.add_argument("--search", action="append", default=[], metavar="NAME=VALUE",
                        help="a SearchConfig setting for every prior's searches (named in the labels), e.g. "
                             "polish_fraction=0.6; may be repeated")
    parser.add_argument("--disjoint-from", default=None, metavar="SEED[:N]",
                        help="also keep the tasks disjoint from the N held-out tasks of SEED (default N: --tasks), "
                             "for a validation set that must not overlap the test set")
    parser.add_argument("--training-games", default=None, metavar="ITERATIONS:GAMES",
                        help="for a run kept without its replay buffer: rebuild its training tasks (every game of "
                             "iterations 1 to ITERATIONS, GAMES each) to keep the held-out tasks disjoint from them")
    parser.add_argument("--select", action="store_true",
                        help="name the checkpoint (temperature, playout depth) to ship: most recovered, then "
                             "fewest median fits among the recovered")
    parser.add_argument("--policy-check", type=int, default=0, metavar="N",
                        help="only score the checkpoints' policies on the true build paths of N held-out tasks")
    args = parser.parse_args(argv)
    disjoint_from: tuple[tuple[int, int], ...] = ()
    if args.disjoint_from:
        other_seed, _, count = args.disjoint_from.partition(":")
        disjoint_from = ((int(other_seed), int(count) if count else args.tasks),)
    training_games = tuple(int(v) for v in args.training_games.split(":")) if args.training_games else None
    if training_games is not None and len(training_games) != 2:
        parser.error(f"--training-games {args.training_games}: expected ITERATIONS:GAMES")

    args.out.mkdir(parents=True, exist_ok=True)
    checkpoints = sorted((args.run / "checkpoints").glob("iter_*.pt"))
    if args.checkpoints == "last":
        checkpoints = checkpoints[-1:]
    elif args.checkpoints != "all":
        wanted = {int(v) for v in args.checkpoints.split(",")}
        checkpoints = [c for c in checkpoints if int(c.stem.split("_")[1]) in wanted]
    if args.policy_check:
        text = policy_check(args.run, checkpoints, args.policy_check, args.seed)
        print(text)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "policy_check.txt").write_text(text + "\n")
        return 0
    priors = args.priors.split(",")
    simulations = None if args.max_fits is not None else args.simulations
    budget = f"{args.max_fits} fits" if args.max_fits is not None else f"{args.simulations} simulations"

    def stored(label: str, task: int) -> tuple:
        return label, task, simulations, args.max_fits, args.seed

    from mcts_crn.config import SearchConfig

    fields = {f.name for f in dataclasses.fields(SearchConfig)}
    overrides = {}
    for item in args.search:
        name, _, value = item.partition("=")
        if name not in fields:
            parser.error(f"--search {item}: SearchConfig has no setting {name!r}")
        overrides[name] = json.loads(value)
    settings = "".join(f" {name}={value}" for name, value in overrides.items())
    # (label, prior, checkpoint, temperature, playout depth) of each prior compared
    labels: list[tuple[str, str, str | None, float, int | None]] = [(p + settings, p, None, 1.0, None)
                                                                     for p in priors if p != "learned"]
    if "learned" in priors:
        labels += [(f"learned@{int(c.stem.split('_')[1])}{f' T{t:g}' if t != 1.0 else ''}"
                    f"{' novalue' if args.no_value else ''}{f' rollout{d}' if d is not None else ''}{settings}",
                    "learned", str(c), t, d)
                   for c in checkpoints for t in args.temperature for d in args.rollout_depth]
    tasks, _, _, num_training = held_out_tasks(args.run, args.tasks, args.seed, disjoint_from, training_games)
    results_path = args.out / "results.jsonl"
    done, stale = {}, 0
    if results_path.exists():
        for line in results_path.read_text().splitlines():
            row = json.loads(line)
            if row["task"] >= len(tasks) or row["key"] != tasks[row["task"]].key:
                stale += 1  # another held-out set (the run trained on more tasks since, or other options)
                continue
            done[(row["label"], row["task"], row["simulations"], row.get("max_fits"), row["seed"])] = row
    if stale:
        print(f"{stale} stored results are of other tasks than these and are left out", file=sys.stderr)
    indices = range(args.tasks) if args.only is None else [int(v) for v in args.only.split(",")]
    jobs = []
    for label, prior, checkpoint, temperature, depth in labels:
        for j in indices:
            if stored(label, j) not in done:
                jobs.append({"label": label, "prior": prior, "checkpoint": checkpoint, "task": j,
                             "simulations": simulations, "max_fits": args.max_fits, "seed": args.seed,
                             "temperature": temperature, "use_value": False if args.no_value else None,
                             **({"rollout_depth": depth} if depth is not None else {}),
                             **({"search": overrides} if overrides else {})})
    # longest first keeps the workers busy to the end: learned and heuristic searches cost more per fit
    jobs.sort(key=lambda job: (job["prior"] == "uniform", job["task"]))
    print(f"{len(jobs)} searches to run ({len(done)} done before), {args.workers} workers", file=sys.stderr)
    start = time.perf_counter()
    if jobs:
        with multiprocessing.get_context("spawn").Pool(args.workers, initializer=_init,
                                                       initargs=(str(args.run), args.tasks, args.seed,
                                                                 disjoint_from, training_games)) as pool, \
                results_path.open("a") as sink:
            for count, row in enumerate(pool.imap_unordered(_search, jobs), 1):
                sink.write(json.dumps(row) + "\n")
                sink.flush()
                done[stored(row["label"], row["task"])] = row
                print(f"[{count}/{len(jobs)} {time.perf_counter() - start:.0f}s] {row['label']} task {row['task']}: "
                      f"{row['fits_to_truth'] or '-'} fits to truth", file=sys.stderr, flush=True)
    rows_of = {label: [done[stored(label, j)] for j in indices if stored(label, j) in done] for label, *_ in labels}
    table = {label: summarize(rows) for label, rows in rows_of.items()}
    history = training_history(args.run)
    games = sum(h["games"] for h in history)
    play_seconds = sum(h["selfplay_seconds"] for h in history)
    subset = "" if args.only is None else f", of them tasks {args.only}"
    others = "".join(f" and from the {count} held-out tasks of seed {other}" for other, count in disjoint_from)
    lines = [f"held-out tasks: {args.tasks}{subset} (seed {args.seed}), disjoint from the {num_training} training "
             f"tasks{others}; budget {budget} per search",
             f"training: {len(history)} iterations, {games} self-play games in {play_seconds / 60:.1f} min "
             "of self-play "
             f"({games / play_seconds * 3600 if play_seconds else float('nan'):.0f} games/hour)",
             self_play_line(history),
             "",
             f"{'prior':14s} {'recovered':>10s} {'median fits':>12s} {'median (recovered)':>19s} "
             f"{'fits/search':>12s} {'best=truth':>11s} {'search time':>12s}"]
    for label, row in table.items():
        median = "unreached" if row["censored"] else f"{row['median_fits']:.0f}"
        lines.append(f"{label:14s} {row['recovered']:>4d}/{row['tasks']:<5d} {median:>12s} "
                     f"{row['median_fits_recovered']:>19.1f} {row['mean_fits']:>12.0f} {row['best_is_truth']:>11d} "
                     f"{row['seconds'] / 60:>10.1f}m")
    lines.append("median fits: over all tasks, an unrecovered task counting as infinitely many (\"unreached\" when "
                 "half or more are unrecovered); fits are all fits made: the tree's, its playouts', polishing's "
                 "(screening fits included) and the cold refits of new best networks")
    baselines = [label for b in ("heuristic", "uniform") for label, prior, *_ in labels if prior == b]
    if baselines and any(label.startswith("learned@") for label in table):
        lines += ["", "times fewer fits than " + " / ".join(baselines) + ": median = the baseline's median fits "
                  "over the learned prior's (\">=\": the baseline's median is unreached, bound by the budget); "
                  "paired = geometric mean over the tasks both recovered (how many); at k = the fits by which the "
                  "baseline recovered its k tasks over those by which the learned prior recovered as many; "
                  "[90% bootstrap interval over the tasks]"]
        for label in table:
            if label.startswith("learned@"):
                parts = []
                for b in baselines:
                    c = compare(rows_of[label], rows_of[b], budget=args.max_fits)
                    table[label][f"vs_{b}"] = c
                    by_median = (f"median {'>= ' if c['median_is_bound'] else ''}{c['median']:.2f}x "
                                 f"[{c['median_ci'][0]:.2f}, {c['median_ci'][1]:.2f}]" if math.isfinite(c["median"])
                                 else "median n/a (its own median unreached)")
                    parts.append(f"vs {b}: {by_median}, "
                                 f"paired {c['paired']:.2f}x ({c['paired_tasks']}) "
                                 f"[{c['paired_ci'][0]:.2f}, {c['paired_ci'][1]:.2f}], "
                                 f"at k={c['k']} {c['at_k']:.2f}x [{c['at_k_ci'][0]:.2f}, {c['at_k_ci'][1]:.2f}]")
                lines.append(f"{label:14s} " + "; ".join(parts))
    if args.select and (chosen := select_checkpoint(table)):
        lines += ["", f"selected: {chosen} (most recovered, then fewest median fits among the recovered)"]
        path, temperature, depth = next((c, t, d) for label, _, c, t, d in labels if label == chosen)
        (args.out / "selected.json").write_text(json.dumps(
            {"label": chosen, "checkpoint": path, "temperature": temperature, "rollout_depth": depth}, indent=2) + "\n")
    text = "\n".join(lines)
    print(text)
    (args.out / "table.txt").write_text(text + "\n")
    (args.out / "summary.json").write_text(json.dumps(table, indent=2))
    _plot(table, args.out / "learning_curve.png", budget, history)
    return 0


def _plot(table: dict, path: Path, budget: str, history: list[dict] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves: dict[str, list] = {}  # one line per temperature and option: "learned", "learned T2", ...
    for k, v in table.items():
        if k.startswith("learned@"):
            iteration, _, options = k.split("@")[1].partition(" ")
            curves.setdefault(f"learned {options}".strip(), []).append((int(iteration), v))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric, title in ((axes[0], "median_fits_recovered", "median fits to the true network (recovered)"),
                              (axes[1], "recovery_rate", f"recovery rate within {budget}")):
        for name, points in curves.items():
            points.sort(key=lambda p: p[0])
            ax.plot([i for i, _ in points], [v[metric] for _, v in points], "o-", label=name)
        for name, style in (("uniform", "--"), ("heuristic", ":")):
            if name in table:
                ax.axhline(table[name][metric], linestyle=style, color="grey" if name == "uniform" else "black",
                           label=name)
        if metric == "recovery_rate" and history:
            # the games of iteration i are searched with the model after iteration i - 1
            ax.plot([h["iteration"] - 1 for h in history], [h["recovered"] / h["games"] for h in history], ".-",
                    color="tab:green", alpha=0.6, label="self-play (its training tasks)")
        ax.set_xlabel("training iteration")
        ax.set_title(title)
        ax.legend()
    axes[0].set_ylabel("fits")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
