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
