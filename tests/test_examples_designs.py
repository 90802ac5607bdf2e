"""Data designs: draws within their ranges, seeded, and data with the stated noise."""
from __future__ import annotations

import numpy as np
import pytest

from mcts_crn.examples import EXAMPLES, DesignRanges, random_design


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_designs_stay_in_their_ranges_and_repeat_with_the_seed(name: str) -> None:
    model, ranges = EXAMPLES[name], DesignRanges()
    design = random_design(model, 7)
    assert design == random_design(model, 7)
    m = design.model
    assert ranges.num_experiments[0] <= len(m.initial) <= ranges.num_experiments[1]
    assert ranges.num_times[0] <= m.num_times <= ranges.num_times[1]
    assert ranges.span_factor[0] <= m.t_end / model.t_end <= ranges.span_factor[1]
    assert ranges.noise[0] <= design.noise <= ranges.noise[1] and design.noise_model in ranges.noise_models
    for e, amounts in enumerate(m.initial):
        base = model.initial[e % len(model.initial)]
        assert set(amounts) == {s for s, v in base.items() if v}  # species starting at zero stay at zero
        for s, v in amounts.items():
            assert ranges.amount_factor[0] <= v / base[s] <= ranges.amount_factor[1]
    assert m.crn.canonical_key() == model.crn.canonical_key() and m.rates == model.rates


@pytest.mark.parametrize("noise_model", ["relative", "absolute"])
def test_design_data_have_the_stated_noise(noise_model: str) -> None:
    model = EXAMPLES["dimerisation"]
    design = random_design(model, 3, DesignRanges(num_times=(200, 200), noise=(0.05, 0.05),
                                                  noise_models=(noise_model,)))
    data = design.make_dataset(np.random.default_rng(0))
    clean = np.concatenate(design.model.trajectories())[:, [design.model.crn.species_index(s) for s in data.species]]
    values = np.concatenate([x.values for x in data.experiments])
    keep = values > 0  # zeros are clipped draws
    if noise_model == "relative":
        errors = (values / np.where(clean > 0, clean, 1.0) - 1.0)[keep & (clean > 0)]
    else:
        errors = ((values - clean) / clean.max(axis=0))[keep]
    # about 200 x experiments draws of N(0, 0.05^2): the sample s.d. within 15%
    assert errors.size > 150 and abs(errors.std() / 0.05 - 1.0) < 0.15
    assert data.noise_model == noise_model and data.noise_given
