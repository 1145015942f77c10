"""What a run ran on: versions, plugins, seed, process topology (written to env.json)."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from typing import Any

PACKAGES = (
    "augkit",
    "torch",
    "transformers",
    "datasets",
    "accelerate",
    "tokenizers",
    "sentencepiece",
    "scikit-learn",
    "seqeval",
    "pluggy",
    "rich",
    "safetensors",
    "numpy",
    "fairseq",
    "fairseq-fixed",
)


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
            raise RunError(
                f"device {requested!r}: this torch ({torch.__version__}) was built without CUDA; "
                'use device "cpu", or install a CUDA build of torch (AUGKIT_TORCH_PIN="" bash '
                "scripts/setup.sh lets pip choose one)"
            )
        if not torch.cuda.is_available():
            raise RunError(
                f"device {requested!r}: torch has CUDA support but sees no GPU (check the driver and "
                'CUDA_VISIBLE_DEVICES), or use device "cpu"'
            )
        n = torch.cuda.device_count()
        if index and (not index.isdigit() or int(index) >= n):
            raise RunError(f"device {requested!r}: expected cuda:0 to cuda:{n - 1} ({n} GPU{'s' * (n != 1)} visible)")
        return requested
    if kind == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise RunError(f'device {requested!r}: this machine or torch build has no Apple MPS support; use "cpu"')
        return requested
    raise RunError(f'device {requested!r}: expected "auto", "cpu", "cuda", "cuda:N" or "mps"')


def resolved_precision(precision: str, device: str) -> str:
    """The precision training really uses for ``run.precision`` on ``device``: "auto" is bf16 on a GPU
    that has it, fp16 on one that does not, fp32 on CPU; anything else as asked."""
    if precision != "auto":
        return precision
    if not str(device).startswith("cuda"):
        return "fp32"
    import torch

    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def hardware_record(device: str, precision: str) -> dict[str, Any]:
    """What a run really ran on: the device and its name, the GPUs this process sees, the process
    topology, the precision used, and the torch/CUDA/cuDNN/NCCL versions."""
    rank, world, local = topology()
    record: dict[str, Any] = {
        "device": str(device),
        "precision_requested": precision,
        "precision": resolved_precision(precision, device),
        "world_size": world,
        "rank": rank,
        "local_world_size": int(os.environ.get("LOCAL_WORLD_SIZE", 1)),
        "nodes": max(1, world // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", world or 1)))),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
    }
    try:
        import torch
    except ImportError:
        return record
    record["torch"] = torch.__version__
    record["torch_threads"] = torch.get_num_threads()
    if torch.cuda.is_available():
        n = torch.cuda.device_count()
        record["gpus"] = [
            {
                "index": i,
                "name": torch.cuda.get_device_name(i),
                "memory_gib": round(torch.cuda.get_device_properties(i).total_memory / 2**30, 1),
            }
            for i in range(n)
        ]
        record["gpu_count"] = n
        record["device_name"] = (
            torch.cuda.get_device_name(torch.device(device)) if str(device).startswith("cuda") else record["cpu"]
        )
        record["cuda"] = torch.version.cuda
        record["cudnn"] = torch.backends.cudnn.version()
        try:
            record["nccl"] = ".".join(map(str, torch.cuda.nccl.version()))
        except Exception:  # a build without NCCL
            record["nccl"] = None
    else:
        record["gpu_count"] = 0
        record["device_name"] = record["cpu"] if str(device) == "cpu" else str(device)
    return record


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_hardware(hw: dict[str, Any]) -> str:
    """One line for report headers: device and name, precision used, processes."""
    if not hw:
        return ""
    name = hw.get("device_name") or hw.get("device")
    text = f"{hw.get('device')} ({name}), precision {hw.get('precision')}"
    if hw.get("precision_requested") and hw.get("precision_requested") != hw.get("precision"):
        text += f" (asked: {hw['precision_requested']})"
    text += f", {hw.get('world_size', 1)} process{'es' if hw.get('world_size', 1) != 1 else ''}"
    if hw.get("nodes", 1) > 1:
        text += f" on {hw['nodes']} nodes"
    if hw.get("cuda"):
        text += f", CUDA {hw['cuda']}" + (f", NCCL {hw['nccl']}" if hw.get("nccl") else "")
    return text


def environment_record(seed: int, pm=None, *, device: str | None = None, precision: str = "auto") -> dict[str, Any]:
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    try:
        sha = (
            subprocess.run(
                ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=os.path.dirname(__file__)
            ).stdout.strip()
            or None
        )
    except Exception:
        sha = None
    rank, world, _ = topology()
    plugins = []
    if pm is not None:
        plugins = [
            {
                "name": p["name"],
                "version": p["version"],
                "distribution": p["distribution"],
                "components": {k: [c["name"] for c in v] for k, v in p["components"].items()},
            }
            for p in pm.describe()
        ]
    record = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
        "augkit_git_sha": sha,
        "seed": seed,
        "world_size": world,
        "argv": sys.argv,
        "plugins": plugins,
    }
    if device is not None:
        record["hardware"] = hardware_record(device, precision)
    return record
