"""Seeds derived from names, so results never depend on batch size, order or the number of processes.

``run.seed`` → ``derive_seed(run_seed, stage_name)`` per stage → ``derive_seed(stage_seed, example_id)``
per example. Never reseed a global generator inside a component; make a local one from these.
"""
from __future__ import annotations

import hashlib
import random


def derive_seed(*parts) -> int:
    """A 63-bit seed from any parts (ints, strings), stable across Python versions and machines."""
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(h[:8], "little") >> 1


def example_rng(seed: int, example_id: str, *extra) -> random.Random:
    """A private ``random.Random`` for one example."""
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
