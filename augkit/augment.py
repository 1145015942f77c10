"""``augment_file``: one generator over one corpus file (what ``augkit augment`` runs).

Work goes to ``OUTPUT.augkit-work/`` in resumable shards; the output file appears only when all of it is
done (written atomically), and the work folder is then removed. Re-running after an interruption picks
up at the first unfinished shard.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from .data import Corpus, CorpusWriter, write_corpus_meta
from .errors import RunError
from .format_lookup import reader_for, writer_for
from .generation import generate_shards
from .atomic import atomic_write_text
from .fingerprints import hash_obj, hash_path
from .plugins import get_plugin_manager
from .progress import Progress
from .seeding import derive_seed


def augment_file(input_path: str, output_path: str, *, generator: str, params: dict[str, Any] | None = None,
                 input_format: str | None = None, output_format: str | None = None, lang: str = "und",
                 seed: int = 42, batch_size: int = 64, shard_size: int = 2000, include_original: bool = False,
                 device: str = "auto", precision: str = "auto", overwrite: bool = False,
                 interactive: bool | None = None) -> dict[str, Any]:
    """Augment ``input_path`` with the named generator and write ``output_path``; return counters.

    Under ``torchrun``/``accelerate launch`` every process takes its share of the shards and rank 0
    writes the output once all shards exist; the file is the same as a one-process run's."""

    from .components import StageContext
    from .environment import pick_device, topology

    rank, world, _ = topology()
    out = Path(output_path)
    if out.exists() and not overwrite:
        raise RunError(f"{out} exists; pass --overwrite to replace it")
    gen_cls = get_plugin_manager().resolve("generator", generator, "--generator")
    gen = gen_cls(**(params or {}))
    reader = reader_for(input_path, input_format)
    writer = writer_for(output_path, output_format)
    bad = sorted(set(reader.example_types) - set(gen.example_types)) if len(reader.example_types) == 1 else []
    if bad:
        raise RunError(f"{gen_cls.display_name()} accepts {list(gen.example_types)} examples; "
                       f"{input_path} holds {bad[0]} examples")
    fp = hash_obj({"input": hash_path(input_path), "generator": generator, "params": gen.params.to_dict(),
                   "seed": seed, "lang": lang, "include_original": include_original, "shard_size": shard_size})
    work = out.with_name(out.name + ".augkit-work")
    if rank == 0:
        if work.exists() and ((work / "fingerprint").read_text() if (work / "fingerprint").exists() else "") != fp:
            shutil.rmtree(work)  # left by a run with other inputs or parameters
        work.mkdir(parents=True, exist_ok=True)
        if not (work / "input" / Corpus.META_FILE).exists():
            (work / "input").mkdir(exist_ok=True)
            w = CorpusWriter(work / "input" / "data-00000.arrow")
            w.write_many(reader.read(str(input_path), lang=lang))
            write_corpus_meta(work / "input", ["data-00000.arrow"], None, w.close())
        atomic_write_text(work / "fingerprint", fp)  # last: tells the other ranks the input is ready
    else:
        from .distributed import wait_until

        wait_until(lambda: (work / "fingerprint").exists() and (work / "fingerprint").read_text() == fp,
                   f"rank 0 to read {input_path}", timeout_s=3600)
    corpus = Corpus.load(work / "input")
    stage_seed = derive_seed(seed, "augment")
    ctx = StageContext(name="augment", out_dir=work, seed=stage_seed, inputs={}, device=pick_device(device),
                       precision=precision, progress=Progress(interactive=interactive))
    stats = generate_shards(gen, corpus, work / "generated", seed=stage_seed, ctx=ctx, batch_size=batch_size,
                            shard_size=shard_size, include_original=include_original, rank=rank, world_size=world)
    if rank == 0:
        writer.write(iter(Corpus.load(work / "generated")), out)
        shutil.rmtree(work, ignore_errors=True)
    return stats
