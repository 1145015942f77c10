"""Running a generator over a corpus as a stage: sharded, resumable, multi-process.

The input is cut into fixed shards of ``shard_size`` examples. Shard k is done by process
``k % world_size`` and written atomically as ``data/shard-{k:05d}.arrow`` with its counters beside it;
a shard file that exists is complete, so an interrupted run resumes at its first missing shard. The
corpus is the shards in order, so the output is the same for any number of processes (every example's
randomness comes from ``derive_seed(stage_seed, example.id)``).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from .atomic import atomic_write_json, remove_stale_tmp
from .data import Corpus, CorpusWriter, concat, write_corpus_meta
from .errors import RunError

if TYPE_CHECKING:
    from .components import Generator, StageContext, StageOptions
    from .data import Example


def same_text(a: "Example", b: "Example") -> bool:
    """Whether two examples hold the same text (words, both texts of a pair, question and context)."""
    return (a.type, list(a.tokens), a.text_a, a.text_b, a.question, a.context) == (
        b.type,
        list(b.tokens),
        b.text_a,
        b.text_b,
        b.question,
        b.context,
    )


def drop_identical(
    outputs: Iterable["Example"], sources: Mapping[str, "Example"], stats: dict[str, Any]
) -> list["Example"]:
    """``outputs`` without those whose text is their source's (counted in ``stats["identical_dropped"]``):
    a copy of an input is not an augmentation."""
    kept, dropped = [], 0
    for ex in outputs:
        src = sources.get(ex.source_id) if ex.source_id is not None else None
        if src is not None and same_text(ex, src):
            dropped += 1
        else:
            kept.append(ex)
    stats["identical_dropped"] = stats.get("identical_dropped", 0) + dropped
    return kept


def _inputs_as_one_corpus(ctx: "StageContext") -> Corpus:
    corpora = ctx.inputs["corpus"]  # a many=True input: always a list
    return corpora[0] if len(corpora) == 1 else concat(corpora)


def run_generator_stage(gen: "Generator", ctx: "StageContext", options: "StageOptions") -> dict[str, Any]:
    corpus = _inputs_as_one_corpus(ctx)
    bad = sorted(set(corpus.types) - set(gen.example_types))
    if bad:
        raise RunError(
            f"stage {ctx.name!r}: {gen.display_name()} accepts {list(gen.example_types)} examples, input has {bad}"
        )
    return generate_shards(
        gen,
        corpus,
        ctx.out_dir / "data",
        seed=ctx.seed,
        ctx=ctx,
        batch_size=options.batch_size,
        shard_size=options.shard_size,
        include_original=options.include_original,
    )


def generate_shards(
    gen: "Generator",
    corpus: Corpus,
    data_dir: Path,
    *,
    seed: int,
    ctx: "StageContext | None" = None,
    batch_size: int = 64,
    shard_size: int = 2000,
    include_original: bool = False,
    rank: int | None = None,
    world_size: int | None = None,
) -> dict[str, Any]:
    """Augment ``corpus`` into the corpus folder ``data_dir``; return counters (summed over shards)."""
    rank = ctx.rank if ctx is not None and rank is None else (rank or 0)
    world_size = ctx.world_size if ctx is not None and world_size is None else (world_size or 1)
    data_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_tmp(data_dir)
    n = len(corpus)
    n_shards = max(1, -(-n // shard_size))
    mine = [k for k in range(n_shards) if k % world_size == rank]
    todo = [k for k in mine if not (data_dir / f"shard-{k:05d}.arrow").exists()]
    resumed = len(mine) - len(todo)
    if todo:
        gen.ensure_setup(device=ctx.device if ctx else "cpu", precision=ctx.precision if ctx else "auto")
        gen.fit(corpus)
    progress_iter = ctx.track if ctx is not None and ctx.progress is not None else (lambda it, **kw: it)
    started, done_inputs = time.perf_counter(), 0

    def shard_batches():
        nonlocal done_inputs
        for k in todo:
            part = corpus.select(range(k * shard_size, min(n, (k + 1) * shard_size)))
            for batch in part.batches(batch_size):
                yield k, batch
                done_inputs += len(batch)
            yield k, None  # end of shard

    writer: CorpusWriter | None = None
    before: dict[str, int] = {}
    total_inputs = sum(min(shard_size, n - k * shard_size) for k in todo)
    for k, batch in progress_iter(
        shard_batches(),
        total=total_inputs,
        description=f"generate ({gen.display_name()})",
        unit="sentences",
        size=lambda item: len(item[1]) if item[1] else 0,
    ):
        if batch is None:
            _finish_shard(writer, data_dir, k, gen.stats, before)
            writer = None
            continue
        if writer is None:
            tmp = data_dir / f".shard-{k:05d}.arrow.tmp-{os.getpid()}"
            writer, before = CorpusWriter(tmp), dict(gen.stats)
            writer.final = data_dir / f"shard-{k:05d}.arrow"
        out = gen.augment_batch(batch, seed=seed)
        if include_original:
            by_source: dict[str | None, list] = {}
            for ex in out:
                by_source.setdefault(ex.source_id, []).append(ex)
            for ex in batch:
                writer.write(ex)
                writer.originals += 1
                writer.write_many(by_source.get(ex.id, []))
        else:
            writer.write_many(out)
    if world_size > 1:
        _barrier(data_dir, n_shards, rank)
    elapsed = time.perf_counter() - started
    stats = _merge_shard_stats(data_dir, n_shards)
    if rank == 0:
        missing = [k for k in range(n_shards) if not (data_dir / f"shard-{k:05d}.arrow").exists()]
        if missing:
            raise RunError(f"generation incomplete: shards {missing[:5]} missing in {data_dir}")
        write_corpus_meta(
            data_dir,
            [f"shard-{k:05d}.arrow" for k in range(n_shards)],
            corpus.labels,
            stats.get("written", 0),
            corpus.name,
        )
    stats.update(
        {
            "inputs": n,
            "shards": n_shards,
            "shards_resumed": resumed,
            "inputs_per_s_this_run": round(done_inputs / elapsed, 2) if elapsed > 0 and done_inputs else None,
        }
    )
    return stats


def _finish_shard(writer, data_dir: Path, k: int, stats_now: dict, before: dict) -> None:
    if writer is None:  # an empty shard: write an empty file so the shard counts as done
        tmp = data_dir / f".shard-{k:05d}.arrow.tmp-{os.getpid()}"
        writer = CorpusWriter(tmp)
        writer.final = data_dir / f"shard-{k:05d}.arrow"
    count = writer.close()
    delta = {key: v - before.get(key, 0) for key, v in stats_now.items() if v - before.get(key, 0)}
    delta["outputs"] = count - writer.originals
    delta["written"] = count
    # counters first, then the shard itself: the shard's existence is the completion marker
    atomic_write_json(data_dir / f"shard-{k:05d}.stats.json", delta)
    os.replace(writer.path, writer.final)


def _merge_shard_stats(data_dir: Path, n_shards: int) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for k in range(n_shards):
        f = data_dir / f"shard-{k:05d}.stats.json"
        if f.exists():
            for key, v in json.loads(f.read_text()).items():
                total[key] = total.get(key, 0) + v
    return total


def _barrier(data_dir: Path, n_shards: int, rank: int, timeout_s: float = 24 * 3600) -> None:
    """Wait for the other processes' shards: a collective barrier when torch.distributed is up,
    else rank 0 polls the shared folder (non-zero ranks just return)."""
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.barrier()
            return
    except ImportError:
        pass
    if rank != 0:
        return
    from .distributed import wait_until

    wait_until(
        lambda: all((data_dir / f"shard-{k:05d}.arrow").exists() for k in range(n_shards)),
        f"the other processes' shards in {data_dir}",
        timeout_s=timeout_s,
        interval_s=0.5,
    )
