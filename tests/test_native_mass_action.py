"""Mass-action kernels and the small LU against plain-loop references (random CRNs of any order)."""
from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mcts_crn import native
from tests.reference.crn_reference import mass_action_rhs
from tests.reference.simulate_reference import jacobian_directional_derivative, mass_action_jacobian, \
    mass_action_rates


@st.composite
def crns(draw):
    """Raw stoichiometry (orders 0..3 per species, so reactions of total order up to 3 S), rates, amounts."""
    num_species = draw(st.integers(1, 5))
    num_reactions = draw(st.integers(1, 6))
    coefficients = hnp.arrays(np.int32, (num_reactions, num_species), elements=st.integers(0, 3))
    reactants = draw(coefficients)
    products = draw(coefficients)
    rates = draw(hnp.arrays(np.float64, num_reactions, elements=st.floats(0.0, 5.0)))
    # Amounts include zeros and negatives: x ** a must stay defined (no division by x, no log).
    amounts = st.one_of(st.just(0.0), st.floats(-2.0, 3.0, allow_subnormal=False))
    x = draw(hnp.arrays(np.float64, num_species, elements=amounts))
    crn = SimpleNamespace(reactants=reactants, products=products, num_species=num_species,
                          num_reactions=num_reactions)
    return crn, rates, x


def _close(a, b):
    scale = max(1.0, float(np.max(np.abs(b), initial=0.0)))
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * scale)


@settings(max_examples=150, deadline=None)
@given(crns())
def test_rates_rhs_and_jacobian_match_the_reference(case):
    crn, k, x = case
    out_rates = np.empty(crn.num_reactions)
    native.mass_action_rates(crn.reactants, k, x, out_rates)
    _close(out_rates, mass_action_rates(crn, k, x))
    out_rhs = np.empty(crn.num_species)
    native.mass_action_rhs(crn.reactants, crn.products, k, x, out_rhs)
    _close(out_rhs, mass_action_rhs(crn, k, x))
    out_jac = np.empty((crn.num_species, crn.num_species))
    native.mass_action_jacobian(crn.reactants, crn.products, k, x, out_jac)
    _close(out_jac, mass_action_jacobian(crn, k, x))


@settings(max_examples=100, deadline=None)
@given(crns(), st.data())
def test_hessian_action_is_the_derivative_of_the_jacobian(case, data):
    crn, k, x = case
    vectors = hnp.arrays(np.float64, crn.num_species, elements=st.floats(-1.0, 1.0))
    s, u = data.draw(vectors), data.draw(vectors)
    out = np.empty(crn.num_species)
    native.mass_action_hessian_action(crn.reactants, crn.products, k, x, s, u, out)
    _close(out, jacobian_directional_derivative(crn, k, x, s, u))
    # And it is the derivative of the Jacobian: a central difference of the reference Jacobian agrees up to
    # its truncation error (J is a polynomial of degree <= 14 here: step 1e-4 gives about 1e-6).
    step = 1e-4
    difference = (mass_action_jacobian(crn, k, x + step * u) - mass_action_jacobian(crn, k, x - step * u)) @ s
    scale = max(1.0, float(np.max(np.abs(out), initial=0.0)))
    np.testing.assert_allclose(out, difference / (2 * step), rtol=1e-4, atol=1e-4 * scale)


def test_integer_powers_of_zero_and_negative_amounts():
    # 2 A -> B and 3 A -> C at A = 0 and A = -1: rates k x^2, k x^3, no NaN from pow or division.
    reactants = np.array([[2, 0, 0], [3, 0, 0]], dtype=np.int32)
    products = np.array([[0, 1, 0], [0, 0, 1]], dtype=np.int32)
    k = np.array([2.0, 3.0])
    out = np.empty(2)
    native.mass_action_rates(reactants, k, np.array([0.0, 1.0, 1.0]), out)
    np.testing.assert_array_equal(out, [0.0, 0.0])
    native.mass_action_rates(reactants, k, np.array([-1.0, 1.0, 1.0]), out)
    np.testing.assert_array_equal(out, [2.0, -3.0])
    jac = np.empty((3, 3))
    native.mass_action_jacobian(reactants, products, k, np.array([0.0, 1.0, 1.0]), jac)
    np.testing.assert_array_equal(jac, np.zeros((3, 3)))


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 10), st.integers(0, 2**32 - 1))
def test_lu_solve_matches_numpy(n, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n)) + n * np.eye(n) * rng.choice([-1.0, 1.0])
    a = a[rng.permutation(n)]  # forces row exchanges
    b = rng.standard_normal(n)
    lu = a.copy()
    piv = np.empty(n, dtype=np.int64)
    assert native.lu_factor(lu, piv) == 0
    x = b.copy()
    native.lu_solve(lu, piv, x)
    np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-10, atol=1e-12)


def test_lu_reports_a_singular_or_non_finite_matrix():
    piv = np.empty(3, dtype=np.int64)
    singular = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 0.0, 1.0]])
    assert native.lu_factor(singular.copy(), piv) == 2
    assert native.lu_factor(np.full((3, 3), np.nan), piv) == 1
