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
    args = SimpleNamespace(out=tmp_path, time_limit=4.0, seed=3, prior="heuristic", top=3, via_csv=False, workers=2,
                           batch_size=2)
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
