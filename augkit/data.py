"""The data model: one ``Example`` type for every task, and an Arrow-backed ``Corpus``.

An example is one of three types:

* ``"tagging"`` — ``tokens`` with one tag per token in ``tags`` (NER, POS). Empty ``tags`` = unlabelled;
  the tag ``UNKNOWN_TAG`` (``"_"``) marks one word whose label is not known (training ignores it).
* ``"pair"``    — ``text_a`` / ``text_b`` with a class ``label`` (NLI, paraphrase). ``text_b`` may be None
  for single-sentence classification.
* ``"qa"``      — ``question``, ``context`` and ``answers`` (``[{"text": ..., "start": ...}]``), SQuAD style.

Every example carries its language and its provenance: ``source_id`` (the example it was generated from)
and ``component`` (which component made it), ``replaced`` (word positions a generator changed) and
``orig_tags`` (the source's tags); generators that replace words also record in ``meta["changed"]``
the replaced positions whose word actually differs from the source's. ``keep_orig_tags`` says how a
labeler treats such an example: False (the default), it labels every word; True, only the ``replaced``
words, the others keep their ``orig_tags`` (GEN-LM's ``relabel = "masked"``). Readers keep columns that have no
field here in ``meta["extra"]`` (augmented examples inherit their source's). A labeler adds ``probs``: a label
distribution per word (tagging) or
one row (pair), in the order of the corpus's ``labels``.

A ``Corpus`` is a memory-mapped Hugging Face ``datasets.Dataset`` with a fixed schema, so it scales to
millions of examples; ``corpus.dataset`` gives the Dataset itself for ``map``/``filter``/``shard``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from .atomic import atomic_dir, atomic_write_json
from .errors import DataError

EXAMPLE_TYPES = ("tagging", "pair", "qa")
#: the tag of a word whose label is unknown: written and read like any tag, never a class of its own;
#: training ignores the word (label -100) and label sets leave it out
UNKNOWN_TAG = "_"


@dataclasses.dataclass
class Example:
    """One training or augmented example (see the module docstring for the three types)."""

    id: str
    type: str = "tagging"
    lang: str = "und"
    tokens: list[str] = dataclasses.field(default_factory=list)
    tags: list[str] = dataclasses.field(default_factory=list)
    text_a: str | None = None
    text_b: str | None = None
    label: str | None = None
    question: str | None = None
    context: str | None = None
    answers: list[dict] = dataclasses.field(default_factory=list)
    source_id: str | None = None
    component: str | None = None
    replaced: list[int] = dataclasses.field(default_factory=list)
    orig_tags: list[str] = dataclasses.field(default_factory=list)
    keep_orig_tags: bool = False
    probs: list[list[float]] | None = None
    meta: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.type not in EXAMPLE_TYPES:
            raise ValueError(f"Example {self.id!r}: type must be one of {EXAMPLE_TYPES}, got {self.type!r}")

    @property
    def is_labelled(self) -> bool:
        if self.type == "tagging":
            return bool(self.tags)
        if self.type == "pair":
            return self.label is not None
        return bool(self.answers)

    def replace(self, **changes) -> "Example":
        """A copy with ``changes`` applied (like ``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def to_row(self) -> dict[str, Any]:
        # shallow on purpose: Arrow copies the values anyway, and deep copies of probs are costly
        row = {f: getattr(self, f) for f in _FIELD_NAMES}
        row["meta"] = json.dumps(self.meta, ensure_ascii=False, sort_keys=True) if self.meta else ""
        row["answers"] = [{"text": a["text"], "start": int(a.get("start", -1))} for a in self.answers]
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Example":
        row = dict(row)
        row["meta"] = json.loads(row["meta"]) if row.get("meta") else {}
        row["answers"] = list(row.get("answers") or [])
        for k in ("tokens", "tags", "replaced", "orig_tags"):
            row[k] = list(row.get(k) or [])
        row["keep_orig_tags"] = bool(row.get("keep_orig_tags"))
        return cls(**row)


_FIELD_NAMES = [f.name for f in dataclasses.fields(Example)]


def features():
    """The Arrow schema every corpus uses (as ``datasets.Features``)."""
    from datasets import Features, List, Value

    return Features(
        {
            "id": Value("string"),
            "type": Value("string"),
            "lang": Value("string"),
            "tokens": List(Value("string")),
            "tags": List(Value("string")),
            "text_a": Value("string"),
            "text_b": Value("string"),
            "label": Value("string"),
            "question": Value("string"),
            "context": Value("string"),
            "answers": List({"text": Value("string"), "start": Value("int32")}),
            "source_id": Value("string"),
            "component": Value("string"),
            "replaced": List(Value("int32")),
            "orig_tags": List(Value("string")),
            "keep_orig_tags": Value("bool"),
            "probs": List(List(Value("float32"))),
            "meta": Value("string"),
        }
    )


def _upgrade(ds):
    """A corpus file written before ``keep_orig_tags`` was a field: the column added, True where the
    example's ``meta`` says it was made with ``relabel = "masked"`` (how that was recorded then)."""
    if "keep_orig_tags" in ds.column_names:
        return ds
    from datasets.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    keep = [bool(m) and json.loads(m).get("relabel") == "masked" for m in ds["meta"]]
    quiet = are_progress_bars_disabled()
    disable_progress_bars()  # a corpus read is not a step the user asked for: no "Casting the dataset" bar
    try:
        return ds.add_column("keep_orig_tags", keep).cast(features())
    finally:
        if not quiet:
            enable_progress_bars()


@functools.lru_cache(maxsize=None)
def _arrow_schema():
    return features().arrow_schema


def infer_labels(examples: Iterable[Example]) -> list[str]:
    """The sorted label set found in ``examples`` (tags for tagging, classes for pairs; ``UNKNOWN_TAG``
    is not a label)."""
    seen: set[str] = set()
    for ex in examples:
        if ex.type == "tagging":
            seen.update(ex.tags)
        elif ex.type == "pair" and ex.label is not None:
            seen.add(ex.label)
    seen.discard(UNKNOWN_TAG)
    return sorted(seen)


class CorpusWriter:
    """Streams examples into an Arrow file, so a corpus of any size is written in constant memory."""

    def __init__(self, path: str | os.PathLike, batch_size: int = 1000):
        from datasets.arrow_writer import ArrowWriter

        self.path = Path(path)
        self.final: Path | None = None  # where a finished shard goes (generation renames it there)
        self.originals = 0  # inputs written beside the new examples (generation's include_original)
        self._writer = ArrowWriter(features=features(), path=str(self.path), writer_batch_size=batch_size)
        self.count = 0

    def write(self, example: Example) -> None:
        self._writer.write(example.to_row())
        self.count += 1

    def write_many(self, examples: Iterable[Example]) -> None:
        for ex in examples:
            self.write(ex)

    def write_table(self, table) -> None:
        """Append a pyarrow Table that has the corpus schema (columnar, no per-row Python)."""
        self._writer.write_table(table.cast(self._writer.schema) if self._writer.schema else table)
        self.count += table.num_rows

    def close(self) -> int:
        self._writer.finalize()
        self._writer.close()
        return self.count


class Corpus:
    """A sequence of ``Example`` backed by a memory-mapped Arrow ``datasets.Dataset``.

    ``labels`` is the corpus's label set (from the data or given), in the order ``probs`` columns use.
    """

    META_FILE = "corpus.json"

    def __init__(self, dataset, labels: Sequence[str] | None = None, name: str | None = None):
        self._dataset = dataset
        self.labels = list(labels) if labels is not None else None
        self.name = name
        self._table = None

    @property
    def dataset(self):
        """The ``datasets.Dataset`` underneath (made on first use for a corpus built from a table)."""
        if self._dataset is None:
            import uuid

            from datasets import Dataset
            from datasets.table import InMemoryTable

            # a fresh fingerprint: hashing the table's content (datasets' default) costs more than the table
            self._dataset = Dataset(InMemoryTable(self._table), fingerprint=uuid.uuid4().hex)
        return self._dataset

    # construction ---------------------------------------------------------------------------
    @classmethod
    def from_examples(
        cls, examples: Iterable[Example], labels: Sequence[str] | None = None, name: str | None = None
    ) -> "Corpus":
        """Build an in-memory corpus (for small data and the Python API; stages write to disk)."""
        from datasets import Dataset

        examples = list(examples)
        if labels is None:
            labels = infer_labels(examples)
        if not examples:
            return cls.from_table(features().arrow_schema.empty_table(), labels, name)
        ds = Dataset.from_list([ex.to_row() for ex in examples], features=features())
        return cls(ds, labels, name)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Corpus":
        """Open a corpus folder written by ``save`` (memory-mapped; nothing is read eagerly)."""
        from datasets import Dataset, concatenate_datasets

        path = Path(path)
        meta_file = path / cls.META_FILE
        if not meta_file.is_file():
            raise DataError(f"not a corpus folder (no {cls.META_FILE})", path=str(path))
        meta = json.loads(meta_file.read_text())
        parts = [Dataset.from_file(str(path / f)) for f in meta["files"]]
        if not parts:
            ds = Dataset.from_list([], features=features())
        else:
            ds = concatenate_datasets([_upgrade(p) for p in parts]) if len(parts) > 1 else _upgrade(parts[0])
        return cls(ds, meta.get("labels"), meta.get("name"))

    @classmethod
    def from_table(cls, table, labels: Sequence[str] | None = None, name: str | None = None) -> "Corpus":
        """An in-memory corpus from a pyarrow Table with the corpus schema (columnar work stays on the
        table; the Dataset is made only if asked for)."""
        schema = _arrow_schema()
        if not table.schema.equals(schema):
            table = table.cast(schema)
        corpus = cls(None, labels, name)
        corpus._table = table
        return corpus

    def table(self):
        """The examples as a pyarrow Table (selections applied), for columnar work. A corpus never
        changes, so the table is made once (each view of a Dataset copies its schema)."""
        if self._table is None:
            self._table = (
                self.dataset.with_format("arrow")[:] if len(self.dataset) else features().arrow_schema.empty_table()
            )
        return self._table

    def save(self, path: str | os.PathLike) -> Path:
        """Write the corpus atomically to the folder ``path`` (replacing it if present)."""
        path = Path(path)
        with atomic_dir(path) as tmp:
            writer = CorpusWriter(tmp / "data-00000.arrow")
            writer.write_table(self.table())
            writer.close()
            write_corpus_meta(tmp, ["data-00000.arrow"], self.labels, writer.count, self.name)
        return path

    # access --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._table) if self._table is not None else len(self.dataset)

    def __iter__(self) -> Iterator[Example]:
        for batch in self.dataset.iter(batch_size=512):
            for row in _rows(batch):
                yield Example.from_row(row)

    def __getitem__(self, i: int) -> Example:
        return Example.from_row(self.dataset[int(i)])

    def batches(self, batch_size: int) -> Iterator[list[Example]]:
        """Examples in lists of ``batch_size`` (the last one may be shorter)."""
        for batch in self.dataset.iter(batch_size=batch_size):
            yield [Example.from_row(r) for r in _rows(batch)]

    def select(self, indices: Iterable[int]) -> "Corpus":
        """The examples at ``indices``, in that order. A corpus whose table is already at hand is
        selected with one Arrow ``take``; otherwise through an index mapping (nothing is read)."""
        import uuid

        indices = list(indices)
        if self._table is not None:
            import pyarrow as pa

            return Corpus.from_table(self._table.take(pa.array(indices, pa.int64())), self.labels, self.name)
        # a fresh fingerprint: datasets would otherwise hash its whole state on every selection
        return Corpus(self.dataset.select(indices, new_fingerprint=uuid.uuid4().hex), self.labels, self.name)

    def filter_lang(self, lang: str) -> "Corpus":
        idx = [i for i, l in enumerate(self.dataset["lang"]) if l == lang]
        return self.select(idx)

    def _distinct(self, column: str) -> list[str]:
        if self._table is not None:
            import pyarrow.compute as pc

            return sorted(pc.unique(self._table.column(column)).to_pylist())
        return sorted(set(self.dataset[column]))

    @property
    def languages(self) -> list[str]:
        return self._distinct("lang")

    @property
    def types(self) -> list[str]:
        return self._distinct("type")

    def __repr__(self) -> str:
        return f"Corpus(n={len(self)}, types={self.types}, languages={self.languages}, labels={self.labels})"


def write_corpus_meta(folder: Path, files: list[str], labels, count: int, name: str | None = None) -> None:
    atomic_write_json(Path(folder) / Corpus.META_FILE, {"files": files, "labels": labels, "count": count, "name": name})


def concat(corpora: Sequence[Corpus], name: str | None = None) -> Corpus:
    """Concatenate corpora; the label set is the union, in first-seen order."""
    from datasets import concatenate_datasets

    labels: list[str] | None = None
    for c in corpora:
        if c.labels is not None:
            labels = (labels or []) + [l for l in c.labels if l not in (labels or [])]
    ds = concatenate_datasets([c.dataset for c in corpora]) if corpora else Corpus.from_examples([]).dataset
    return Corpus(ds, labels, name)


def _rows(batch: dict[str, list]) -> Iterator[dict[str, Any]]:
    keys = list(batch)
    n = len(batch[keys[0]]) if keys else 0
    for i in range(n):
        yield {k: batch[k][i] for k in keys}
