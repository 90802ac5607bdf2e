"""The search command line: output files, determinism, SBML validity."""
import json
import subprocess
import sys

import numpy as np
import pytest

from mcts_crn.render.sbml import from_sbml, sbml_errors
from mcts_crn.simulate import simulate


def run_cli(out, *extra):
    cmd = [sys.executable, "-m", "mcts_crn.search", "--example", "dimerisation", "--simulations", "12",
           "--seed", "4", "--top", "3", "--out", str(out), "--quiet", *extra]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_cli_writes_every_file_and_is_deterministic(tmp_path):
    stdout = run_cli(tmp_path / "a")
    run_cli(tmp_path / "b")
    assert "best network" in stdout and "dD/dt" in stdout
    a = json.loads((tmp_path / "a" / "result.json").read_text())
    # the header names the stage whose fit found the best network (the trace row at num_fits_to_best)
    stage = a["trace"][a["num_fits_to_best"] - 1]["stage"]
    found = {"tree": "the tree search", "climb": "polishing", "prune": "pruning"}[stage]
    assert f"found by {found};" in stdout
    b = json.loads((tmp_path / "b" / "result.json").read_text())
    a.pop("elapsed"), b.pop("elapsed")
    assert a == b
    for key in ("best", "alternatives", "num_fits", "num_fits_to_best", "seed", "config", "version"):
        assert key in a
    for key in ("reactions", "rates", "ode_text", "ode_latex", "reward", "loss"):
        assert key in a["best"]
    assert 0.0 <= a["best"]["reward"] <= 1.0
    assert all(x["reward"] <= a["best"]["reward"] for x in a["alternatives"])
    for name in ("model.tex", "model.xml", "fit.png"):
        assert (tmp_path / "a" / name).stat().st_size > 0

    # the SBML is consistent and, read back, simulates to the best network's trajectories
    text = (tmp_path / "a" / "model.xml").read_text()
    assert sbml_errors(text) == []
    crn, rates, x0 = from_sbml(text)
    assert crn.reactions_text() == a["best"]["reactions"]
    # libsbml writes doubles with 15 significant digits
    np.testing.assert_allclose(rates, a["best"]["rates"], rtol=1e-14)
    times = np.linspace(0, 10, 21)
    from mcts_crn.crn import Crn

    again = Crn.from_text("\n".join(a["best"]["reactions"]), species=a["best"]["species"])
    np.testing.assert_allclose(simulate(crn, rates, x0, times, rtol=1e-10, atol=1e-12),
                               simulate(again, np.array(a["best"]["rates"]), np.array(a["best"]["x0"][0]), times,
                                        rtol=1e-10, atol=1e-12), rtol=1e-8, atol=1e-12)


def test_cli_reports_bad_input_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("time,S\n0,1\n1,-2\n")
    done = subprocess.run([sys.executable, "-m", "mcts_crn.search", str(bad), "--quiet"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert "bad.csv" in done.stderr and "line 3" in done.stderr and "Traceback" not in done.stderr
    missing = tmp_path / "missing.csv"
    done = subprocess.run([sys.executable, "-m", "mcts_crn.search", str(missing), "--quiet"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert "missing.csv" in done.stderr and "No such file" in done.stderr and "Traceback" not in done.stderr


def test_cli_budget_in_fits(tmp_path):
    from mcts_crn.search.__main__ import main

    assert main(["--example", "dimerisation", "--max-fits", "40", "--seed", "4", "--quiet",
                 "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["config"]["search"]["max_fits"] == 40 and result["config"]["search"]["num_simulations"] is None
    assert 0.98 * 40 <= result["num_fit_calls"] <= 40 + 2 + result["config"]["search"]["rollout_depth"]


def test_cli_workers_and_batches_give_the_same_result_json(tmp_path):
    """``--workers`` fits in processes and changes nothing but the recorded setting and the time;
    ``--batch-size`` is recorded (the search selects that many leaves at a time)."""
    from mcts_crn.search.__main__ import main

    results = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        assert main(["--example", "dimerisation", "--max-fits", "60", "--seed", "4", "--quiet", "--batch-size", "3",
                     "--workers", str(workers), "--out", str(out)]) == 0
        results.append(json.loads((out / "result.json").read_text()))
    for result, workers in zip(results, (1, 2)):
        assert result["config"]["search"]["workers"] == workers and result["config"]["search"]["batch_size"] == 3
        result.pop("elapsed")
        result["config"]["search"].pop("workers")
    assert results[0] == results[1]


def test_load_data_gives_the_run_its_data(tmp_path):
    from mcts_crn.data import Dataset
    from mcts_crn.examples import get_example
    from mcts_crn.search.__main__ import load_data, run_seeds

    model = get_example("michaelis_menten")
    dataset, latent = load_data(example="michaelis_menten", seed=7)
    assert latent == model.crn.num_latent == 2 and dataset.species == model.observed
    # the data seed is the first of the two the run's seed spawns; the search's is the second
    expected = model.make_dataset(noise=0.05, rng=np.random.default_rng(np.random.SeedSequence(7).spawn(2)[0]))
    np.testing.assert_array_equal(dataset.experiments[0].values, expected.experiments[0].values)
    assert run_seeds(7)[1].entropy == 7 and run_seeds(7)[1].spawn_key == (1,)
    again, _ = load_data(example="michaelis_menten", seed=8)
    assert not np.array_equal(again.experiments[0].values, dataset.experiments[0].values)
    path = tmp_path / "data.csv"
    dataset.to_csv(path)
    from_file, latent = load_data(data=path, noise=0.1)
    assert latent == 0
    plain = Dataset.from_csv(path)
    assert from_file.species == plain.species
    np.testing.assert_array_equal(from_file.experiments[0].values, plain.experiments[0].values)
    assert from_file.sigmas()[0] != pytest.approx(plain.sigmas()[0])  # the given noise level replaces the estimate
    with pytest.raises(ValueError, match="one of example and data"):
        load_data(example="michaelis_menten", data=path)
    absolute, _ = load_data(data=path, noise=0.3, noise_model="absolute")
    assert absolute.noise_model == "absolute" and absolute.noise_given and absolute.noise.tolist() == [0.3, 0.3]
    with pytest.raises(ValueError, match="an example's noise is relative"):
        load_data(example="michaelis_menten", noise_model="absolute")
    assert not plain.noise_given and plain.noise_floor is not None  # estimated: a floor per species


def test_cli_records_the_noise_it_searched_with(tmp_path):
    from mcts_crn.examples import get_example

    path = tmp_path / "data.csv"
    get_example("dimerisation").make_dataset(noise=0.05, rng=1).to_csv(path)
    done = subprocess.run([sys.executable, "-m", "mcts_crn.search", str(path), "--simulations", "3", "--quiet",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    noise = json.loads((tmp_path / "out" / "result.json").read_text())["data"]["noise"]
    assert noise["model"] == "relative" and not noise["given"] and len(noise["floor"]) == 2
    assert noise["level"] == pytest.approx([0.05, 0.05], rel=0.3)  # 2 x 41 points of 5% relative noise
    assert noise["description"][0].startswith("M ")
    done = subprocess.run([sys.executable, "-m", "mcts_crn.search", str(path), "--noise-model", "absolute",
                           "--quiet"], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "give --noise too" in done.stderr
