"""What a run ran on: versions, plugins, seed, process topology (written to env.json)."""
from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from typing import Any

PACKAGES = ("augkit", "torch", "transformers", "datasets", "accelerate", "tokenizers", "sentencepiece",
            "scikit-learn", "seqeval", "pluggy", "rich", "safetensors", "numpy", "fairseq", "fairseq-fixed")


def topology() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) from torchrun / accelerate launch variables; (0, 1, 0) otherwise."""
    rank = int(os.environ.get("RANK", 0))
    world = int(os.environ.get("WORLD_SIZE", 1))
    local = int(os.environ.get("LOCAL_RANK", 0))
    return rank, world, local


def pick_device(requested: str = "auto") -> str:
    if requested != "auto":
        return requested
    try:
        import torch

        if torch.cuda.is_available():
            return f"cuda:{topology()[2]}"
    except ImportError:
        pass
    return "cpu"


def environment_record(seed: int, pm=None) -> dict[str, Any]:
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=os.path.dirname(__file__)).stdout.strip() or None
    except Exception:
        sha = None
    rank, world, _ = topology()
    plugins = []
    if pm is not None:
        plugins = [{"name": p["name"], "version": p["version"], "distribution": p["distribution"],
                    "components": {k: [c["name"] for c in v] for k, v in p["components"].items()}}
                   for p in pm.describe()]
    return {"python": sys.version.split()[0], "platform": platform.platform(), "packages": versions,
            "augkit_git_sha": sha, "seed": seed, "world_size": world, "argv": sys.argv, "plugins": plugins}
