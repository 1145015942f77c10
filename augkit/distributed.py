"""Collectives for components that run on every process of a ``torchrun`` / ``accelerate launch`` run.

A component that sets ``supports_distributed = True`` runs its ``run_stage`` on every rank (the runner
writes the stage's bookkeeping on rank 0 only). These helpers are what such a component needs; with one
process each of them is a no-op, so the same code runs single-process unchanged.

The process group is the one transformers' Trainer / accelerate use (``accelerate.PartialState``): NCCL
on GPUs, gloo on CPUs, initialised from the launcher's environment variables.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence, TypeVar

from .environment import topology

T = TypeVar("T")


def rank() -> int:
    return topology()[0]


def world_size() -> int:
    return topology()[1]


def is_main() -> bool:
    return rank() == 0


def ensure_process_group(device: str = "cpu") -> None:
    """Initialise the process group (once) when launched with several processes."""
    if world_size() <= 1:
        return
    import torch.distributed as dist

    if dist.is_initialized():
        return
    from accelerate import PartialState

    PartialState(cpu=not str(device).startswith("cuda"))


def _group_up() -> bool:
    if world_size() <= 1:
        return False
    import torch.distributed as dist

    if not dist.is_initialized():
        from .errors import RunError

        raise RunError(
            "several processes were launched but no process group is up; call "
            "augkit.distributed.ensure_process_group(device) before the first collective"
        )
    return True


def barrier() -> None:
    """Every process waits here until all have arrived."""
    if _group_up():
        import torch.distributed as dist

        dist.barrier()


def broadcast(obj: T, src: int = 0) -> T:
    """``obj`` as rank ``src`` has it, on every process (any picklable value)."""
    if not _group_up():
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def all_gather(obj: Any) -> list[Any]:
    """Every process's ``obj``, in rank order, on every process."""
    if not _group_up():
        return [obj]
    import torch.distributed as dist

    out: list[Any] = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


def shard_bounds(n: int, parts: int | None = None, index: int | None = None) -> tuple[int, int]:
    """The contiguous block ``[start, end)`` of ``n`` items that process ``index`` of ``parts`` handles
    (blocks differ in size by at most one, earlier blocks take the remainder)."""
    parts = world_size() if parts is None else parts
    index = rank() if index is None else index
    base, extra = divmod(n, parts)
    start = index * base + min(index, extra)
    return start, start + base + (1 if index < extra else 0)


def shard(items: Sequence[T]) -> Sequence[T]:
    """This process's contiguous block of ``items``."""
    start, end = shard_bounds(len(items))
    return items[start:end]


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 24 * 3600, interval_s: float = 0.2) -> None:
    """Poll ``condition`` until it holds (for processes that share a folder but no process group yet,
    e.g. waiting for rank 0 to write a marker file). RunError naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            from .errors import RunError

            raise RunError(f"rank {rank()}: timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(interval_s)
