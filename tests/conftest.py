import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The suite runs in two workers (pyproject's addopts) on two cores: one thread per process keeps them from
# fighting over the cores (tiny models gain nothing from a second thread; two threads each made the
# suite slower in parallel than alone). Set before torch loads, for this process and every child.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "recipes" / "data"
AUGKIT = [sys.executable, "-m", "augkit"]


@pytest.fixture
def data_dir() -> Path:
    return DATA


def run_cli(*args, cwd=None, env=None, check=None):
    """Run the augkit command line in a fresh process; return the CompletedProcess."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([*AUGKIT, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=full_env,
                          timeout=600)
    if check is not None:
        assert proc.returncode == check, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def example_plugin_installed():
    """Install the example third-party plugin into this environment, as a user would."""
    from filelock import FileLock

    path = ROOT / "examples" / "augkit-mention-replace"
    with FileLock(Path(sys.prefix) / "augkit-example-plugin.lock"):  # test workers install it one at a time
        proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                               "-e", str(path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    # make the fresh install importable in this process too (its .pth is only read at start-up)
    import importlib
    import site
    import sysconfig

    site.addsitedir(sysconfig.get_paths()["purelib"])
    importlib.invalidate_caches()
    return path
