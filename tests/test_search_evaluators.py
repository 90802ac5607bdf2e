"""The score test's candidate sensitivities: grouped by reactant complex against one per candidate, and
against finite differences of the simulator."""
import numpy as np
import pytest

from mcts_crn import fit_rates, simulate
from mcts_crn.crn import ActionSpace
from mcts_crn.examples import EXAMPLES
from mcts_crn.search.evaluators import candidate_gradients
from test_search_moves import as_searched


def fitted_candidates(name):
    """An example's true network (as searched) fitted to its data, with the legal candidate reactions of
    the search's action space (order 2) and the data's columns in the network."""
    model = EXAMPLES[name]
    data = model.make_dataset(noise=0.05, rng=0)
    crn = as_searched(name)
    fit = fit_rates(crn, data, rng=0)
    space = ActionSpace(data.species, max_latent=crn.num_latent, max_order=2, max_reactions=12)
    s = crn.num_species
    legal = np.flatnonzero(space.legal_mask(crn)[:space.num_reaction_actions])
    columns = np.array([crn.species_index(x) for x in data.species])
    return crn, fit, data, space.reactants[legal, :s], space.products[legal, :s], columns


@pytest.mark.parametrize("name", ["seir", "lotka_volterra"])
def test_grouped_sensitivities_match_one_per_candidate(name):
    """Each candidate's sensitivity is a stoichiometric combination of its reactant complex's
    pseudo-reactions (SEIR: 207 candidates from 15 complexes x 4 species). At a vanishing rate (1e-13, so
    that the candidates barely move the trajectory) and tight tolerances the two agree to 1e-6."""
    crn, fit, data, reactants, products, columns = fitted_candidates(name)
    tight = dict(epsilon=1e-13, rtol=1e-8, atol=1e-19)
    direct = candidate_gradients(crn, fit, reactants, products, data, columns, data.sigmas(), grouped=False, **tight)
    grouped = candidate_gradients(crn, fit, reactants, products, data, columns, data.sigmas(), grouped=True, **tight)
    for a, b in zip(direct, grouped):
        assert a.shape == b.shape == (a.shape[0], len(data.species), len(reactants))
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-6 * np.abs(a).max())
    if name == "seir":  # the default picks the grouped form where it is smaller
        complexes = len(np.unique(reactants, axis=0))
        assert complexes * crn.num_species < len(reactants)


def test_sensitivities_match_finite_differences():
    """d y / d k_j / sigma at k_j = 0 against a central difference of the simulator with the candidate
    added at rates -h and +h, for every fifth of Lotka-Volterra's candidates."""
    crn, fit, data, reactants, products, columns = fitted_candidates("lotka_volterra")
    gradients = candidate_gradients(crn, fit, reactants, products, data, columns, data.sigmas(),
                                    epsilon=1e-13, rtol=1e-8, atol=1e-19)
    experiment = data.experiments[0]
    sigma = data.sigmas()[0]
    for j in range(0, len(reactants), 5):
        bigger = crn.add_reaction((reactants[j], products[j]))
        h = 1e-6
        ys = [simulate(bigger, np.append(fit.rates, k), fit.x0[0], experiment.times, rtol=1e-10, atol=1e-12)
              for k in (-h, h)]
        numeric = (ys[1] - ys[0])[:, columns] / (2 * h) / sigma
        np.testing.assert_allclose(gradients[0][:, :, j], numeric, rtol=1e-3,
                                   atol=1e-4 * np.abs(numeric).max() + 1e-12)


def _regression(model, noise=0.01):
    """The sparse regression on an example's data: its top reactions (as many as the truth has), the
    reactant complexes of every reaction it kept, and its R^2."""
    from mcts_crn.search.evaluators import regression_fit

    data = model.make_dataset(noise=noise, rng=1)
    space = ActionSpace(data.species, max_latent=0, max_order=2, max_reactions=8)
    shares, explained = regression_fit(data, space)
    top = {space.describe(int(k)) for k in np.argsort(-shares)[:model.crn.num_reactions]}
    kept = {tuple(space.reactants[k, :len(data.species)]) for k in np.flatnonzero(shares)}
    return top, kept, explained


def test_regression_resolves_log_spaced_times():
    """A fast and a slow step ``A -> B -> C`` (rates 1 and 0.002) seen at log-spaced times over six decades:
    the sparse regression, smoothing and integrating in the observation index, explains nearly all of the
    changes with first-order reactions of A and B only (``A -> B`` is also ``A -> 2 B`` plus ``A -> 0`` at
    half the rate, which no regression can tell apart, so the test asks for the reactants). On a grid even
    in time the transient of A fell between two points and the regression chose ``2 A -> 0`` and
    ``A -> 2 A``."""
    from mcts_crn.examples.library import ExampleModel

    chain = ExampleModel(name="chain", title="", citation="", reactions="A -> B\nB -> C", rates=(1.0, 0.002),
                         initial=({"A": 1.0},), observed=("A", "B", "C"), t_end=3e3, log_times=True)
    _, kept, explained = _regression(chain)
    assert kept == {(1, 0, 0), (0, 1, 0)}
    assert explained > 0.95


def test_regression_confidence_follows_what_it_explains():
    """Lotka-Volterra: the regression's top three are the truth and it explains over 80% (full weight in the
    heuristic prior). Robertson's stiff network, whose fast terms cancel in the integrals, leaves most of the
    changes unexplained: its regression gets no weight, so it cannot steer the search's first steps."""
    from mcts_crn.search.evaluators import ScoreTestEvaluator, regression_confidence

    top, _, explained = _regression(EXAMPLES["lotka_volterra"], noise=0.05)
    assert top == {"X -> 2 X", "X + Y -> 2 Y", "Y -> 0"}
    assert regression_confidence(explained) == 1.0
    robertson = EXAMPLES["robertson"]
    _, _, explained = _regression(robertson, noise=0.05)
    assert explained < 0.5 and regression_confidence(explained) == 0.0
    data = robertson.make_dataset(noise=0.05, rng=1)
    bound = ScoreTestEvaluator().bind(data, ActionSpace(data.species, max_order=2, max_reactions=8))
    assert not bound.regression.any()
