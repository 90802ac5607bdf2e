"""The GNN prior: permutation equivariance over species, one logit per legal action, batching, checkpoints."""
import dataclasses

import numpy as np
import pytest
import torch

from mcts_crn.config import ModelConfig
from mcts_crn.crn import ActionSpace, Crn
from mcts_crn.data import Dataset, Experiment
from mcts_crn.fit import fit_rates
from mcts_crn.model import CrnGnn, FeatureBuilder, LearnedEvaluator, collate, load_model, save_checkpoint
from mcts_crn.search import ScoreTestEvaluator


def _trained_like(model: CrnGnn, seed: int = 0) -> CrnGnn:
    """Randomize every parameter (the zero-initialized output layer too), so outputs depend on everything."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.3)
    return model.eval()


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def problem():
    """Three observed species, one latent species, two experiments; the true network as the state, fitted."""
    rng = np.random.default_rng(0)
    truth = Crn.from_text("A + B -> C\nB -> 0\nC -> X1\nX1 -> A", observed=["A", "B", "C"])
    times = np.linspace(0, 5, 21)
    from mcts_crn.simulate import simulate

    experiments = []
    for e, x0 in enumerate(([1.0, 0.8, 0.0, 0.0], [0.5, 1.5, 0.2, 0.0])):
        clean = simulate(truth, np.array([1.0, 0.3, 0.5, 0.4]), np.array(x0), times)[:, :3]
        values = clean * (1 + 0.03 * rng.standard_normal(clean.shape))
        values[3, 1] = np.nan  # a gap
        experiments.append(Experiment(str(e + 1), times, np.maximum(values, 0)))
    data = Dataset(("A", "B", "C"), tuple(experiments), noise=0.03)
    space = ActionSpace(data.species, max_latent=1, max_order=2, max_reactions=6)
    state = space.initial_state()
    for text in ("A + B -> C", "B -> 0"):
        state = state.add_reaction(text)
    state = space.apply(state, space.ADD_LATENT).add_reaction("C -> X1").add_reaction("X1 -> A")
    fit = fit_rates(state, data)
    assert fit.success
    return data, space, state, fit


def _permuted(problem, order):
    """The same problem with the observed species (data columns) in another order."""
    data, space, state, fit = problem
    names = tuple(data.species[i] for i in order)
    experiments = tuple(Experiment(x.name, x.times, x.values[:, list(order)]) for x in data.experiments)
    data2 = Dataset(names, experiments, noise=data.noise[list(order)])
    space2 = ActionSpace(names, max_latent=space.max_latent, max_order=space.max_order,
                         max_reactions=space.max_reactions)
    species2 = names + state.species[len(names):]
    state2 = state.reorder_species(species2)
    columns = [state.species.index(s) for s in species2]
    fit2 = dataclasses.replace(fit, species=species2, x0=fit.x0[:, columns],
                               predictions=tuple(p[:, columns] for p in fit.predictions))
    return data2, space2, state2, fit2, columns


def _action_map(space, state, space2, columns, actions):
    """The action of space2 that does in the relabelled state what each action does in the original."""
    out = []
    s = state.num_species
    for a in actions:
        if a >= space.num_reaction_actions:
            out.append(space2.ADD_LATENT if a == space.ADD_LATENT else space2.STOP)
            continue
        r, p = space.reactants[a, :s], space.products[a, :s]
        out.append(space2.encode_reaction(r[columns], p[columns]))
    return np.array(out)


@pytest.mark.parametrize("order", [(1, 2, 0), (2, 0, 1)])
def test_relabelling_species_permutes_node_outputs_and_matches_action_probabilities(problem, order):
    data, space, state, fit = problem
    data2, space2, state2, fit2, columns = _permuted(problem, order)
    model = _trained_like(CrnGnn(ModelConfig(hidden=32, num_layers=2)))
    legal = np.flatnonzero(space.legal_mask(state))
    legal2 = np.flatnonzero(space2.legal_mask(state2))
    mapped = _action_map(space, state, space2, columns, legal)
    assert sorted(mapped.tolist()) == legal2.tolist()
    f1 = FeatureBuilder(data, space, model.config)(state, fit, legal)
    f2 = FeatureBuilder(data2, space2, model.config)(state2, fit2, mapped)
    np.testing.assert_allclose(f2.species, f1.species[columns], atol=1e-6)
    with torch.no_grad():
        out1, out2 = model(collate([f1])), model(collate([f2]))
    # node outputs permute with the species
    np.testing.assert_allclose(out2.species.numpy(), out1.species.numpy()[columns], atol=1e-4)
    # action probabilities match action by action, and the value is unchanged
    np.testing.assert_allclose(out2.log_policy.exp().numpy(), out1.log_policy.exp().numpy(), atol=1e-5)
    np.testing.assert_allclose(out2.value.numpy(), out1.value.numpy(), atol=1e-5)
    # the probabilities are not uniform (the test would be vacuous otherwise)
    assert out1.log_policy.exp().std() > 1e-3


def test_species_order_inside_a_batch_is_irrelevant_at_the_model_level(problem):
    """Any permutation of species rows (latent ones included) with edges and entries remapped."""
    data, space, state, fit = problem
    model = _trained_like(CrnGnn(ModelConfig(hidden=16, num_layers=3)), seed=1)
    legal = np.flatnonzero(space.legal_mask(state))
    f = FeatureBuilder(data, space, model.config)(state, fit, legal)
    perm = np.array([3, 1, 0, 2])  # new row i holds old species perm[i]
    inverse = np.argsort(perm)
    g = dataclasses.replace(
        f, species=f.species[perm],
        edges=np.column_stack([inverse[f.edges[:, 0]], f.edges[:, 1:]]).astype(np.int32),
        entries=np.column_stack([f.entries[:, 0], inverse[f.entries[:, 1]], f.entries[:, 2:]]).astype(np.int32))
    with torch.no_grad():
        a, b = model(collate([f])), model(collate([g]))
    np.testing.assert_allclose(b.species.numpy(), a.species.numpy()[perm], atol=1e-5)
    np.testing.assert_allclose(b.logits.numpy(), a.logits.numpy(), atol=1e-5)


def test_one_logit_per_legal_action_and_no_mass_on_illegal_ones(problem):
    data, space, state, fit = problem
    states = [space.initial_state(), space.initial_state().add_reaction("A + B -> C").add_reaction("C -> A"), state]
    fits = [fit_rates(s, data) for s in states[:2]] + [fit]
    legal = [np.flatnonzero(space.legal_mask(s)) for s in states]
    assert len({len(a) for a in legal}) == 3  # different sizes in one batch
    model = _trained_like(CrnGnn(ModelConfig(hidden=16, num_layers=2)), seed=2)
    bound = LearnedEvaluator(model).bind(data, space)
    logits, values = bound(states, fits, legal)
    assert [len(lg) for lg in logits] == [len(a) for a in legal]
    assert values.shape == (3,) and np.all((values > 0) & (values < 1))
    # the full policy over the action space: softmax over the legal ids, exactly zero elsewhere
    for s, actions, lg in zip(states, legal, logits):
        mask = space.legal_mask(s)
        full = np.zeros(space.num_actions)
        full[actions] = np.exp(lg - lg.max()) / np.exp(lg - lg.max()).sum()
        assert full.sum() == pytest.approx(1.0)
        assert np.all(full[~mask] == 0) and np.all(full[mask] > 0)
    # batching does not mix states: each state alone gives the same logits
    for b in range(3):
        alone, _ = bound([states[b]], [fits[b]], [legal[b]])
        np.testing.assert_allclose(alone[0], logits[b], atol=1e-5)
    # log_policy is normalized per state
    features = bound.features.batch(states, fits, legal)
    with torch.no_grad():
        out = model(collate(features))
    sums = torch.zeros(3).index_add_(0, torch.arange(3).repeat_interleave(torch.tensor([len(a) for a in legal])),
                                     out.log_policy.exp())
    np.testing.assert_allclose(sums.numpy(), 1.0, atol=1e-5)


def test_direct_score_is_the_score_test_where_the_jacobian_vanishes(problem):
    """On the empty network the ODEs have no Jacobian: the direct effect is the whole sensitivity, so the
    fast heuristic's log prior equals the search's heuristic (``ScoreTestEvaluator``, exact score test)."""
    data, space, _, _ = problem
    state = space.initial_state()
    fit = fit_rates(state, data)
    legal = np.flatnonzero(space.legal_mask(state))
    builder = FeatureBuilder(data, space, ModelConfig())
    score, loss = builder.direct_score(state, fit, legal)
    fast = builder.heuristic_log_prior(state, fit, legal, score, loss)
    exact, _ = ScoreTestEvaluator().bind(data, space)([state], [fit], [legal])
    np.testing.assert_allclose(fast, exact[0], atol=1e-4)
    assert score.max() > 0.05  # some reaction explains a good part of the misfit


def test_direct_score_points_to_the_missing_reaction(problem):
    """The truth without one of its reactions, refitted: the missing reaction ranks high among ~200 legal
    ones (median rank over the four cases within the top 10%; random ranking would put it near 50%)."""
    data, space, state, _ = problem
    builder = FeatureBuilder(data, space)
    ranks = []
    for drop in range(state.num_reactions):
        partial = state.remove_reaction(drop)
        fit = fit_rates(partial, data)
        legal = np.flatnonzero(space.legal_mask(partial))
        score, _ = builder.direct_score(partial, fit, legal)
        missing = list(legal).index(space.encode_reaction(state.reactants[drop], state.products[drop]))
        ranks.append(int((score > score[missing]).sum()) / len(legal))
    assert np.median(ranks) < 0.1, ranks


def test_untrained_model_is_the_fast_heuristic(problem):
    data, space, state, fit = problem
    legal = np.flatnonzero(space.legal_mask(state))
    bound = LearnedEvaluator(CrnGnn(ModelConfig(hidden=16, num_layers=1))).bind(data, space)
    learned, _ = bound([state], [fit], [legal])
    builder = FeatureBuilder(data, space)
    score, loss = builder.direct_score(state, fit, legal)
    np.testing.assert_allclose(learned[0], builder.heuristic_log_prior(state, fit, legal, score, loss), atol=1e-5)


def test_checkpoint_round_trip_gives_the_same_outputs(problem, tmp_path):
    data, space, state, fit = problem
    model = _trained_like(CrnGnn(ModelConfig(hidden=16, num_layers=2)), seed=3)
    save_checkpoint(tmp_path / "m.pt", model, iteration=7)
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.config == model.config
    legal = np.flatnonzero(space.legal_mask(state))
    a = LearnedEvaluator(model).bind(data, space)([state], [fit], [legal])
    b = LearnedEvaluator(loaded).bind(data, space)([state], [fit], [legal])
    np.testing.assert_array_equal(a[0][0], b[0][0])
    np.testing.assert_array_equal(a[1], b[1])


def test_an_exported_checkpoint_carries_its_search_settings(problem, tmp_path):
    from mcts_crn.model import export_checkpoint, load_evaluator, read_checkpoint

    data, space, state, fit = problem
    model = _trained_like(CrnGnn(ModelConfig(hidden=16, num_layers=2)), seed=3)
    save_checkpoint(tmp_path / "run.pt", model, iteration=7, optimizer={"lr": 1e-3})
    export_checkpoint(tmp_path / "run.pt", tmp_path / "plain.pt")
    export_checkpoint(tmp_path / "run.pt", tmp_path / "flat.pt", search_temperature=2.0)
    export_checkpoint(tmp_path / "flat.pt", tmp_path / "again.pt")  # kept when not given
    assert "optimizer" not in read_checkpoint(tmp_path / "flat.pt")
    assert "search_temperature" not in read_checkpoint(tmp_path / "plain.pt")
    assert read_checkpoint(tmp_path / "again.pt")["search_temperature"] == 2.0
    assert load_evaluator(tmp_path / "plain.pt").temperature == 1.0
    assert load_evaluator(tmp_path / "flat.pt").temperature == 2.0
    assert load_evaluator(tmp_path / "flat.pt", temperature=0.5).temperature == 0.5
    legal = np.flatnonzero(space.legal_mask(state))
    plain = load_evaluator(tmp_path / "plain.pt").bind(data, space)([state], [fit], [legal])[0][0]
    flat = load_evaluator(tmp_path / "flat.pt").bind(data, space)([state], [fit], [legal])[0][0]
    np.testing.assert_allclose(flat, plain / 2.0, rtol=1e-12)
    with pytest.raises(ValueError, match="search_temperature"):
        export_checkpoint(tmp_path / "run.pt", tmp_path / "bad.pt", search_temperature=0.0)
    # the playout depth: absent unless exported, kept by a re-export, an explicit one wins
    export_checkpoint(tmp_path / "flat.pt", tmp_path / "deep.pt", search_rollout_depth=0)
    export_checkpoint(tmp_path / "deep.pt", tmp_path / "deep_again.pt")
    assert load_evaluator(tmp_path / "plain.pt").rollout_depth is None
    assert load_evaluator(tmp_path / "deep_again.pt").rollout_depth == 0
    assert load_evaluator(tmp_path / "deep_again.pt").temperature == 2.0
    assert load_evaluator(tmp_path / "deep.pt", rollout_depth=2).rollout_depth == 2
    # offered to the search's caller as SearchConfig settings
    from mcts_crn.search import UniformEvaluator, search_settings

    assert search_settings(load_evaluator(tmp_path / "deep_again.pt")) == {"rollout_depth": 0}
    assert search_settings(load_evaluator(tmp_path / "plain.pt")) == search_settings(UniformEvaluator()) == {}
    with pytest.raises(ValueError, match="search_rollout_depth"):
        export_checkpoint(tmp_path / "run.pt", tmp_path / "bad.pt", search_rollout_depth=-1)


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="not an mcts_crn model checkpoint"):
        load_model(tmp_path / "x.pt")
