import contextlib
import importlib.util
import sys
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


@contextlib.contextmanager
def experiment_script(relative: str, name: str):
    """The script ``experiments/<relative>`` imported as module ``name`` (registered in sys.modules while in
    use, which dataclasses and pickling need)."""
    spec = importlib.util.spec_from_file_location(name, EXPERIMENTS / relative)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[name]


@pytest.fixture
def one_torch_thread():
    """Tiny graphs: thread synchronization on a shared machine costs more than it saves (torch is imported
    only by the tests that ask for this)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared reference data not found at {SHARED}")
    return SHARED


def pytest_collection_modifyitems(config, items):
    """Tests marked slow run only when asked for with ``-m slow`` (setup.cfg: not in the default suite)."""
    if "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="slow study: run with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
