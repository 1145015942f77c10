"""Between augkit examples and what users hold: Hugging Face ``datasets.Dataset`` rows and plain strings.

A dataset's columns are matched to example fields by name (``tokens``/``ner_tags`` for tagging,
``premise``/``hypothesis``/``label`` or ``sentence1``/``sentence2`` or ``text``/``label`` for pairs and
single sentences, ``question``/``context``/``answers`` for QA), or as ``columns={"text_a": "review"}``
says. Class-label integers become their names on the way in and integers again on the way out, so
``examples_to_dataset`` returns rows with the input's own features (``concatenate_datasets`` works).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterator, Sequence

from .data import EXAMPLE_TYPES, UNKNOWN_TAG, Example
from .errors import DataError

ALIASES: dict[str, tuple[str, ...]] = {
    "tokens": ("tokens", "words"),
    "tags": ("ner_tags", "pos_tags", "tags", "upos", "labels"),
    "text_a": ("premise", "sentence1", "text_a", "sentence", "text", "question1"),
    "text_b": ("hypothesis", "sentence2", "text_b", "question2"),
    "label": ("label", "labels", "gold_label"),
    "question": ("question",),
    "context": ("context",),
    "answers": ("answers",),
    "id": ("id",),
}
FIELDS_OF = {
    "tagging": ("tokens", "tags"),
    "pair": ("text_a", "text_b", "label"),
    "qa": ("question", "context", "answers"),
}
REQUIRED = {"tagging": ("tokens",), "pair": ("text_a",), "qa": ("question", "context")}


@dataclasses.dataclass
class DatasetColumns:
    """Which column holds which example field, and the class names of class-label columns."""

    type: str
    columns: dict[str, str]
    names: dict[str, list[str]]


def _class_names(feature) -> list[str] | None:
    inner = getattr(feature, "feature", feature)
    return list(getattr(inner, "names", None) or []) or None


def detect_columns(
    features, type: str | None = None, columns: dict[str, str] | None = None, where: str = "dataset"
) -> DatasetColumns:
    """Match a dataset's columns (its ``features``) to example fields; DataError naming what is missing."""
    present = list(features)
    given = dict(columns or {})
    unknown = [f for f in given if f not in ALIASES]
    if unknown:
        raise DataError(
            f"columns: {unknown[0]!r} is not an example field (expected some of {', '.join(ALIASES)})", path=where
        )
    missing = [c for c in given.values() if c not in present]
    if missing:
        raise DataError(
            f"columns: the dataset has no column {missing[0]!r} (its columns: {', '.join(present)})", path=where
        )
    if type is None:

        def has(field):
            return field in given or any(a in present for a in ALIASES[field])

        type = (
            "tagging"
            if has("tokens")
            else "qa"
            if has("question") and has("context")
            else "pair"
            if has("text_a")
            else None
        )
        if type is None:
            raise DataError(
                f"its columns ({', '.join(present)}) fit no example type: expected a word list "
                f"({' or '.join(ALIASES['tokens'])}) for tagging, question + context for QA, or a "
                f"text column ({', '.join(ALIASES['text_a'])}) for sentences and pairs; name yours "
                "with columns={'text_a': 'review', 'label': 'stars'}",
                path=where,
            )
    if type not in EXAMPLE_TYPES:
        raise DataError(f"type: expected one of {', '.join(EXAMPLE_TYPES)}, got {type!r}", path=where)
    mapping: dict[str, Any] = {}
    for field in FIELDS_OF[type] + ("id",):
        col = given.get(field) or next((a for a in ALIASES[field] if a in present and a not in mapping.values()), None)
        if col is not None:
            mapping[field] = col
    lacking = [f for f in REQUIRED[type] if f not in mapping]
    if lacking:
        raise DataError(
            f"{type} examples need a {lacking[0]} column ({' or '.join(ALIASES[lacking[0]])}); "
            f"its columns are {', '.join(present)} (name one with columns={{'{lacking[0]}': ...}})",
            path=where,
        )
    names = {f: n for f, c in mapping.items() if f in ("tags", "label") and (n := _class_names(features[c]))}
    return DatasetColumns(type, mapping, names)


def _name(value, names: list[str] | None):
    if value is None:
        return None
    if names and isinstance(value, int):
        return names[value] if 0 <= value < len(names) else None
    return str(value)


def dataset_examples(
    ds,
    *,
    lang: str = "und",
    type: str | None = None,
    columns: dict[str, str] | None = None,
    name: str = "dataset",
    drop_labels: bool = False,
    spec: DatasetColumns | None = None,
) -> Iterator[Example]:
    """Examples from the rows of a ``datasets.Dataset`` (see the module docstring for the matching)."""
    spec = spec or detect_columns(ds.features, type, columns, where=name)
    c, names = spec.columns, spec.names
    for i, row in enumerate(ds):
        ex_id = str(row[c["id"]]) if "id" in c and row.get(c["id"]) is not None else f"{name}-{i}"
        if spec.type == "tagging":
            tags = (
                []
                if drop_labels or "tags" not in c
                else [_name(t, names.get("tags")) or UNKNOWN_TAG for t in row[c["tags"]]]
            )
            tokens = list(row[c["tokens"]])
            if tags and len(tags) != len(tokens):
                raise DataError(f"row {i}: {len(tokens)} words but {len(tags)} tags", path=name)
            yield Example(id=ex_id, type="tagging", lang=lang, tokens=tokens, tags=tags)
        elif spec.type == "pair":
            label = None if drop_labels or "label" not in c else _name(row[c["label"]], names.get("label"))
            yield Example(
                id=ex_id,
                type="pair",
                lang=lang,
                text_a=row[c["text_a"]],
                text_b=row[c["text_b"]] if "text_b" in c else None,
                label=label,
            )
        else:
            ans = row.get(c["answers"]) if "answers" in c else None
            answers = (
                []
                if drop_labels or not ans
                else [{"text": t, "start": int(s)} for t, s in zip(ans.get("text", []), ans.get("answer_start", []))]
            )
            yield Example(
                id=ex_id, type="qa", lang=lang, question=row[c["question"]], context=row[c["context"]], answers=answers
            )


def _number(value, names: list[str] | None, what: str):
    if not names:
        return value
    if value == UNKNOWN_TAG:
        raise DataError(
            f"{what}: a class-label column has no value for an unknown tag; choose "
            "replaced_tags='keep' or 'drop', or label the examples with a task model"
        )
    try:
        return names.index(value)
    except ValueError:
        raise DataError(f"{what}: {value!r} is not one of the column's classes ({', '.join(names)})") from None


def examples_to_dataset(examples: Sequence[Example], like, spec: DatasetColumns, sources: dict[str, int]):
    """A ``datasets.Dataset`` with the features of ``like`` holding ``examples``: each row starts as its
    source row (``sources`` maps a source id to its row in ``like``; other columns are copied from it) and
    gets the example's text, labels and, for a string ``id`` column, its id."""
    from datasets import Dataset

    c, names = spec.columns, spec.names
    id_is_text = "id" in c and getattr(like.features[c["id"]], "dtype", None) == "string"
    rows = []
    for ex in examples:
        src = sources.get(ex.source_id if ex.source_id is not None else ex.id)
        row = dict(like[int(src)]) if src is not None else {k: None for k in like.features}
        if id_is_text:
            row[c["id"]] = ex.id
        what = f"example {ex.id!r}"
        if spec.type == "tagging":
            row[c["tokens"]] = list(ex.tokens)
            if "tags" in c:
                if not ex.tags and ex.tokens:
                    raise DataError(
                        f"{what} has no tags, and the dataset's {c['tags']!r} column needs one per "
                        "word: label it with a task model or choose replaced_tags keep/unknown/drop"
                    )
                row[c["tags"]] = [_number(t, names.get("tags"), what) for t in ex.tags]
        elif spec.type == "pair":
            row[c["text_a"]] = ex.text_a
            if "text_b" in c:
                row[c["text_b"]] = ex.text_b
            if "label" in c:
                row[c["label"]] = (
                    _number(ex.label, names.get("label"), what)
                    if ex.label is not None
                    else (-1 if names.get("label") else None)
                )
        else:
            row[c["question"]], row[c["context"]] = ex.question, ex.context
            if "answers" in c:
                row[c["answers"]] = {
                    "text": [a["text"] for a in ex.answers],
                    "answer_start": [a["start"] for a in ex.answers],
                }
        rows.append(row)
    return Dataset.from_list(rows, features=like.features)


def examples_from_strings(texts: Sequence[str], lang: str = "und") -> list[Example]:
    """One single-sentence example (``text_a``) per string, ids ``text-0``, ``text-1``, …"""
    return [Example(id=f"text-{i}", type="pair", lang=lang, text_a=t) for i, t in enumerate(texts)]


def example_text(ex: Example) -> str:
    """An example's text as one string (tokens joined by spaces; a pair's two texts by a tab)."""
    if ex.type == "tagging":
        return " ".join(ex.tokens)
    if ex.type == "pair":
        return (ex.text_a or "") if ex.text_b is None else f"{ex.text_a}\t{ex.text_b}"
    return f"{ex.question}\t{ex.context}"


def describe_input(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"
