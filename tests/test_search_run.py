"""run_search end to end on small planted problems, determinism, and the result files."""
import json

import numpy as np
import pytest

from mcts_crn.config import SearchConfig
from mcts_crn.crn import Crn
from mcts_crn.examples import EXAMPLES
from mcts_crn.search import ScoreTestEvaluator, UniformEvaluator, run_search
from mcts_crn.search.run import MIN_STALL


@pytest.fixture(scope="module")
def dimer_data():
    return EXAMPLES["dimerisation"].make_dataset(noise=0.05, rng=3)


def test_recovers_a_planted_network_with_the_score_test(dimer_data):
    truth = EXAMPLES["dimerisation"].crn
    result = run_search(dimer_data, config=SearchConfig(num_simulations=40, max_reactions=4), rng=1,
                        progress=False)
    assert result.best is not None
    assert result.best.key == truth.canonical_key(), result.best.crn
    # each simulation fits at most its new node and the playout's states, before polishing
    assert 1 <= result.num_fits_to_best <= result.num_fits
    assert result.num_fits <= 41 * (1 + SearchConfig().rollout_depth) + 3 * 4 * 4
    # the trace holds every fit once, with unique keys
    keys = [row["key"] for row in result.trace]
    assert len(keys) == len(set(keys)) == result.num_fits
    # pruning: every single removal of the best network was fitted (and ranked lower)
    fitted = {row["key"] for row in result.trace}
    for smaller in range(result.best.crn.num_reactions):
        assert result.best.crn.remove_reaction(smaller).canonical_key() in fitted
    # every fit made is counted: each trace entry's running count grows by one fit plus the screening
    # fits and cold refits made since the entry before
    calls = np.array([row["fit_calls"] for row in result.trace])
    assert calls[0] == 1 and (np.diff(calls) >= 1).all()
    assert calls[-1] <= result.num_fit_calls and result.num_fit_calls >= result.num_fits


def test_same_seed_same_result(dimer_data):
    config = SearchConfig(num_simulations=15, max_reactions=4, batch_size=2)
    a = run_search(dimer_data, config=config, rng=5, progress=False)
    b = run_search(dimer_data, config=config, rng=5, progress=False)
    assert [r["key"] for r in a.trace] == [r["key"] for r in b.trace]
    assert [r["reward"] for r in a.trace] == [r["reward"] for r in b.trace]
    for name in a.tree._fields:
        np.testing.assert_array_equal(getattr(a.tree, name), getattr(b.tree, name))


@pytest.mark.parametrize("batch_size", [1, 3])
def test_fitting_in_several_processes_gives_the_same_search(batch_size):
    """``workers`` fits ahead in processes (a batch's leaves, polishing's screens and full fits, pruning), each
    fit seeded by the index the search gives it in order, and drops what it fitted ahead of a stop: under a
    budget in fits the trace, the fit calls and the tree are those of one worker, up to the budget's edge
    (a Lotka-Volterra search that screens hundreds of neighbours and stops inside a climb)."""
    data = EXAMPLES["lotka_volterra"].make_dataset(noise=0.05, rng=2)
    results = [run_search(data, config=SearchConfig(max_fits=150, max_reactions=5, batch_size=batch_size,
                                                    workers=workers), rng=4, progress=False)
               for workers in (1, 3)]
    one, three = results
    assert {row["stage"] for row in one.trace} >= {"tree", "climb"}
    assert one.num_fit_calls > len(one.trace) + 50  # screens, not only full fits
    assert [(r["key"], r["reward"], r["fit_calls"], r["stage"]) for r in one.trace] == \
        [(r["key"], r["reward"], r["fit_calls"], r["stage"]) for r in three.trace]
    assert one.num_fit_calls == three.num_fit_calls and one.best.key == three.best.key
    for name in one.tree._fields:
        np.testing.assert_array_equal(getattr(one.tree, name), getattr(three.tree, name))


def test_the_fitting_processes_end_with_a_search_that_fails(dimer_data):
    import multiprocessing

    running = []

    def fail(simulations, best):
        if simulations >= 9:
            running.extend(set(multiprocessing.active_children()) - before)
            raise RuntimeError("stopped by the callback")

    before = set(multiprocessing.active_children())
    with pytest.raises(RuntimeError, match="callback"):
        run_search(dimer_data, config=SearchConfig(num_simulations=50, max_reactions=4, batch_size=3, workers=2),
                   rng=1, progress=False, callback=fail)
    assert len(running) == 2  # the two workers were fitting when the search failed
    assert set(multiprocessing.active_children()) == before


def test_workers_must_be_positive():
    with pytest.raises(ValueError, match="workers"):
        SearchConfig(num_simulations=1, workers=0)


@pytest.mark.parametrize("simulations", [None, 1000])
def test_a_budget_in_fits_bounds_every_fit_made(dimer_data, simulations):
    """``max_fits`` counts every fit (the tree's, playouts', polishing's screens, cold refits): here the
    search spends it (polishing stops at 98% of it; pruning may use the rest) and passes it by at most the
    fits of its last step (one simulation: its leaf, two playout states and a cold refit), whatever the
    simulation budget."""
    config = SearchConfig(num_simulations=simulations, max_fits=80, max_reactions=4)
    result = run_search(dimer_data, config=config, rng=2, progress=False)
    assert 0.98 * 80 <= result.num_fit_calls <= 80 + 2 + SearchConfig().rollout_depth
    assert result.num_simulations < 80  # the tree search kept part of the budget for polishing
    again = run_search(dimer_data, config=config, rng=2, progress=False)
    assert [r["key"] for r in again.trace] == [r["key"] for r in result.trace]


@pytest.mark.parametrize("share", [0.0, 0.3])
def test_climbs_interleave_with_the_tree_search(dimer_data, share):
    """``polish_interleave``: climbs from the best network so far run between the tree's simulations
    (trace rows of stage "climb" before the tree's last fit), within the budget in fits; without it every
    climb comes after the tree search, and pruning last."""
    config = SearchConfig(num_simulations=None, max_fits=120, max_reactions=4, polish_interleave=share)
    result = run_search(dimer_data, config=config, rng=4, progress=False)
    stages = [row["stage"] for row in result.trace]
    assert set(stages) <= {"tree", "climb", "prune"}
    last_tree = max(i for i, stage in enumerate(stages) if stage == "tree")
    early_climbs = [i for i, stage in enumerate(stages) if stage == "climb" and i < last_tree]
    assert bool(early_climbs) == (share > 0)
    assert "prune" not in stages[:last_tree]
    assert result.num_fit_calls <= 120 + 2 + SearchConfig().rollout_depth
    assert result.best.key == EXAMPLES["dimerisation"].crn.canonical_key()
    again = run_search(dimer_data, config=config, rng=4, progress=False)
    assert [(r["key"], r["stage"]) for r in again.trace] == [(r["key"], r["stage"]) for r in result.trace]


def test_a_stalled_tree_hands_over_to_polishing(dimer_data):
    """``tree_patience``: with a time limit, the tree search ends once its best network has not improved for
    that share of the time (here 0.4 s of 4 s: the truth is found in the first fits), so polishing starts
    far earlier than at the fixed split (60% of the time: 2.4 s) and the tree makes far fewer fits."""
    def tree_fits(patience: float) -> tuple[int, str]:
        config = SearchConfig(num_simulations=None, time_limit=4.0, max_reactions=4, tree_patience=patience)
        result = run_search(dimer_data, config=config, rng=4, progress=False)
        return sum(row["stage"] == "tree" for row in result.trace), result.best.key

    patient, patient_best = tree_fits(0.1)
    fixed, fixed_best = tree_fits(0.0)
    assert patient_best == fixed_best == EXAMPLES["dimerisation"].crn.canonical_key()
    assert patient < 0.5 * fixed, (patient, fixed)


def test_a_budget_in_fits_is_the_clock_of_tree_patience(dimer_data):
    """With ``max_fits`` and no time limit the fits made are the clock: the tree search ends once its best
    network has not improved for ``tree_patience`` of the fits (here 20 of 200: the truth is found in the
    first fits), far earlier than at the fixed split (120 fits), and the climbs then share the fits up to
    98% of the budget. The search is the same on every run (no clock of the machine in it)."""
    def run(patience: float):
        config = SearchConfig(num_simulations=None, max_fits=200, max_reactions=4, tree_patience=patience)
        return run_search(dimer_data, config=config, rng=4, progress=False)

    patient, fixed = run(0.1), run(0.0)
    tree_fits = [sum(row["stage"] == "tree" for row in r.trace) for r in (patient, fixed)]
    assert patient.best.key == fixed.best.key == EXAMPLES["dimerisation"].crn.canonical_key()
    assert tree_fits[0] < 0.5 * tree_fits[1], tree_fits
    last_tree = max(row["fit_calls"] for row in patient.trace if row["stage"] == "tree")
    assert last_tree < 0.6 * 200
    assert 0.98 * 200 <= patient.num_fit_calls <= 200 + 2 + SearchConfig().rollout_depth
    again = run(0.1)
    assert [(r["key"], r["stage"]) for r in again.trace] == [(r["key"], r["stage"]) for r in patient.trace]


def test_a_budget_in_fits_ends_a_tree_that_makes_no_more_fits(dimer_data):
    """Under a budget in fits alone, simulations that reach networks fitted before do not move the clock: a
    space of a few one-reaction networks, all fitted within the first simulations, would keep the tree
    choosing them without end. The tree ends after ``max(MIN_STALL, max_fits)`` simulations without a fit."""
    config = SearchConfig(num_simulations=None, max_fits=200, max_reactions=1, max_order=1, tree_patience=0.0,
                          polish=0)
    def bound(num_simulations: int, _) -> None:
        if num_simulations > 4 * MIN_STALL:
            raise RuntimeError(f"the tree search did not end: {num_simulations} simulations")

    result = run_search(dimer_data, config=config, rng=4, progress=False, callback=bound)
    assert len(result.trace) < 50  # every network of the space: far below the budget
    # the last new fit comes as progressive widening opens the root's last children
    assert MIN_STALL <= result.num_simulations < 2 * MIN_STALL, result.num_simulations
    assert result.best is not None


def test_budgets_in_simulations_keep_the_fixed_split(dimer_data):
    """Without a time limit or ``max_fits`` there is no clock for ``tree_patience``: the tree search runs
    its simulations whatever the patience."""
    runs = [run_search(dimer_data, config=SearchConfig(num_simulations=40, max_reactions=4,
                                                       tree_patience=patience), rng=4, progress=False)
            for patience in (0.0, 0.01)]
    assert [(r["key"], r["stage"]) for r in runs[0].trace] == [(r["key"], r["stage"]) for r in runs[1].trace]
    assert runs[0].num_simulations == runs[1].num_simulations == 40


def test_a_search_needs_a_budget():
    with pytest.raises(ValueError, match="max_fits"):
        SearchConfig(num_simulations=None)
    with pytest.raises(ValueError, match="max_fits must be >= 1"):
        SearchConfig(max_fits=0)
    with pytest.raises(ValueError, match="polish_interleave"):
        SearchConfig(polish_interleave=1.0)
    with pytest.raises(ValueError, match="tree_patience"):
        SearchConfig(tree_patience=-0.1)


def test_tree_bookkeeping_after_a_search(dimer_data):
    result = run_search(dimer_data, config=SearchConfig(num_simulations=25, max_reactions=3),
                        evaluator=UniformEvaluator(), rng=0, progress=False)
    tree = result.tree
    assert tree.visits[0] == result.num_simulations + 1
    assert sum(row["visits"] for row in result.root_statistics) == result.num_simulations
    # every node's state is a network whose key maps back to the node (transpositions merged)
    keys = [result.states[tree.state[n]].canonical_key() for n in range(int(tree.node_count[0]))]
    stop_nodes = [n for n in range(int(tree.node_count[0])) if tree.terminal[n]]
    assert len(set(k for n, k in enumerate(keys) if n not in stop_nodes)) == len(keys) - len(stop_nodes)
    # masked actions never become edges: every edge is legal in its node's state
    for n in range(int(tree.node_count[0])):
        if not tree.expanded[n]:
            continue
        mask = result.space.legal_mask(result.states[tree.state[n]])
        edges = slice(tree.edge_start[n], tree.edge_start[n] + tree.num_edges[n])
        assert mask[tree.edge_action[edges]].all()


def test_bad_species_names_are_refused():
    from mcts_crn.data import Dataset

    data = Dataset.from_arrays(["IL-6"], (np.arange(5.0), np.ones((5, 1))), noise=0.1)
    with pytest.raises(ValueError, match="not identifiers"):
        run_search(data, config=SearchConfig(num_simulations=2), progress=False)


def test_the_tree_grows_past_its_first_capacity(dimer_data):
    """A time-limited search starts with a small tree and doubles it as needed (copying every array)."""
    from mcts_crn.search import run as run_module

    small = run_module._grow
    calls = []

    def spy(tree, nodes, edges):
        calls.append((nodes, edges))
        return small(tree, nodes, edges)

    run_module._grow = spy
    try:
        config = SearchConfig(num_simulations=None, time_limit=3.0, max_reactions=3, max_children=4)
        original = run_module.T.make_tree

        def tiny(capacity, edge_capacity):  # start from a very small tree to force growth
            return original(min(capacity, 8), min(edge_capacity, 32)) if not calls else original(capacity, edge_capacity)

        run_module.T.make_tree = tiny
        result = run_search(dimer_data, config=config, rng=0, progress=False)
    finally:
        run_module._grow = small
        run_module.T.make_tree = original
    assert calls, "the tree never grew"
    tree = result.tree
    assert tree.visits[0] == result.num_simulations + 1
    assert sum(row["visits"] for row in result.root_statistics) == result.num_simulations


def test_prior_cache_keeps_latent_labellings_apart():
    """Networks that differ only in which latent species a reaction uses share a canonical key but not their
    legal actions: the edges cached for one labelling must never be served to the other (this crashed a
    search with two latent species: an action cached for X1 was applied where X2 was meant)."""
    from mcts_crn.crn import ActionSpace
    from mcts_crn.search.run import PriorCache

    data = EXAMPLES["dimerisation"].make_dataset(noise=0.05, rng=0)
    space = ActionSpace(data.species, max_latent=2, max_order=2, max_reactions=6)
    base = Crn.empty(data.species, ["X1", "X2"])
    first = base.add_reaction("M -> X1").add_reaction("X1 -> D")
    second = base.add_reaction("M -> X2").add_reaction("X2 -> D")
    assert first.canonical_key() == second.canonical_key()
    cache = PriorCache(space, UniformEvaluator().bind(data, space), max_children=1000)
    for state in (first, second, first):
        (actions, p), = cache([state], [None])[0]
        legal = space.legal_mask(state)
        assert len(actions) == legal.sum() and legal[actions].all()
        np.testing.assert_allclose(p.sum(), 1.0)


def test_equivalent_networks_are_ranked_by_simplicity():
    """``0 -> X`` and ``0 -> 3 X`` (at a third of the rate) give the same ODE and the same fit: the search
    reports the simpler reactions, and ranks the two networks by their molecules."""
    from mcts_crn import Dataset, simulate

    truth = Crn.from_text("0 -> X\nX -> 0", observed=["X"])
    times = np.linspace(0.0, 6.0, 25)
    clean = simulate(truth, np.array([2.0, 0.5]), np.array([0.5]), times)
    noisy = clean * (1 + 0.05 * np.random.default_rng(0).standard_normal(clean.shape))
    data = Dataset.from_arrays(["X"], (times, noisy), noise=0.05, initial_values={"X": 0.5})
    config = SearchConfig(num_simulations=30, max_order=3, max_reactions=3)
    result = run_search(data, config=config, rng=0)
    assert result.best.key == truth.canonical_key()
    # 0 -> 2 X and 0 -> 3 X fit exactly as well (same reward to 6 digits); they follow, in that order
    ranked = [c.key for c in [result.best, *result.alternatives]]
    equivalents = [truth.canonical_key().replace("0>X", f"0>{products}") for products in ("X+X", "X+X+X")]
    assert ranked[1:3] == equivalents
    rewards = [c.reward for c in [result.best, *result.alternatives]][:3]
    np.testing.assert_allclose(rewards, rewards[0], rtol=1e-4)


def test_equivalent_logistic_networks_prefer_the_smallest_change():
    """``T -> 2 T; 2 T -> T`` and ``T -> 2 T; 2 T -> 0`` (at half the rate) give the same logistic ODE: the
    search reports the reactions closest to conserving molecules, ``2 T -> T`` (the molecule count alone
    prefers ``2 T -> 0``)."""
    from mcts_crn import Dataset, simulate

    truth = Crn.from_text("T -> 2 T\n2 T -> T", observed=["T"])
    times = np.linspace(0.0, 8.0, 25)
    clean = simulate(truth, np.array([1.0, 0.01]), np.array([5.0]), times)
    noisy = clean * (1 + 0.05 * np.random.default_rng(1).standard_normal(clean.shape))
    data = Dataset.from_arrays(["T"], (times, noisy), noise=0.05, initial_values={"T": 5.0})
    result = run_search(data, config=SearchConfig(num_simulations=30, max_order=2, max_reactions=3), rng=0)
    ranked = [c.key for c in [result.best, *result.alternatives]]
    annihilation = Crn.from_text("T -> 2 T\n2 T -> 0", observed=["T"]).canonical_key()
    assert annihilation in ranked[1:]
    assert result.best.key == truth.canonical_key()



@pytest.mark.parametrize("name, truth, alternative", [
    ("michaelis_menten", "S + X1 -> X2; X2 -> S + X1; X2 -> P + X1", "S -> X1; S + X1 -> 2 S; X1 -> P; X1 -> S"),
    ("brusselator", "0 -> X; X -> Y; 2 X + Y -> 3 X; X -> 0", "0 -> X; X -> X + Y; 2 X + Y -> 3 X; X -> 0"),
    ("tumour_growth", "T -> 2 T; 2 T -> T", "T -> 2 T; 2 T -> 0"),
    ("hiv", "0 -> T; T -> 0; T + V -> V + X1; X1 -> 0; X1 -> X1 + V; V -> 0",
     "0 -> T; T -> 0; T + V -> V + X1; X1 -> V; X1 -> X1 + V; V -> 0"),
    ("robertson", "A -> B; 2 B -> B + C; B + C -> A + C", "A -> B; 2 B -> 2 C; B + C -> A + C"),
    ("robertson", "A -> B; 2 B -> B + C; B + C -> A + C", "A -> B; 2 B -> A + C; B + C -> A + C"),
])
def test_published_networks_outrank_their_equivalents(name, truth, alternative):
    """Networks with the same ODE for the measured species (or, for Robertson's, whose B stays
    quasi-steady near 1e-5, ODEs the data cannot tell apart) fit alike, so the ranking decides:
    Michaelis-Menten against its form with E eliminated by ``E + C = E0`` (four reactions), the
    Brusselator's conversion ``X -> Y`` against ``X -> X + Y`` (its loss of X taken up by ``X -> 0``),
    logistic ``2 T -> T`` against ``2 T -> 0``, HIV's infected cells dying (``I -> 0``) against releasing
    one more virion as they die (``I -> V``, with the production rate lowered by the death rate),
    Robertson's ``2 B -> B + C`` against ``2 B -> 2 C`` and ``2 B -> A + C``. The published network ranks
    first in each."""
    from mcts_crn import fit_rates
    from mcts_crn.search.run import complexity

    model = EXAMPLES[name]
    data = model.make_dataset(noise=0.05, rng=0)
    crns = [Crn.from_text(text.replace("; ", "\n"), observed=list(model.observed)) for text in (truth, alternative)]
    losses = [fit_rates(crn, data, rng=0).loss for crn in crns]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-3)
    assert complexity(crns[0]) < complexity(crns[1])


def test_polishing_steps_to_a_simpler_network_that_fits_alike():
    """The Brusselator with ``X -> X + Y`` (its loss of X taken up by ``X -> 0``) fits exactly as the
    published ``X -> Y``, one mutation away: the ranks differ by the simplicity term alone, far below
    ``polish_min_gain``, and the climb takes that step because it is to a simpler network. A gain at equal
    complexity, or a step to a more complex network, needs ``polish_min_gain``."""
    from mcts_crn import fit_rates
    from mcts_crn.search import moves
    from mcts_crn.search.run import _climbs, complexity

    model = EXAMPLES["brusselator"]
    data = model.make_dataset(noise=0.05, rng=0)
    other, published = (Crn.from_text(text.replace("; ", "\n"), observed=list(model.observed)) for text in (
        "0 -> X; X -> X + Y; 2 X + Y -> 3 X; X -> 0", "0 -> X; X -> Y; 2 X + Y -> 3 X; X -> 0"))
    assert published.canonical_key() in {c.canonical_key() for c in moves.mutations(other, max_order=3)}
    losses = [fit_rates(crn, data, rng=0).loss for crn in (other, published)]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-3)
    config = SearchConfig()
    gain = config.simplicity * (complexity(other) - complexity(published))
    assert 0 < gain < config.polish_min_gain
    assert _climbs(gain, other, published, config.polish_min_gain)
    assert not _climbs(-gain, published, other, config.polish_min_gain)
    assert not _climbs(gain, published, published, config.polish_min_gain)
    assert _climbs(2 * config.polish_min_gain, published, other, config.polish_min_gain)


def test_robertson_is_a_swap_and_a_removal_from_a_network_polishing_stalled_at():
    """A Robertson search stalled at ``A -> C; B + C -> 2 A; 2 B -> B + C; A -> B`` (C consumed and remade
    by ``A -> C``). The published network is a swap (``2 A`` -> ``A + C``, making C a catalyst) and a removal
    (the now spurious ``A -> C``) away. The swap alone ranks lower than the stalled network (a reaction
    fitted to zero), so no climb takes it: the beam must widen into the stall's fits. The published network
    ranks above both."""
    from mcts_crn import fit_rates
    from mcts_crn.search import moves

    model = EXAMPLES["robertson"]
    data = model.make_dataset(noise=0.05, rng=np.random.default_rng(np.random.SeedSequence(0).spawn(2)[0]))
    observed = list(model.observed)
    stalled, swapped, published = (Crn.from_text(text.replace("; ", "\n"), observed=observed) for text in (
        "A -> C; B + C -> 2 A; 2 B -> B + C; A -> B", "A -> C; B + C -> A + C; 2 B -> B + C; A -> B",
        "A -> B; 2 B -> B + C; B + C -> A + C"))
    assert swapped.canonical_key() in {c.canonical_key() for c in moves.swaps(stalled)}
    assert published.canonical_key() in {c.canonical_key() for c in moves.removals(swapped)}
    # the stalled network at the rates its search found (a cold fit falls into a worse optimum)
    warm = dict(zip(stalled.reactions_text(), (0.02, 5000.0, 1.5e7, 0.02)))
    config = SearchConfig()

    def rank(crn, warm_start=None):
        from mcts_crn import reward
        from mcts_crn.search.run import complexity

        fit = fit_rates(crn, data, rng=0, warm_start=warm_start)
        return reward(fit, crn, data) - config.simplicity * complexity(crn)
    ranks = rank(stalled, warm), rank(swapped), rank(published)
    assert ranks[1] < ranks[0] < ranks[2], ranks


def test_robertson_is_a_catalyst_move_and_a_removal_from_a_network_polishing_stalled_at():
    """A Robertson search (data seed 1) stalled at ``2 A -> A + B; 2 B -> B + C; B + C -> A + C;
    A + C -> B + C``: the first true step with A as its own catalyst, and C catalysing it again. The
    published network is a catalyst move (``2 A -> A + B`` to ``A -> B``: no single molecule change on one
    side gives it) and a removal (the now spurious ``A + C -> B + C``) away. The catalyst move alone ranks
    lower than the stalled network, so only the widened beam passes it; the published network ranks above
    both."""
    from mcts_crn import fit_rates, reward
    from mcts_crn.search import moves
    from mcts_crn.search.run import complexity

    model = EXAMPLES["robertson"]
    data = model.make_dataset(noise=0.05, rng=np.random.default_rng(np.random.SeedSequence(1).spawn(2)[0]))
    observed = list(model.observed)
    stalled, moved, published = (Crn.from_text(text.replace("; ", "\n"), observed=observed) for text in (
        "2 A -> A + B; 2 B -> B + C; B + C -> A + C; A + C -> B + C",
        "A -> B; 2 B -> B + C; B + C -> A + C; A + C -> B + C", "A -> B; 2 B -> B + C; B + C -> A + C"))
    assert moved.canonical_key() in {c.canonical_key() for c in moves.catalysts(stalled, max_order=2)}
    assert moved.canonical_key() not in {c.canonical_key() for c in moves.mutations(stalled, max_order=2)
                                         + moves.swaps(stalled)}
    assert published.canonical_key() in {c.canonical_key() for c in moves.removals(moved)}
    config = SearchConfig()

    def rank(crn):
        fit = fit_rates(crn, data, rng=0)
        return reward(fit, crn, data) - config.simplicity * complexity(crn)
    ranks = rank(stalled), rank(moved), rank(published)
    assert ranks[1] < ranks[0] < ranks[2], ranks


def test_climbs_share_the_polishing_time():
    """A climb with long steps takes about half the time while short climbs start and end beside it, in
    the order given (a new climb takes the slot of the one that ended, with its time)."""
    from mcts_crn.search.run import _share_time

    now = [0.0]
    steps: list[str] = []

    def climb(name: str, cost: float, num_steps: int):
        for _ in range(num_steps):
            yield
            now[0] += cost
            steps.append(name)

    queue = [climb("big", 10.0, 100), *(climb(f"small{i}", 1.0, 3) for i in range(30))]
    _share_time(lambda: queue.pop(0) if queue else None, 2, until=100.0, clock=lambda: now[0])
    big = steps.count("big")
    small = [s for s in steps if s != "big"]
    assert 4 <= big <= 6  # about half of the 100 time units, at 10 a step
    assert 45 <= len(small) <= 55
    assert small == sorted(small, key=lambda s: int(s[5:]))  # one small climb at a time, in order
    assert all(small.count(f"small{i}") == 3 for i in range(len(small) // 3))

    now[0] = 0.0
    steps.clear()
    queue = [climb("big", 10.0, 100), *(climb(f"small{i}", 1.0, 3) for i in range(30))]
    _share_time(lambda: queue.pop(0) if queue else None, 1, until=100.0, clock=lambda: now[0])
    assert steps == ["big"] * 10  # one slot: the first climb uses all the time

    with pytest.raises(ValueError, match="polish_climbs"):
        SearchConfig(polish_climbs=0)


def test_no_climb_starts_once_the_polishing_time_is_up():
    """A climb ends at once when the time is up (as ``polish`` does); choosing a start takes time (the
    lookahead's screens). Once the time is up no further start is chosen (a search with thousands of
    finished networks had tried every one of them, 300 s past its time limit)."""
    from mcts_crn.search.run import _share_time

    now = [0.0]
    chosen = [0]

    def climb():
        if now[0] >= 10.0:
            return
        yield
        now[0] += 1.0

    def next_climb():
        if chosen[0] == 100:  # a search has finitely many networks to start from
            return None
        chosen[0] += 1
        now[0] += 0.75
        return climb()

    _share_time(next_climb, 2, until=10.0, clock=lambda: now[0])
    assert now[0] < 12.0
    assert chosen[0] <= 8
