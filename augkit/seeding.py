"""Seeds derived from names, so results never depend on batch size, order or the number of processes.

``run.seed`` → ``derive_seed(run_seed, stage_name)`` per stage → ``derive_seed(stage_seed, example_id)``
per example. Never reseed a global generator inside a component; make a local one from these.

Library calls that draw from the global generators as a side effect (building or loading a model
initialises weights; training a tiny model draws batches) run inside ``isolated_rng()``: whatever they
draw, the global state afterwards is what it was before, so nothing that follows depends on whether a
cache was warm or a model had to be built.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
from typing import Iterator


def derive_seed(*parts) -> int:
    """A 63-bit seed from any parts (ints, strings), stable across Python versions and machines."""
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(h[:8], "little") >> 1


def example_rng(seed: int, example_id: str, *extra) -> random.Random:
    """A private ``random.Random`` for one example (a standard-library generator: ``rng.random()``,
    ``rng.sample(...)``, ``rng.choice(...)``) whose draws depend only on ``seed``, the example id and
    ``extra``."""
    return random.Random(derive_seed(seed, example_id, *extra))


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch global generators (for trainers, which draw from them)."""
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % 2**32)
    except ImportError:
        pass
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass


@contextlib.contextmanager
def isolated_rng(seed: int | None = None) -> Iterator[None]:
    """Run a block without touching the global random state of Python, NumPy and torch (CPU and every
    CUDA device): the states are saved on entry and restored on exit. With ``seed``, the block runs
    from ``seed_everything(seed)``, so what it draws is a function of ``seed`` alone."""
    import numpy as np
    import torch

    py_state, np_state = random.getstate(), np.random.get_state()
    devices = (
        list(range(torch.cuda.device_count())) if torch.cuda.is_available() and torch.cuda.is_initialized() else []
    )
    with torch.random.fork_rng(devices=devices):
        try:
            if seed is not None:
                seed_everything(seed)
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
