"""augkit's collectives over a real process group (run under torchrun; used by gpu_check.sh).

    torchrun --standalone --nproc-per-node N benchmarks/collectives_check.py --backend nccl

Initialises a process group on the backend (also for a single process, where augkit itself would not)
and checks the collectives augkit's ``distributed`` module and trainer use — object broadcast, object
all-gather, barrier, and a tensor all-reduce on the process's device; prints the backend and its version.
"""
from __future__ import annotations

import argparse
import os

import torch
import torch.distributed as dist


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=["nccl", "gloo"], default="nccl")
    args = ap.parse_args()
    local = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device(f"cuda:{local}") if args.backend == "nccl" else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(args.backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    box = ["from rank 0"] if rank == 0 else [None]
    dist.broadcast_object_list(box, src=0)
    assert box[0] == "from rank 0"
    gathered = [None] * world
    dist.all_gather_object(gathered, rank)
    assert gathered == list(range(world)), gathered
    t = torch.full((4,), float(rank + 1), device=device)
    dist.all_reduce(t)
    assert float(t[0]) == world * (world + 1) / 2, t
    dist.barrier()
    if rank == 0:
        version = ".".join(map(str, torch.cuda.nccl.version())) if args.backend == "nccl" else "gloo"
        print(f"collectives ok: backend {args.backend} ({version}), {world} process(es), device {device}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
