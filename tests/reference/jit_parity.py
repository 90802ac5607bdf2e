"""Run a script with numba's JIT on and off, for parity tests of the kernels against their Python source."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT_DIR = Path(__file__).resolve().parents[2]


def run_with_and_without_jit(script: str, folder: Path, timeout: float) -> dict[str, dict[str, np.ndarray]]:
    """The arrays ``script`` saves (``np.savez(sys.argv[1], ...)``), run once with ``NUMBA_DISABLE_JIT=0`` and
    once with ``1``, keyed by that flag; each run is a fresh interpreter in the checkout's root."""
    results = {}
    for flag in ("0", "1"):
        env = dict(os.environ, NUMBA_DISABLE_JIT=flag)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT_DIR), env.get("PYTHONPATH")]))
        out = folder / f"jit_disabled_{flag}.npz"
        run = subprocess.run([sys.executable, "-c", script, str(out)], cwd=ROOT_DIR, env=env,
                             capture_output=True, text=True, timeout=timeout)
        assert run.returncode == 0, run.stderr
        results[flag] = dict(np.load(out))
    return results
