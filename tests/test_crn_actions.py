import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcts_crn.crn import Crn
from mcts_crn.crn.actions import ActionSpace, latent_complete


def test_codec_round_trip_and_layout():
    space = ActionSpace(("S", "P"), max_latent=2, max_order=2)
    assert space.species == ("S", "P", "X1", "X2")
    assert space.num_actions == space.num_reaction_actions + 2
    for k in range(space.num_reaction_actions):
        assert space.encode_reaction(space.reactants[k], space.products[k]) == k
    assert space.describe(space.STOP) == "stop" and space.describe(space.ADD_LATENT) == "add latent species"
    assert space.describe(space.encode_reaction(np.array([1, 0]), np.array([0, 1]))) == "S -> P"


def test_initial_state_allows_reactions_over_observed_species_only():
    space = ActionSpace(("S", "P"), max_latent=1)
    state = space.initial_state()
    mask = space.legal_mask(state)
    legal = [space.describe(a) for a in np.flatnonzero(mask)]
    assert "S -> P" in legal and "0 -> S" in legal and "2 S -> P" in legal
    assert not any("X1" in text for text in legal)
    assert not mask[space.STOP], "stop needs at least one reaction"
    assert mask[space.ADD_LATENT]
    # over 2 species with order <= 2 there are 6 complexes: 30 reactions
    assert mask[: space.num_reaction_actions].sum() == 30


def test_latent_species_must_be_made_and_used_before_stop():
    space = ActionSpace(("S", "P"), max_latent=2)
    state = space.apply(space.initial_state(), space.ADD_LATENT)
    assert state.species == ("S", "P", "X1") and state.latent.tolist() == [False, False, True]
    mask = space.legal_mask(state)
    assert mask[space.encode_reaction(np.array([1, 0, 0]), np.array([0, 0, 1]))]     # S -> X1 now legal
    assert mask[space.ADD_LATENT] and not mask[space.STOP]
    both = space.apply(state, space.ADD_LATENT)
    assert not space.legal_mask(both)[space.ADD_LATENT], "max_latent reached"
    made = space.apply(state, space.encode_reaction(np.array([1, 0, 0]), np.array([0, 0, 1])))
    assert not space.legal_mask(made)[space.STOP], "X1 is made but not used yet"
    catalytic = space.apply(made, space.encode_reaction(np.array([1, 0, 1]), np.array([0, 1, 1])))
    assert not space.legal_mask(catalytic)[space.STOP], "a catalyst is not used up"
    used = space.apply(made, space.encode_reaction(np.array([0, 0, 1]), np.array([0, 1, 0])))
    mask = space.legal_mask(used)
    assert mask[space.STOP] and mask[space.ADD_LATENT]
    assert latent_complete(used).tolist() == [False, False, True]


def test_present_forbidden_required_and_max_reactions():
    space = ActionSpace(("A", "B"), forbidden=("B -> A",), required=("A -> B", "0 -> A"), max_reactions=3)
    a_to_b = space.encode_reaction(np.array([1, 0]), np.array([0, 1]))
    b_to_a = space.encode_reaction(np.array([0, 1]), np.array([1, 0]))
    source = space.encode_reaction(np.array([0, 0]), np.array([1, 0]))
    state = space.apply(space.initial_state(), a_to_b)
    mask = space.legal_mask(state)
    assert not mask[a_to_b] and not mask[b_to_a] and not mask[space.STOP]
    state = space.apply(state, source)
    assert space.legal_mask(state)[space.STOP]
    state = space.apply(state, space.encode_reaction(np.array([0, 1]), np.array([0, 0])))
    mask = space.legal_mask(state)
    assert not mask[: space.num_reaction_actions].any() and mask[space.STOP]
    with pytest.raises(ValueError, match="not legal"):
        space.apply(state, b_to_a)
    with pytest.raises(ValueError, match="unknown species"):
        ActionSpace(("A",), forbidden=("A -> Q",))


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_random_legal_walks_stay_valid(data):
    space = ActionSpace(("A", "B"), max_latent=2, max_reactions=6)
    state = space.initial_state()
    keys = {state.canonical_key()}
    for _ in range(8):
        mask = space.legal_mask(state)
        if not mask.any():
            break
        action = data.draw(st.sampled_from(np.flatnonzero(mask).tolist()))
        if action == space.STOP:
            assert latent_complete(state)[state.latent].all() and state.num_reactions > 0
            break
        nxt = space.apply(state, action)
        assert nxt.canonical_key() not in keys, "every edit makes a new network"
        keys.add(nxt.canonical_key())
        assert set(space.reaction_actions(state)) < set(space.reaction_actions(nxt)) or action == space.ADD_LATENT
        state = nxt
    assert isinstance(state, Crn)
