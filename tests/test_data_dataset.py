"""Experiment and Dataset: validation, derived data, noise model and estimate, random round trips."""
from __future__ import annotations

import ast
import dataclasses
import math
import sys
import tempfile
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from mcts_crn.config import DataConfig
from mcts_crn.data import DEFAULT_EXPERIMENT_NAME, Dataset, Experiment, estimate_noise

NAN = math.nan


def two_experiments() -> Dataset:
    experiments = (
        Experiment("a", [0.0, 1.0, 2.0], [[1.0, NAN], [2.0, 0.0], [NAN, 4.0]]),
        Experiment("b", [-1.0, 5.0], [[3.0, 1.0], [NAN, NAN]], {"L": 2.0}),
    )
    return Dataset(("S", "P"), experiments, noise=[0.1, 0.2], source="test")


# ---------------------------------------------------------------- Experiment


@pytest.mark.parametrize(
    ("times", "values", "fragment"),
    [
        ([0.0, 1.0, 1.0], [[1.0]] * 3, "strictly increase, but time 1.0 (index 2)"),
        ([0.0, 2.0, 1.0], [[1.0]] * 3, "strictly increase"),
        ([], np.empty((0, 1)), "non-empty 1-d"),
        ([0.0, NAN], [[1.0]] * 2, "times must be finite"),
        ([0.0, 1.0], [[1.0]], "shape [T=2, O]"),
        ([0.0, 1.0], [1.0, 2.0], "shape [T=2, O]"),
        ([0.0, 1.0], [[1.0], [math.inf]], "found an infinity"),
        ([0.0, 1.0], [[1.0], [-1e-9]], "must be >= 0"),
    ],
)
def test_experiment_refuses_bad_arrays(times: list[float], values: object, fragment: str) -> None:
    with pytest.raises(ValueError, match="experiment 'e'") as caught:
        Experiment("e", times, values)
    assert fragment in str(caught.value)


@pytest.mark.parametrize("name", ["", " a", "a/b", ".", "tab\there", 3])
def test_experiment_refuses_bad_names(name: object) -> None:
    with pytest.raises(ValueError, match="experiment name"):
        Experiment(name, [0.0], [[1.0]])  # type: ignore[arg-type]


@pytest.mark.parametrize("initial_values", [{"E": -1.0}, {"E": math.inf}, {"": 1.0}])
def test_experiment_refuses_bad_initial_values(initial_values: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Experiment("e", [0.0], [[1.0]], initial_values)


def test_experiment_copies_and_freezes_its_data() -> None:
    times, values, initial = np.array([0.0, 1.0]), np.array([[1, 2], [3, 4]]), {"E": 1}
    experiment = Experiment("e", times, values, initial)
    times[0], values[0, 0], initial["E"] = 9.0, 9, 9
    assert experiment.times[0] == 0.0 and experiment.values[0, 0] == 1.0 and experiment.initial_values["E"] == 1.0
    assert experiment.values.dtype == np.float64 and experiment.times.dtype == np.float64
    with pytest.raises(ValueError, match="read-only"):
        experiment.values[0, 0] = 5.0
    with pytest.raises(TypeError):
        experiment.initial_values["E"] = 5.0  # type: ignore[index]


def test_experiment_equality_is_exact_with_nan_positions() -> None:
    one = Experiment("e", [0.0, 1.0], [[1.0], [NAN]])
    assert one == Experiment("e", [0.0, 1.0], [[1.0], [NAN]])
    assert one != Experiment("e", [0.0, 1.0], [[NAN], [1.0]])
    assert one != Experiment("e", [0.0, 1.0], [[1.0], [NAN]], {"E": 1.0})


# ---------------------------------------------------------------- Dataset validation and construction


@pytest.mark.parametrize(
    ("species", "experiments", "noise", "fragment"),
    [
        ((), [Experiment("a", [0.0], np.empty((1, 0)))], 0.1, "at least one observed species"),
        (("S", "S"), [Experiment("a", [0.0], [[1.0, 1.0]])], 0.1, "species names must be unique"),
        (("Time",), [Experiment("a", [0.0], [[1.0]])], 0.1, "reserved"),
        (("S",), [], 0.1, "at least one experiment"),
        (("S",), [Experiment("a", [0.0], [[1.0, 2.0]])], 0.1, "2 value columns for 1 species"),
        (("S",), [Experiment("a", [0.0], [[1.0]])] * 2, 0.1, "experiment names must be unique"),
        (("S",), [Experiment("a", [0.0], [[NAN]]), Experiment("b", [0.0], [[NAN]])], 0.1, "no observed value"),
        (("S",), [Experiment("a", [0.0], [[1.0]])], [0.1, 0.2], "shape [O=1]"),
        (("S",), [Experiment("a", [0.0], [[1.0]])], 0.0, "finite and > 0"),
        (("S",), [Experiment("a", [0.0], [[1.0]])], {"R": 0.1}, "exactly the species"),
        (("S",), [(0.0, 1.0)], 0.1, "must be Experiment objects"),
    ],
)
def test_dataset_refuses_inconsistent_input(species: tuple, experiments: list, noise: object, fragment: str) -> None:
    with pytest.raises(ValueError) as caught:
        Dataset(species, experiments, noise=noise)
    assert fragment in str(caught.value)


@pytest.mark.parametrize("floor", [[0.5, 1.5], [0.0, 0.5], [0.5]])
def test_dataset_refuses_bad_noise_floors(floor: list[float]) -> None:
    with pytest.raises(ValueError, match="noise"):
        dataclasses.replace(two_experiments(), noise_floor=floor)


def test_dataset_refuses_unknown_noise_model() -> None:
    with pytest.raises(ValueError, match="noise_model must be one of"):
        Dataset(("S",), [Experiment("a", [0.0], [[1.0]])], noise=0.1, noise_model="poisson")


def test_from_arrays_forms() -> None:
    single = Dataset.from_arrays(["S"], ([0.0, 1.0], [[1.0], [2.0]]), noise={"S": 0.3}, initial_values={"E": 1.0})
    assert single.experiments[0].name == DEFAULT_EXPERIMENT_NAME
    assert dict(single.experiments[0].initial_values) == {"E": 1.0}
    assert single.noise.tolist() == [0.3] and single.noise_given and single.source == "arrays"
    experiments = two_experiments().experiments
    many = Dataset.from_arrays(["S", "P"], experiments, noise=0.1, noise_model="absolute", source="lab")
    assert many.experiments == experiments and many.noise.tolist() == [0.1, 0.1] and many.noise_model == "absolute"
    assert Dataset.from_arrays(["S", "P"], experiments[0], noise=0.1).experiments == experiments[:1]
    with pytest.raises(ValueError, match="initial_values goes with a"):
        Dataset.from_arrays(["S", "P"], experiments, initial_values={"E": 1.0})
    with pytest.raises(ValueError, match="a .times, values. pair"):
        Dataset.from_arrays(["S"], ([0.0], [[1.0]], [2.0]))


def test_noise_array_is_read_only_float64() -> None:
    dataset = two_experiments()
    assert dataset.noise.dtype == np.float64
    with pytest.raises(ValueError, match="read-only"):
        dataset.noise[0] = 1.0


# ---------------------------------------------------------------- derived data


def test_counts_span_and_scale() -> None:
    dataset = two_experiments()
    assert (dataset.num_experiments, dataset.num_species, dataset.num_points) == (2, 2, 6)
    assert dataset.time_span == (-1.0, 5.0)
    assert dataset.species_scale.tolist() == [3.0, 4.0]


def test_summary_describes_every_experiment_and_the_noise() -> None:
    text = two_experiments().summary()
    assert text.splitlines() == [
        "Data set test: 2 experiment(s), 2 observed species, 6 observed values",
        "noise (relative, given): S 0.1, P 0.2",
        "experiment 'a': 3 times from 0 to 2",
        "  S: 2 values in [1, 2]",
        "  P: 2 values in [0, 4]",
        "experiment 'b': 2 times from -1 to 5",
        "  S: 1 values in [3, 3]",
        "  P: 1 values in [1, 1]",
    ]


def test_summary_gives_each_species_error_model_and_what_the_estimate_could_not_tell() -> None:
    dataset = dataclasses.replace(two_experiments(), noise_floor=[1.0, 0.05], noise_given=False,
                                  noise_note="P: 2 pseudo-residuals")
    # S: absolute noise of 0.1 x its scale 3; P: 20% above 5% of its scale 4 (0.2 x 0.05 x 4 = 0.04)
    assert dataset.noise_description() == ["S 0.3 (absolute)", "P 0.2 (at least 0.04)"]
    lines = dataset.summary().splitlines()
    assert lines[1] == "noise (relative, estimated): S 0.3 (absolute), P 0.2 (at least 0.04)"
    assert lines[2] == "noise estimate: P: 2 pseudo-residuals (give --noise if it is known)"
    a, _ = dataset.sigmas()
    np.testing.assert_allclose(a, [[0.3, NAN], [0.3, 0.04], [NAN, 0.8]])
    assert "noise estimate" not in two_experiments().summary()


def test_subset_by_name_and_index_keeps_noise() -> None:
    dataset = two_experiments()
    part = dataset.subset(["b"])
    assert [x.name for x in part.experiments] == ["b"] and part.noise.tolist() == [0.1, 0.2]
    assert [x.name for x in dataset.subset([1, "a"]).experiments] == ["b", "a"]
    assert dataset.subset("a").experiments == dataset.experiments[:1]
    with pytest.raises(KeyError, match="no experiment 'c'"):
        dataset.subset(["c"])
    with pytest.raises(ValueError, match="experiment names must be unique"):
        dataset.subset(["a", 0])


def test_with_noise_sets_or_estimates() -> None:
    dataset = two_experiments()
    given_noise = dataset.with_noise([0.5, 0.6], "absolute")
    assert given_noise.noise.tolist() == [0.5, 0.6] and given_noise.noise_model == "absolute"
    assert given_noise.noise_given
    estimated = dataset.with_noise()
    assert not estimated.noise_given and estimated.noise_model == "relative"
    assert estimated.experiments == dataset.experiments
    with pytest.raises(ValueError, match="noise_model"):
        dataset.with_noise(0.1, "log")


def test_sigmas_follow_the_noise_model() -> None:
    dataset = two_experiments()
    floor = DataConfig().scale_floor
    a, b = dataset.sigmas()
    # relative: noise_j * max(|y|, scale_floor * scale_j), scale = [3, 4]; the zero gets the floor
    np.testing.assert_array_equal(a, [[0.1 * 1.0, NAN], [0.1 * 2.0, 0.2 * floor * 4.0], [NAN, 0.2 * 4.0]])
    np.testing.assert_array_equal(b, [[0.1 * 3.0, 0.2 * 1.0], [NAN, NAN]])
    a, b = dataset.with_noise([0.1, 0.2], "absolute").sigmas()
    np.testing.assert_array_equal(a, [[0.1, NAN], [0.1, 0.2], [NAN, 0.2]])


# ---------------------------------------------------------------- noise estimate

# The estimate is a scaled median of about 400 standardised pseudo-residuals. Over 300 seeds of exactly
# these set-ups its ratio to the true level had mean 1.00 and standard deviation 0.074 (relative and
# absolute alike), and the curvature of the signals adds < 1% at this sampling density. A tolerance of
# 30% is therefore about four standard deviations: it fails for a wrong formula (e.g. a missing
# standardisation, which is off by sqrt(1.5) or more) but not for an unlucky seed.
TOLERANCE = 0.3


def noisy_experiments(noise_model: str, level: float, seed: int) -> list[Experiment]:
    rng = np.random.default_rng(seed)
    experiments = []
    for k in range(2):
        times = np.sort(rng.uniform(0.0, 10.0, 200))  # uneven grids, different per experiment
        signal = np.stack([10.0 + 5.0 * np.sin(times + k), 100.0 * np.exp(-times / 3.0) + 20.0], axis=1)
        error = level * rng.standard_normal(signal.shape)
        observed = signal * (1.0 + error) if noise_model == "relative" else signal + error
        experiments.append(Experiment(str(k), times, observed))
    return experiments


@pytest.mark.parametrize(("noise_model", "level"), [("relative", 0.05), ("absolute", 0.5)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_estimate_recovers_known_gaussian_noise(noise_model: str, level: float, seed: int) -> None:
    estimate = estimate_noise(("S", "P"), noisy_experiments(noise_model, level, seed), noise_model=noise_model)
    np.testing.assert_allclose(estimate.level, level, rtol=TOLERANCE)
    assert not estimate.uncertain.any() and estimate.note == ""


def test_estimate_uses_gaps_and_ignores_missing_values() -> None:
    experiments = noisy_experiments("relative", 0.05, seed=3)
    holes = [Experiment(x.name, x.times, np.where(np.arange(x.num_times)[:, None] % 3 == 0, NAN, x.values))
             for x in experiments]
    np.testing.assert_allclose(estimate_noise(("S", "P"), holes).level, 0.05, rtol=TOLERANCE)


def test_estimate_of_noiseless_straight_lines_is_the_floor() -> None:
    times = np.linspace(0.0, 1.0, 20)
    experiment = Experiment("e", times, np.stack([1.0 + times, 50.0 - 2.0 * times], axis=1))
    config = DataConfig(noise_floor=0.01)
    np.testing.assert_allclose(estimate_noise(("S", "P"), [experiment], config=config).level, 0.01)
    # absolute: the floor is relative to each species' scale (largest value 2 and 50)
    absolute = estimate_noise(("S", "P"), [experiment], noise_model="absolute", config=config)
    np.testing.assert_allclose(absolute.level, [0.01 * 2.0, 0.01 * 50.0])


def test_estimate_pools_sparse_species_and_falls_back_without_data(caplog: pytest.LogCaptureFixture) -> None:
    values = [[1.0, 1.0], [2.0, NAN], [1.0, NAN], [2.0, 3.0], [1.0, NAN]]  # P: 2 points, no pseudo-residual
    experiment = Experiment("e", [0.0, 1.0, 2.0, 3.0, 4.0], values)
    estimate = estimate_noise(("S", "P"), [experiment], config=DataConfig(fallback_noise=0.25))
    # P shares the level of all species pooled (here S's alone); both are too few to be sure of
    assert estimate.pooled.tolist() == [False, True] and estimate.level[1] == estimate.level[0] > 0.25
    assert estimate.uncertain.all() and "P: 3 pseudo-residuals (all species pooled)" in estimate.note
    sparse = Experiment("e", [0.0, 1.0, 2.0, 3.0], [[1.0, 1.0], [2.0, NAN], [NAN, NAN], [NAN, 3.0]])
    estimate = estimate_noise(("S", "P"), [sparse], config=DataConfig(fallback_noise=0.25))
    assert estimate.level.tolist() == [0.25, 0.25] and estimate.uncertain.all()
    assert "species 'P'" in caplog.text and "fallback" in caplog.text and "fallback 0.25" in estimate.note


def test_from_arrays_estimates_when_noise_is_absent() -> None:
    experiments = noisy_experiments("absolute", 0.5, seed=4)
    dataset = Dataset.from_arrays(["S", "P"], experiments, noise_model="absolute")
    assert not dataset.noise_given
    np.testing.assert_array_equal(dataset.noise, estimate_noise(("S", "P"), experiments, noise_model="absolute").level)


# ---------------------------------------------------------------- random round trips

names = st.text(alphabet="abXY09_-. ", min_size=1, max_size=4).filter(
    lambda name: name == name.strip() and set(name) != {"."}
)


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    """Small data sets with gaps that every format can hold: each experiment and species has a value."""
    species = draw(st.lists(st.text(alphabet="ABSXZ_", min_size=1, max_size=3), min_size=1, max_size=3, unique=True))
    experiment_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    grids, values, missing = [], [], []
    for _ in experiment_names:
        grids.append(sorted(draw(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=5, unique=True))))
        shape = (len(grids[-1]), len(species))
        size = shape[0] * shape[1]
        values.append(np.array(draw(st.lists(st.floats(0.0, 1e300), min_size=size, max_size=size))).reshape(shape))
        missing.append(np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size))).reshape(shape))
        missing[-1][0, draw(st.integers(0, len(species) - 1))] = False  # every experiment has a value
    for j in range(len(species)):
        if all(mask[:, j].all() for mask in missing):  # every species has a value
            missing[draw(st.integers(0, len(missing) - 1))][0, j] = False
    initial_values = st.dictionaries(st.sampled_from(["S", "L1"]), st.floats(0.0, 1e6), max_size=2)
    experiments = [
        Experiment(name, times, np.where(mask, NAN, array), draw(initial_values))
        for name, times, array, mask in zip(experiment_names, grids, values, missing)
    ]
    return Dataset(
        species,
        experiments,
        noise=draw(st.lists(st.floats(1e-3, 10.0), min_size=len(species), max_size=len(species))),
        noise_model=draw(st.sampled_from(["relative", "absolute"])),
        noise_given=draw(st.booleans()),
        source=draw(st.text(alphabet=st.characters(exclude_characters="\0"), max_size=10)),
        noise_floor=draw(st.none() | st.lists(st.floats(1e-12, 1.0), min_size=len(species), max_size=len(species))),
        noise_note=draw(st.text(alphabet="SP: ()1.x", max_size=20)),
    )


@settings(max_examples=40, deadline=None)
@given(datasets())
def test_random_data_sets_pickle_exactly_and_stay_frozen(dataset: Dataset) -> None:
    """Data sets pass to other processes (multiprocessing pickles them) unchanged and still read-only."""
    import pickle

    copy = pickle.loads(pickle.dumps(dataset))
    assert copy == dataset and copy.source == dataset.source
    for experiment in copy.experiments:
        assert not experiment.values.flags.writeable
        with pytest.raises(TypeError):
            experiment.initial_values["X"] = 1.0  # type: ignore[index]


@settings(max_examples=60, deadline=None)
@given(datasets())
def test_random_data_sets_round_trip_exactly_through_hdf5(dataset: Dataset) -> None:
    with tempfile.TemporaryDirectory() as folder:
        dataset.to_hdf5(Path(folder) / "data.h5")
        assert Dataset.from_hdf5(Path(folder) / "data.h5") == dataset


@pytest.mark.parametrize("source, as_text", [("\ud800", False), ("data_\udcff.csv", False), ("plain.csv", True),
                                             ("caf\u00e9 \u03b1.csv", True)])
def test_sources_that_utf8_cannot_hold_round_trip_through_hdf5(source: str, as_text: bool) -> None:
    """A lone surrogate (hypothesis found ``\\ud800``; ``os.fsdecode`` gives one for a file name with
    undecodable bytes) is stored as bytes and read back as the same string; other names stay UTF-8 text."""
    import h5py

    dataset = dataclasses.replace(Dataset.from_arrays(["S"], (np.arange(3.0), np.ones((3, 1))), noise=0.1),
                                  source=source)
    with tempfile.TemporaryDirectory() as folder:
        dataset.to_hdf5(Path(folder) / "data.h5")
        assert Dataset.from_hdf5(Path(folder) / "data.h5").source == source
        with h5py.File(Path(folder) / "data.h5") as file:
            assert isinstance(file.attrs["source"], str) == as_text


@settings(max_examples=60, deadline=None)
@given(datasets())
def test_random_data_sets_round_trip_exactly_through_csv(dataset: Dataset) -> None:
    with tempfile.TemporaryDirectory() as folder:
        dataset.to_csv(Path(folder) / "data.csv")
        again = Dataset.from_csv(Path(folder) / "data.csv", noise=dataset.noise, noise_model=dataset.noise_model)
    assert again.species == dataset.species
    assert again.experiments == tuple(dataclasses.replace(x, initial_values={}) for x in dataset.experiments)


def test_data_layer_imports_only_numpy_h5py_stdlib_and_config() -> None:
    """data is the most upstream layer (STYLE.md: imports point downstream only)."""
    folder = Path(__file__).resolve().parents[1] / "mcts_crn" / "data"
    third_party = set(sys.stdlib_module_names) | {"numpy", "h5py"}
    own = {"mcts_crn", "mcts_crn.config"}  # mcts_crn itself only for __version__
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                ok = module.split(".")[0] in third_party or module in own or module.startswith("mcts_crn.data")
                assert ok, f"{path.name} imports {module}"
