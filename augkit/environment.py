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
    """The device to run on: ``"auto"`` is this process's GPU when torch sees one, else the CPU. A device
    asked for by name is checked first: RunError (not a torch assertion deep inside) when this torch
    cannot use it, saying why and what to do."""
    from .errors import RunError

    requested = str(requested).strip().lower()
    try:
        import torch
    except ImportError:
        if requested in ("auto", "cpu"):
            return "cpu"
        raise RunError(f"device {requested!r}: torch is not installed") from None
    if requested == "auto":
        return f"cuda:{topology()[2]}" if torch.cuda.is_available() else "cpu"
    if requested == "cpu":
        return "cpu"
    kind, _, index = requested.partition(":")
    if kind == "cuda":
        if not torch.backends.cuda.is_built():
            raise RunError(f"device {requested!r}: this torch ({torch.__version__}) was built without CUDA; "
                           "use device \"cpu\", or install a CUDA build of torch (AUGKIT_TORCH_PIN=\"\" bash "
                           "scripts/setup.sh lets pip choose one)")
        if not torch.cuda.is_available():
            raise RunError(f"device {requested!r}: torch has CUDA support but sees no GPU (check the driver and "
                           "CUDA_VISIBLE_DEVICES), or use device \"cpu\"")
        n = torch.cuda.device_count()
        if index and (not index.isdigit() or int(index) >= n):
            raise RunError(f"device {requested!r}: expected cuda:0 to cuda:{n - 1} ({n} GPU{'s' * (n != 1)} visible)")
        return requested
    if kind == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise RunError(f"device {requested!r}: this machine or torch build has no Apple MPS support; use \"cpu\"")
        return requested
    raise RunError(f"device {requested!r}: expected \"auto\", \"cpu\", \"cuda\", \"cuda:N\" or \"mps\"")


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
