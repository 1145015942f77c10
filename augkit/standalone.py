"""A generator on its own: ``augment`` (examples, strings or a ``datasets.Dataset`` in Python) and
``augment_file`` (one corpus file, what ``augkit augment`` runs).

``augment_file`` checks everything that can be checked before any generation: the output does not exist (or

``overwrite``), the reader, writer and generator options, the device, that the generator augments what
the reader gives and the writer stores what it makes, the labelling model, and — for tagged input — that
the user said how the augmented sentences get their tags (``label_with`` or ``replaced_tags``, see
``augkit.labelling``). A failed check leaves nothing behind.

Work goes to ``OUTPUT.augkit-work/`` in resumable shards; the output file appears only when all of it is
done (written atomically), and the work folder is then removed. Re-running after an interruption picks
up at the first unfinished shard; labelling, the tag policy, ``include_original`` and the writer's
options act when the output is written, so changing them reuses the generated shards.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Iterable, Iterator

from .atomic import atomic_write_text
from .components import Generator, StageContext
from .convert import dataset_examples, detect_columns, example_text, examples_from_strings, examples_to_dataset
from .data import Corpus, CorpusWriter, Example, write_corpus_meta
from .environment import pick_device, topology
from .errors import AugkitError, DataError, ParamError, RunError, did_you_mean
from .fingerprints import hash_obj, hash_path
from .format_lookup import formats_for, reader_for, writer_for
from .generation import drop_identical, generate_shards
from .labelling import (
    INHERITED_META,
    check_policy,
    default_labeler,
    finish_augmented,
    inherit_extra,
    load_labelling_model,
)
from .plugins import get_plugin_manager
from .progress import Progress
from .seeding import derive_seed
from .textfiles import check_data_file


def augment(
    generator: Generator,
    examples: Any,
    *,
    seed: int = 0,
    batch_size: int = 64,
    device: str = "cpu",
    precision: str = "auto",
    label_with: Any = None,
    replaced_tags: str | None = None,
    labeler: str | None = None,
    lang: str = "und",
    columns: dict[str, str] | None = None,
    keep_identical: bool = False,
    return_sources: bool = False,
) -> Any:
    """The new examples ``generator`` makes from ``examples`` (originals not included), as the same kind
    of thing that came in (the Python API of a generator on its own):

    * ``augkit.Example`` objects (a list, any iterable, or a ``Corpus``) → ``list[Example]``, as the
      generator made them (what a recipe stage stores, less the copies of their input, see below);
    * strings (a list, or one string) → ``list[str]``, one text per new example (with
      ``return_sources=True``, ``(input, new text)`` pairs, so each output names what it came from);
    * a ``datasets.Dataset`` → a ``Dataset`` with the same features (columns matched by name or by
      ``columns``, see ``augkit.convert``), the other columns copied from each example's source row.

    ``label_with`` (a task model folder/id, a trainer stage folder, or a loaded task model) labels the
    new examples with the labeler ``labeler``; ``replaced_tags`` (``keep``/``unknown``/``drop``/``none``)
    tags replaced words without a model (``augkit.labelling``). A Dataset with a tag column needs one
    of them unless the generator ``labels_outputs``. ``lang`` is the language of strings and Dataset
    rows. An output whose text is its input's is dropped and counted (``stats["identical_dropped"]``)
    unless ``keep_identical`` or the generator says its outputs keep their text (``changes_text``); a
    recipe stage keeps them for its later stages.
    """
    if not isinstance(generator, Generator):
        raise TypeError(
            f'augment takes a generator first (e.g. augkit.get_component("generator", "eda")); '
            f"got {type(generator).__name__}"
        )
    check_policy(replaced_tags)
    dataset, spec, strings = None, None, False
    if _is_dataset_dict(examples):
        raise DataError(
            f"got a DatasetDict with splits {list(examples)}; pass one split, e.g. "
            f"dataset[{next(iter(examples), 'train')!r}]"
        )
    if _is_dataset(examples):
        dataset = examples
        spec = detect_columns(dataset.features, columns=columns, where="the dataset")
        items = list(dataset_examples(dataset, lang=lang, spec=spec))
    elif isinstance(examples, str):
        strings, items = True, examples_from_strings([examples], lang)
    elif isinstance(examples, (Corpus, Iterable)):
        given: list[Any] = list(examples)
        items = given
        if items and all(isinstance(x, str) for x in items):
            strings, items = True, examples_from_strings(given, lang)
        bad = next((x for x in items if not isinstance(x, Example)), None)
        if bad is not None:
            raise TypeError(
                f"augment({generator.display_name()}, ...) takes augkit.Example objects, strings or a "
                f"datasets.Dataset; found a {type(bad).__name__} ({bad!r:.60})"
            )
    else:
        raise TypeError(
            f"augment({generator.display_name()}, ...) takes augkit.Example objects (a list or a Corpus), a "
            f"list of strings or a datasets.Dataset; got {type(examples).__name__}"
        )
    if return_sources and not strings:
        raise ValueError(
            "return_sources=True is for strings; new Examples name their input in source_id, and "
            "Dataset rows keep their source row's other columns"
        )
    wrong = sorted({ex.type for ex in items} - set(generator.example_types))
    if wrong:
        raise DataError(
            f"{generator.display_name()} augments {' and '.join(generator.example_types)} examples; the input "
            f"holds {wrong[0]} examples"
        )
    if (
        dataset is not None
        and spec is not None
        and spec.type == "tagging"
        and "tags" in spec.columns
        and not generator.labels_outputs
        and label_with is None
    ):
        column, class_label = spec.columns["tags"], bool(spec.names.get("tags"))
        policies = (
            "'keep' (the source word's tag) or 'drop'"
            if class_label
            else "'keep' (the source word's tag), 'unknown' or 'drop'"
        )
        if replaced_tags in (None, "none"):
            raise DataError(
                f"the dataset's {column!r} column needs a tag for every word, and "
                f"{generator.display_name()} does not know the tags of the words it puts in: pass "
                f"label_with=a task model, or replaced_tags={policies}"
            )
        if replaced_tags == "unknown" and class_label:
            raise DataError(
                f"replaced_tags='unknown': the dataset's {column!r} column is a ClassLabel "
                f"({', '.join(spec.names['tags'])}), which has no value for an unknown tag; pass "
                f"replaced_tags={policies}, or label_with=a task model"
            )
    generator.ensure_setup(device=device, precision=precision)
    generator.fit(items)
    out: list[Example] = []
    for start in range(0, len(items), batch_size):
        out.extend(generator.augment_batch(items[start : start + batch_size], seed=seed))
    sources = {ex.id: ex for ex in items}
    if not keep_identical and generator.changes_text:
        out = drop_identical(out, sources, generator.stats)
    if label_with is not None or replaced_tags is not None:
        out = finish_augmented(
            out,
            label_with=label_with,
            replaced_tags=replaced_tags,
            labeler=labeler,
            device=device,
            stats=generator.stats,
        )
    if strings:
        if return_sources:
            return [
                (example_text(sources[ex.source_id]) if ex.source_id in sources else None, example_text(ex))
                for ex in out
            ]
        return [example_text(ex) for ex in out]
    if dataset is not None and spec is not None:
        rows = {ex.id: i for i, ex in enumerate(items)}
        return examples_to_dataset(out, dataset, spec, rows)
    return out


def _is_dataset(obj) -> bool:
    return type(obj).__name__ == "Dataset" and type(obj).__module__.startswith("datasets")


def _is_dataset_dict(obj) -> bool:
    return type(obj).__name__ in ("DatasetDict", "IterableDatasetDict") and type(obj).__module__.startswith("datasets")


def augment_file(
    input_path: str,
    output_path: str,
    *,
    generator: str,
    params: dict[str, Any] | None = None,
    input_format: str | None = None,
    output_format: str | None = None,
    read_options: dict[str, Any] | None = None,
    write_options: dict[str, Any] | None = None,
    lang: str = "und",
    seed: int = 42,
    limit: int | None = None,
    label_with: Any = None,
    labeler: str | None = None,
    replaced_tags: str | None = None,
    batch_size: int = 64,
    shard_size: int = 2000,
    include_original: bool = False,
    device: str = "auto",
    precision: str = "auto",
    overwrite: bool = False,
    interactive: bool | None = None,
    keep_identical: bool = False,
) -> dict[str, Any]:
    """Augment ``input_path`` with the named generator and write ``output_path``; return counters.

    ``read_options``/``write_options`` are the reader's and writer's parameters (e.g. ``encoding``);
    ``params`` the generator's. ``limit`` augments only the first ``limit`` inputs. ``label_with`` (a task
    model folder or id, or a trainer stage folder) labels the new examples with ``labeler``;
    ``replaced_tags`` tags replaced words by a policy instead (``augkit.labelling``). With
    ``include_original`` each input is written before its new examples (inputs keep their labels). A new
    example whose text is its input's is dropped and counted (``identical_dropped``) unless
    ``keep_identical``.

    Under ``torchrun``/``accelerate launch`` every process takes its share of the shards and rank 0
    writes the output once all shards exist; the file is the same as a one-process run's."""

    rank, world, _ = topology()
    out = Path(output_path)
    if out.is_dir():
        raise RunError(f"{out} is a folder; the output is one file (e.g. {out / 'augmented.jsonl'})")
    if out.exists() and not overwrite:
        raise RunError(f"{out} exists; pass --overwrite to replace it")
    if out.is_symlink() and not out.exists():
        raise RunError(f"{out} is a broken symbolic link; give a file name")
    if limit is not None and limit < 1:
        raise ParamError(f"limit: expected a positive number of inputs, got {limit}")
    check_policy(replaced_tags, "--replaced-tags")
    reader = reader_for(input_path, input_format, read_options, where=f"{input_format or 'reader'} option (--read-opt)")
    writer = writer_for(
        output_path, output_format, write_options, where=f"{output_format or 'writer'} option (--write-opt)"
    )
    gen_cls = get_plugin_manager().resolve("generator", generator, "--generator")
    _check_generator_keys(gen_cls, params or {}, reader, writer)
    gen = gen_cls(**(params or {}))
    if reader.reads_files:
        check_data_file(input_path)  # a FIFO or device would hang or never end
    if out.parent.exists() and not os.access(out.parent, os.W_OK):
        raise RunError(f"{out}: the folder {out.parent} cannot be written (permission denied); choose another output")
    device = pick_device(device)
    types = _check_types(
        sorted(set(reader.example_types) & set(gen.example_types)), gen, reader, writer, input_path, output_path
    )
    labeler_name = labeler
    model = None
    if label_with is not None:
        labeler_name = labeler or default_labeler()
        get_plugin_manager().resolve("labeler", labeler_name, "--labeler")
        model = load_labelling_model(label_with, types, device=device)
    gen.ensure_setup(device=device, precision=precision)  # a model that does not load fails before any work

    fp = hash_obj(
        {
            "input": hash_path(input_path),
            "format": type(reader).display_name(),
            "read": reader.params.to_dict(),
            "generator": generator,
            "params": gen.params.to_dict(),
            "seed": seed,
            "lang": lang,
            "limit": limit,
            "shard_size": shard_size,
        }
    )
    work = out.with_name(out.name + ".augkit-work")
    lock = None
    try:
        if rank == 0:
            lock = _claim_work(work, fp)
            fresh = not (work / "fingerprint").exists()
            try:
                if not (work / "input" / Corpus.META_FILE).exists():
                    (work / "input").mkdir(exist_ok=True)
                    w = CorpusWriter(work / "input" / "data-00000.arrow")
                    w.write_many(_first(reader.read(str(input_path), lang=lang), limit))
                    write_corpus_meta(work / "input", ["data-00000.arrow"], None, w.close())
            except BaseException:
                if fresh:
                    shutil.rmtree(work, ignore_errors=True)
                raise
            atomic_write_text(work / "fingerprint", fp)  # last: tells the other ranks the input is ready
        else:
            from .distributed import wait_until

            wait_until(
                lambda: (work / "fingerprint").exists() and (work / "fingerprint").read_text() == fp,
                f"rank 0 to read {input_path}",
                timeout_s=3600,
            )
        corpus = Corpus.load(work / "input")
        try:
            _check_types(corpus.types, gen, reader, writer, input_path, output_path, read=True)
            if label_with is None and replaced_tags is None and not gen.labels_outputs:
                _check_tags_chosen(corpus, gen, input_path)
        except AugkitError:
            if rank == 0:
                shutil.rmtree(work, ignore_errors=True)
            raise

        stage_seed = derive_seed(seed, "augment")
        ctx = StageContext(
            name="augment",
            out_dir=work,
            seed=stage_seed,
            inputs={},
            device=device,
            precision=precision,
            progress=Progress(interactive=interactive),
        )
        stats = generate_shards(
            gen,
            corpus,
            work / "generated",
            seed=stage_seed,
            ctx=ctx,
            batch_size=batch_size,
            shard_size=shard_size,
            rank=rank,
            world_size=world,
        )
        if rank == 0:
            generated = Corpus.load(work / "generated")
            if not keep_identical and gen.changes_text:
                kept = drop_identical(generated, {ex.id: ex for ex in corpus}, stats)
                generated = Corpus.from_examples(kept, labels=generated.labels)
            if model is not None:
                stats["labelled"] = len(generated)
            labelled = finish_augmented(
                generated,
                label_with=model,
                replaced_tags=replaced_tags,
                labeler=labeler_name,
                device=device,
                stats=stats,
            )
            # the inputs new examples take reader columns from (all of them to write the originals too)
            sources = {ex.id: ex for ex in corpus if include_original or any(k in ex.meta for k in INHERITED_META)}
            new = list(inherit_extra(labelled, sources))
            stats["outputs"] = len(new)
            try:
                stats["written"] = writer.write(_interleave(corpus, new) if include_original else new, out)
            except DataError as e:
                raise DataError(
                    f"{e} (the generated examples are kept in {work}: run again with other options to "
                    "write them without generating again)"
                ) from None
            shutil.rmtree(work, ignore_errors=True)
        return stats
    finally:
        if lock is not None:
            lock.release()


def _first(examples: Iterable[Example], limit: int | None) -> Iterator[Example]:
    for i, ex in enumerate(examples):
        if limit is not None and i >= limit:
            return
        yield ex


def _interleave(originals: Iterable[Example], new: list[Example]) -> Iterator[Example]:
    """Each original followed by the new examples made from it (new ones whose source is not an input
    come last)."""
    by_source: dict[Any, list[Example]] = {}
    for ex in new:
        by_source.setdefault(ex.source_id, []).append(ex)
    for ex in originals:
        yield ex
        yield from by_source.pop(ex.id, [])
    for rest in by_source.values():
        yield from rest


def _check_generator_keys(gen_cls, params: dict, reader, writer) -> None:
    """A generator parameter that is really a reader or writer option says where it belongs."""
    import dataclasses

    own = {f.name for f in dataclasses.fields(gen_cls.Params)}
    for key in params:
        if key in own:
            continue
        for component, flag in ((reader, "--read-opt"), (writer, "--write-opt")):
            if key in {f.name for f in dataclasses.fields(component.Params)}:
                raise ParamError(
                    f"--set {key}: {key!r} is not a {gen_cls.display_name()} parameter but an option "
                    f"of the {component.display_name()} {component.kind}: pass {flag} "
                    f"{key}={params[key]}"
                )
        raise ParamError(
            f"--set {key}: unknown {gen_cls.display_name()} parameter{did_you_mean(key, own)}; "
            f"valid: {', '.join(sorted(own))} (`augkit plugins show {gen_cls.display_name()}` explains them)"
        )


def _check_types(types: Iterable[str], gen, reader, writer, input_path, output_path, read: bool = False) -> list[str]:
    """The example types this run makes; RunError when the generator or the writer cannot take them.
    Before reading (``read=False``) ``types`` are those the reader may give: one the writer stores is
    enough; once read, every type present must fit."""
    types = sorted(types)
    gname = gen.display_name()
    if not types or set(types) - set(gen.example_types):
        got = sorted(set(types) - set(gen.example_types)) or list(reader.example_types)
        raise RunError(
            f"{gname} augments {' and '.join(gen.example_types)} examples; {input_path} "
            f"({reader.display_name()}) holds {' and '.join(got)} examples"
        )
    missing = [t for t in types if t not in writer.example_types]
    if missing and (read or len(missing) == len(types)):
        options = ", ".join(formats_for("writer", missing[0]))
        raise RunError(
            f"{output_path}: the {writer.display_name()} format holds {' and '.join(writer.example_types)} "
            f"examples, and this run makes {missing[0]} examples; write one of: {options}"
        )
    return types


def _check_tags_chosen(corpus: Corpus, gen, input_path) -> None:
    import pyarrow.compute as pc

    table = corpus.table()
    tagged = pc.and_(
        pc.equal(table.column("type"), "tagging"), pc.greater(pc.list_value_length(table.column("tags")), 0)
    )
    if pc.any(tagged).as_py():
        raise RunError(
            f"{input_path} holds tagged sentences, and {gen.display_name()} does not know the tags of the words it "
            "puts in. Say how the new sentences get their tags:\n"
            "  --label-with MODEL       a task model labels them (a model folder or id, or a trainer stage folder)\n"
            "  --replaced-tags keep     a replaced word keeps the source word's tag (MultiMix's assumption)\n"
            "  --replaced-tags unknown  a changed word is tagged _ (training ignores it)\n"
            "  --replaced-tags drop     leave out sentences in which a word inside an entity changed\n"
            "  --replaced-tags none     write them untagged (keep their provenance with -o FILE.jsonl)"
        )


def _claim_work(work: Path, fp: str):
    """Create (or reuse) the work folder and take its one-writer lock. Work of a run with other inputs or
    parameters is discarded; a folder of that name that augkit did not make is refused, never removed."""
    from .run_folder import LOCK, acquire

    if work.is_symlink() or (work.exists() and not work.is_dir()):
        raise RunError(f"{work} exists and is not augkit's work folder; move it away")
    if work.is_dir():
        names = {p.name for p in work.iterdir()} - {LOCK}
        if names and "fingerprint" not in names and not names <= {"input"}:
            raise RunError(f"{work} exists and is not augkit's work folder (no fingerprint file); move it away")
    try:
        work.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunError(f"{work}: cannot create the work folder: {e.strerror or e}") from None
    lock = acquire(work, "work folder")
    try:
        previous = (work / "fingerprint").read_text() if (work / "fingerprint").exists() else None
        if previous is not None and previous != fp:  # left by a run with other inputs or parameters
            for child in work.iterdir():
                if child.name != LOCK:
                    shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    except BaseException:
        lock.release()
        raise
    return lock
