"""Every pure mass-action case of the SBML Test Suite kept in shared/data/sbml_suite.

Each case's ``k`` already has the compartment size folded in (and, for hasOnlySubstanceUnits species,
the size once per such factor), and ``expected`` / ``atol`` are concentrations, so the simulator uses
``k`` as given: the 21 cases with a compartment size other than 1 pass that way (see the suite's README).
"""
import json
from pathlib import Path

import numpy as np
import pytest

from mcts_crn import Crn
from mcts_crn.simulate import simulate_with_status

SUITE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sbml_suite"
CASES = sorted(SUITE.glob("*.json")) if SUITE.is_dir() else []


def _side(coefficients):
    return " + ".join(name for name, n in coefficients.items() for _ in range(int(n))) or "0"


def load_case(path):
    case = json.loads(path.read_text())
    text = "\n".join(f"{_side(r['reactants'])} -> {_side(r['products'])}" for r in case["reactions"])
    crn = Crn.from_text(text, species=case["species"])
    rates = np.array([r["k"] for r in case["reactions"]], dtype=np.float64)
    return case, crn, rates


@pytest.mark.skipif(not CASES, reason=f"SBML suite not found at {SUITE}")
def test_the_suite_is_complete():
    assert len(CASES) == 72


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
@pytest.mark.parametrize("method", ["auto", "rodas4"])
def test_sbml_case(path, method):
    case, crn, rates = load_case(path)
    assert list(crn.species) == case["species"]
    times = np.asarray(case["times"], dtype=np.float64)
    # rtol / atol as in shared/checks/contract.py.
    states, status = simulate_with_status(crn, rates, case["x0"], times, method=method, rtol=1e-9, atol=1e-12)
    assert status == 0
    assert states.shape == (len(times), len(case["species"]))
    for j, name in enumerate(case["species"]):
        if name not in case["expected"]:
            continue
        expected = np.asarray(case["expected"][name])
        error = np.abs(states[:, j] - expected)
        bound = case["atol"] + case["rtol"] * np.abs(expected)
        worst = int(np.argmax(error / bound))
        assert np.all(error <= bound), (f"{name} at t={times[worst]}: {states[worst, j]} vs {expected[worst]} "
                                        f"(bound {bound[worst]:.3g})")
