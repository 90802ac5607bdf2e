"""experiments/recovery.py: the models file of held-out published models, and a run through the user's CSV path."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

from mcts_crn.data import Dataset
from mcts_crn.examples import EXAMPLES

from conftest import EXPERIMENTS, experiment_script

HELDOUT = EXPERIMENTS / "heldout_models.json"


@pytest.fixture(scope="module")
def recovery():
    with experiment_script("recovery.py", "recovery_script") as module:
        yield module


def test_heldout_models_are_new_and_have_visible_dynamics(recovery):
    models = recovery.load_models(HELDOUT)
    assert len(models) >= 8
    built_in = {model.crn.canonical_key() for model in EXAMPLES.values()}
    for name, model in models.items():
        assert name not in EXAMPLES
        assert model.crn.canonical_key() not in built_in, name
        states = np.concatenate(model.trajectories())
        observed = states[:, [model.crn.species_index(s) for s in model.observed]]
        # over the experiments, every measured species moves by far more than the 5% noise on its scale
        assert (observed.max(axis=0) - observed.min(axis=0) > 0.2 * observed.max(axis=0)).all(), name


def test_a_bad_models_file_names_the_file_and_the_model(recovery, tmp_path):
    path = tmp_path / "models.json"
    path.write_text(json.dumps({"models": [{"name": "bad", "title": "", "citation": "", "reactions": "A -> B",
                                            "rates": [1.0, 2.0], "initial": [{"A": 1}], "observed": ["A", "B"],
                                            "t_end": 1.0}]}))
    with pytest.raises(SystemExit, match=r"models\.json: model bad: 2 rates for 1 reactions"):
        recovery.load_models(path)
    path.write_text("[1, 2]")
    with pytest.raises(SystemExit, match=r"models\.json: not a models file"):
        recovery.load_models(path)


def test_a_model_runs_through_a_csv_file_as_a_user_would(recovery, tmp_path):
    model = recovery.load_models(HELDOUT)["consecutive"]
    args = SimpleNamespace(out=tmp_path, time_limit=None, max_fits=60, seed=3, prior="heuristic", top=3,
                           via_csv=False, workers=2, batch_size=2, noise_given=False)
    row = recovery.run_one(model, args)
    assert "error" not in row, row.get("error")
    data = Dataset.from_csv(tmp_path / "consecutive" / "data.csv")
    assert data.species == model.observed
    expected = model.make_dataset(noise=0.05, rng=np.random.default_rng([3, recovery.zlib.crc32(b"consecutive")]))
    np.testing.assert_allclose(data.experiments[0].values, expected.experiments[0].values, rtol=1e-12)
    result = json.loads((tmp_path / "consecutive" / "result.json").read_text())
    assert result["config"]["search"]["max_latent"] == model.crn.num_latent == 1
    assert result["config"]["search"]["workers"] == 2  # the CLI's fitting processes started and ended with it
    assert result["config"]["search"]["batch_size"] == 2
    assert row["num_fits"] == result["num_fit_calls"] > 0
    assert row["rank"] is None or 1 <= row["rank"] <= 4


def _result(crn, value, others=(), chi2=1.0):
    """A search result (the fields ``truth_check`` reads) whose best network is ``crn`` with reward ``value``
    and chi-square per point ``chi2``, with the ``others`` ((network, reward) pairs) in its trace too."""
    from mcts_crn.config import SearchConfig

    entries = [(crn, value), *others]
    rows = [{"key": c.canonical_key(), "reactions": c.reactions_text(), "reward": r, "complete": True,
             "success": True} for c, r in entries]
    return {"best": {"key": crn.canonical_key(), "reactions": crn.reactions_text(), "reward": value,
                     "chi2_per_point": chi2},
            "trace": rows, "config": {"search": {"simplicity": SearchConfig().simplicity}}}


def test_a_truth_fitted_far_worse_than_the_noise_is_not_called_a_limit_of_the_data(recovery):
    # dimerisation's data (5% noise) searched as if their noise were 0.1%: the truth's refit is 50^2 times
    # the noise per point, which no data can explain away, so a better-ranked network is not a "data" verdict
    from mcts_crn import Crn

    model = EXAMPLES["dimerisation"]
    dataset = model.make_dataset(noise=0.05, rng=0).with_noise(0.001)
    other = Crn.from_text("2 M -> D", species=["M", "D"], observed=["M", "D"])
    check = recovery.truth_check(model, dataset, _result(other, 0.99, chi2=1.0), seed=0)
    assert check["truth_chi2"] > 100 and check["miss"] == "fit"
    check = recovery.truth_check(model, dataset, _result(other, 0.99, chi2=check["truth_chi2"]), seed=0)
    assert check["miss"] == "data"  # the best network fits no better per point: nothing says the fit failed
    assert "fit: truth" in recovery.why_missed({**check, "miss": "fit"})


def test_a_truth_that_simpler_networks_outscore_is_a_limit_of_the_data(recovery):
    # tumour_immune's first data draw: a five-reaction network with its one latent species fits better than
    # the seven-reaction truth (the known case of the reward's calibration, tests/test_reward.py)
    from mcts_crn import Crn, fit_rates, reward
    from mcts_crn.search.__main__ import load_data

    model = EXAMPLES["tumour_immune"]
    dataset, latent = load_data(example="tumour_immune", seed=0)
    assert latent == model.crn.num_latent == 1
    found = Crn.from_text("E -> E + X1\nT + X1 -> 2 T\nE + X1 -> T + X1\nT -> 0\n2 T -> E + T",
                          species=["E", "T", "X1"], observed=["E", "T"])
    fit = fit_rates(found, dataset, rng=1)
    value = reward(fit, found, dataset)
    truth_fit = fit_rates(model.crn, dataset, rng=1)
    truth_value = reward(truth_fit, model.crn, dataset)
    assert value > truth_value
    poorer = Crn.from_text("T -> 2 T\nE -> 0", species=["E", "T"], observed=["E", "T"])
    poorer_value = reward(fit_rates(poorer, dataset, rng=1), poorer, dataset)
    assert poorer_value < truth_value
    check = recovery.truth_check(model, dataset, _result(found, value, [(poorer, poorer_value)]), seed=0)
    assert check["miss"] == "data"
    assert check["above_truth"] == 1  # the found network; not the poorer one
    assert check["truth_reward"] < value
    assert "1 fitted networks rank above the truth" in recovery.why_missed(check)


def test_the_truth_is_fitted_with_the_search_s_names_for_its_latent_species(recovery):
    # an example's data know the initial amounts of E and C by name (E = 1, C = 0); a network of the search
    # names them X1 and X2 and fits them, with two more parameters, as the truth must be to be compared
    from mcts_crn import Crn, fit_rates, reward
    from mcts_crn.search.__main__ import load_data

    model = EXAMPLES["michaelis_menten"]
    dataset, _ = load_data(example="michaelis_menten", seed=0)
    searched = Crn.from_text("S + X1 -> X2\nX2 -> S + X1\nX2 -> P + X1", species=["S", "P", "X1", "X2"],
                             observed=["S", "P"])
    assert searched.canonical_key() == model.crn.canonical_key()
    as_searched = fit_rates(searched, dataset, rng=0)
    own_names = fit_rates(model.crn, dataset, rng=0)
    assert as_searched.num_params == own_names.num_params + 2
    check = recovery.truth_check(model, dataset, _result(searched, 0.0), seed=0)
    assert check["truth_reward"] == pytest.approx(reward(as_searched, searched, dataset), abs=1e-3)
    assert check["truth_reward"] != pytest.approx(reward(own_names, model.crn, dataset), abs=1e-3)


def test_a_truth_that_outscores_the_best_network_was_missed_by_the_search(recovery):
    # the phosphorylation cycle's first data draw: the best network of a 480-s search scores 0.60, the truth 0.68
    from mcts_crn import Crn, fit_rates, reward
    from mcts_crn.search.__main__ import load_data

    model = EXAMPLES["phosphorylation_cycle"]
    dataset, _ = load_data(example="phosphorylation_cycle", seed=0)
    species = ["S", "Sp", "E", "F"]
    found = Crn.from_text("0 -> E + F\nS + X1 -> X2\nX2 -> Sp + X1\nF -> S + E\nS + E -> S\nSp + F -> S\n"
                          "S + Sp -> Sp + E\nE + F -> X1", species=species + ["X1", "X2"], observed=species)
    fit = fit_rates(found, dataset, rng=1)
    check = recovery.truth_check(model, dataset, _result(found, reward(fit, found, dataset)), seed=0)
    assert check["miss"] == "search"
    assert check["truth_reward"] > check["best_reward"] + 0.05
    assert check["above_truth"] == 0
    assert recovery.why_missed(check).startswith("search: truth 0.6")


def test_the_truth_is_refitted_on_the_data_the_search_ran_on(recovery, tmp_path):
    # dimerisation is found within 200 fits (the 65th through a CSV file, with its initial amounts fitted): the
    # truth's reward refitted by the study is the search's own
    args = SimpleNamespace(out=tmp_path, time_limit=None, max_fits=200, seed=5, prior="heuristic", top=3,
                           via_csv=False, workers=1, batch_size=1)
    row = recovery.run_one(EXAMPLES["dimerisation"], args)
    assert "error" not in row, row.get("error")
    result = json.loads((tmp_path / "dimerisation" / "result.json").read_text())
    truth = EXAMPLES["dimerisation"].crn.canonical_key()
    searched = max(r["reward"] for r in result["trace"] if r["key"] == truth)
    assert row["truth_reward"] == pytest.approx(searched, abs=1e-4)
    assert row["miss"] is None and row["best_is_truth"]
    # the same through the user's CSV path (data drawn by the study), the noise estimated and given
    for noise_given in (False, True):
        row = recovery.run_one(EXAMPLES["dimerisation"], SimpleNamespace(**{**vars(args), "via_csv": True,
                                                                            "noise_given": noise_given}))
        result = json.loads((tmp_path / "dimerisation" / "result.json").read_text())
        assert result["data"]["noise"]["given"] == noise_given
        searched = max(r["reward"] for r in result["trace"] if r["key"] == truth)
        assert row["truth_reward"] == pytest.approx(searched, abs=1e-4)


def test_the_truth_is_ranked_as_the_search_ranks_networks(recovery):
    # Robertson's first data draw: a network as complex, rewarded 1.6e-4 above the truth, ranks below it
    # once the search's simplicity term is counted (the truth changes fewer molecules), so a search that
    # ends there missed the truth; by the reward alone it would look like a limit of the data
    from mcts_crn import Crn, fit_rates, reward
    from mcts_crn.search.__main__ import load_data

    model = EXAMPLES["robertson"]
    dataset, _ = load_data(example="robertson", seed=0)
    other = Crn.from_text("A -> B + C\nB + C -> A\n2 B -> B", species=["A", "B", "C"], observed=["A", "B", "C"])
    value = reward(fit_rates(other, dataset, rng=0), other, dataset)
    check = recovery.truth_check(model, dataset, _result(other, value), seed=0)
    assert value > check["truth_reward"]
    assert check["miss"] == "search" and check["above_truth"] == 0
