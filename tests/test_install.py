"""The installed package: imports from outside the checkout, no torch on import, every package listed."""
import configparser
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_imports_from_outside_the_checkout_without_torch(tmp_path):
    code = ("import sys, mcts_crn, mcts_crn.native; "
            "from mcts_crn import Crn, Dataset; "
            "assert 'torch' not in sys.modules, 'import mcts_crn pulled in torch'; "
            "print(mcts_crn.native.__name__)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "mcts_crn.native"


def test_every_subpackage_is_listed_in_setup_cfg():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    found = {".".join(("mcts_crn",) + p.parent.relative_to(ROOT / "mcts_crn").parts).rstrip(".")
             for p in (ROOT / "mcts_crn").rglob("__init__.py")}
    found = {f if f != "mcts_crn." else "mcts_crn" for f in found} | {"mcts_crn.native"}
    assert found == listed
