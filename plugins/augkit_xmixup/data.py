"""Parallel data for X-Mixup: each example is a target-language text with its source-language
counterpart, and optionally a back-translation of the target into the source language.

* translate-train: source text with its gold label, its translation (the target), back-translation;
* translate-test: the target test text (gold label) and its translation into the source language.

One format covers both (``format = "parallel"`` in a recipe), as JSON Lines or TSV. Where a Hugging Face
dataset holds each language as a configuration of the same rows (XNLI's machine-translated training sets,
PAWS-X's translated training sets), ``format = "hf-parallel"`` reads translate-train pairs from it directly
(see ``HubParallelReader``).

JSON Lines, one object per line (``id`` optional; ``label`` for classification is shared by both
sides)::

    {"id": "p1", "label": "entailment",
     "source": {"text_a": "A man plays.", "text_b": "A man performs."},
     "target": {"text_a": "Ein Mann spielt.", "text_b": "Ein Mann tritt auf."},
     "back":   {"text_a": "A man is playing.", "text_b": "A man performs."}}
    {"source": {"tokens": ["John", "lives", "in", "Paris"], "tags": ["B-PER", "O", "O", "B-LOC"]},
     "target": {"tokens": ["John", "wohnt", "in", "Paris"]}}
    {"source": {"question": "...", "context": "...", "answers": [{"text": "...", "start": 12}]},
     "target": {"question": "...", "context": "...", "answers": [{"text": "...", "start": 9}]}}

TSV with a header naming the columns: ``label``, ``source_a``, ``source_b``, ``target_a``,
``target_b``, ``back_a``, ``back_b`` (classification) or ``source_tokens``, ``source_tags``,
``target_tokens``, ``target_tags``, ``back_tokens`` (tagging; tokens and tags separated by spaces),
and optionally ``id`` (or ``source_id`` and ``target_id``, which must match).

The reader yields the target side as augkit examples (language ``lang``), each carrying its source
and back-translation in ``meta["parallel"]``; with ``side = "source"`` it yields the source side
instead (e.g. to train the source-language model that makes soft labels). A line with a missing or
empty side, mismatched ids or sides of different kinds is an error naming the file and line.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any, Iterator, Literal

from augkit import (
    DataError,
    Example,
    Params,
    Reader,
    TextReaderParams,
    Writer,
    atomic_write_text,
    dataset_examples,
    param,
    read_json_objects,
    read_lines,
)

_SIDE_FIELDS = {"pair": ("text_a", "text_b"), "tagging": ("tokens", "tags"), "qa": ("question", "context", "answers")}
_TSV_PAIR = {"label", "source_a", "source_b", "target_a", "target_b", "back_a", "back_b"}
_TSV_TAGGING = {"source_tokens", "source_tags", "target_tokens", "target_tags", "back_tokens"}
_TSV_IDS = {"id", "source_id", "target_id"}


@dataclasses.dataclass
class ParallelParams(TextReaderParams):
    side: Literal["target", "source"] = param(
        "target",
        help='"target": target texts carrying their source side (what X-Mixup trains on); '
        '"source": the source side alone',
    )
    source_lang: str = param("en", help="language of the source side and back-translations")
    labels: list[str] | None = param(None, help="the label set; a label outside it is an error")
    columns: list[str] | None = param(
        None,
        help="TSV column names for a file without a header line "
        '(e.g. ["source_a", "source_b", "target_a", "target_b", "label"])',
    )


class ParallelReader(Reader):
    """Translate-train / translate-test pairs for X-Mixup (JSON Lines or TSV; see the module docs)."""

    name = "parallel"
    Params = ParallelParams
    params: ParallelParams
    suffixes = ()  # never guessed from a suffix: a recipe names this format
    # the file is checked when the run reads it (before any stage runs), so that the full-size recipes
    # validate on machines that do not hold their data
    checked_when_read = True

    def read(self, source: str, *, lang: str = "und", name: str | None = None) -> Iterator[Example]:
        path = Path(source)  # read_lines says when it is missing or a folder
        rows = (
            _tsv_rows(source, self.params.encoding, self.params.columns, self.params.max_line_bytes)
            if path.suffix.lower() in (".tsv", ".txt")
            else read_json_objects(source, self.params.encoding, self.params.max_line_bytes)
        )
        prefix = name or path.stem
        count = 0
        for line, row in rows:
            ex = self._example(row, source, line, lang, f"{prefix}-{count}")
            count += 1
            yield ex
        if count == 0:
            raise DataError("file holds no parallel examples", path=source)

    def _example(self, row: dict, path: str, line: int, lang: str, default_id: str) -> Example:
        p = self.params
        for side in ("source", "target"):
            if not isinstance(row.get(side), dict) or not row[side]:
                raise DataError(
                    f"missing {side} side (every line needs a source text and its translation)", path=path, line=line
                )
        unknown = [k for k in row if k not in ("id", "label", "source", "target", "back")]
        if unknown:
            raise DataError(
                f"unknown field {unknown[0]!r}; expected id, label, source, target, back", path=path, line=line
            )
        ids = {side: row[side].get("id") for side in ("source", "target", "back") if isinstance(row.get(side), dict)}
        given = {str(v) for v in ids.values() if v is not None}
        if len(given) > 1:
            raise DataError(
                f"the sides' ids differ ({', '.join(f'{s} {v!r}' for s, v in ids.items() if v is not None)}): "
                "the translation does not belong to this source",
                path=path,
                line=line,
            )
        ex_id = str(row.get("id") or (given.pop() if given else default_id))
        kind = _kind(row["source"], path, line, "source")
        sides = {"source": row["source"], "target": row["target"]}
        if row.get("back") is not None:
            if not isinstance(row["back"], dict) or not row["back"]:
                raise DataError("back: expected an object with the back-translation", path=path, line=line)
            sides["back"] = row["back"]
        built = {}
        for side, fields in sides.items():
            other = _kind(fields, path, line, side)
            if other != kind:
                raise DataError(
                    f"the {side} side is a {other} example but the source side is a {kind} example",
                    path=path,
                    line=line,
                )
            built[side] = _side_example(
                kind, fields, row.get("label"), path, line, side, ex_id, lang if side == "target" else p.source_lang
            )
            for tag in (
                built[side].tags
                if kind == "tagging"
                else ([built[side].label] if kind == "pair" and built[side].label is not None else [])
            ):
                if p.labels is not None and tag not in p.labels:
                    raise DataError(
                        f"label {tag!r} is not in the label set ({', '.join(p.labels)})", path=path, line=line
                    )
        if p.side == "source":
            return built["source"]
        meta = {
            "parallel": {
                "source": _side_row(built["source"]),
                **({"back": _side_row(built["back"])} if "back" in built else {}),
            }
        }
        return built["target"].replace(meta=meta)


def _kind(fields: dict, path: str, line: int, side: str) -> str:
    if "tokens" in fields:
        return "tagging"
    if "question" in fields or "context" in fields:
        return "qa"
    if "text_a" in fields:
        return "pair"
    raise DataError(
        f"{side}: expected text_a (classification), tokens (tagging) or question/context (QA), "
        f"found {', '.join(map(repr, fields)) or 'nothing'}",
        path=path,
        line=line,
    )


def _side_example(kind: str, fields: dict, label, path: str, line: int, side: str, ex_id: str, lang: str) -> Example:
    allowed = set(_SIDE_FIELDS[kind]) | {"id", "label"}
    unknown = [k for k in fields if k not in allowed]
    if unknown:
        raise DataError(
            f"{side}: unknown field {unknown[0]!r} for a {kind} example (expected {', '.join(_SIDE_FIELDS[kind])})",
            path=path,
            line=line,
        )
    if kind == "tagging":
        tokens, tags = fields.get("tokens") or [], fields.get("tags") or []
        if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) and t for t in tokens):
            raise DataError(f"{side}: empty side (tokens must be a non-empty list of words)", path=path, line=line)
        if tags and len(tags) != len(tokens):
            raise DataError(f"{side}: {len(tokens)} tokens but {len(tags)} tags", path=path, line=line)
        return Example(ex_id, "tagging", lang, tokens=list(tokens), tags=list(tags))
    if kind == "pair":
        a, b = fields.get("text_a"), fields.get("text_b")
        if not isinstance(a, str) or not a.strip() or (b is not None and (not isinstance(b, str) or not b.strip())):
            raise DataError(
                f"{side}: empty side (text_a{' and text_b' if b is not None else ''} must be non-empty text)",
                path=path,
                line=line,
            )
        label = fields.get("label", label)
        return Example(ex_id, "pair", lang, text_a=a, text_b=b, label=None if label is None else str(label))
    question, context = fields.get("question"), fields.get("context")
    if not isinstance(question, str) or not question.strip() or not isinstance(context, str) or not context.strip():
        raise DataError(f"{side}: empty side (question and context must be non-empty text)", path=path, line=line)
    answers = fields.get("answers") or []
    for a in answers:
        if not isinstance(a, dict) or not isinstance(a.get("text"), str):
            raise DataError(f"{side}: answers must be objects with a text (and a start offset)", path=path, line=line)
        start = int(a.get("start", -1))
        where = context.find(a["text"]) if start < 0 else start
        if where < 0 or context[where : where + len(a["text"])] != a["text"]:
            raise DataError(
                f"{side}: the answer {a['text']!r} is not in the context{'' if start < 0 else f' at offset {start}'}",
                path=path,
                line=line,
            )
    return Example(
        ex_id,
        "qa",
        lang,
        question=question,
        context=context,
        answers=[{"text": a["text"], "start": int(a.get("start", context.find(a["text"])))} for a in answers],
    )


def _side_row(ex: Example) -> dict[str, Any]:
    """The fields of one side kept in ``meta["parallel"]`` (what the trainer rebuilds it from)."""
    if ex.type == "tagging":
        return {"tokens": ex.tokens, **({"tags": ex.tags} if ex.tags else {})}
    if ex.type == "pair":
        return {
            "text_a": ex.text_a,
            **({"text_b": ex.text_b} if ex.text_b is not None else {}),
            **({"label": ex.label} if ex.label is not None else {}),
        }
    return {"question": ex.question, "context": ex.context, **({"answers": ex.answers} if ex.answers else {})}


def side_example(ex: Example, side: str, lang: str | None = None) -> Example | None:
    """The ``"source"`` or ``"back"`` side of a target example read by this format (None if absent)."""
    fields = (ex.meta.get("parallel") or {}).get(side)
    if fields is None:
        return None
    fields = dict(fields)
    return Example(ex.id, ex.type, lang or "src", **fields)


def has_parallel(ex: Example) -> bool:
    return "source" in (ex.meta.get("parallel") or {})


class ParallelWriter(Writer):
    """Writes translations with their source (and back-translation) as the ``parallel`` format's JSON
    Lines, so that what ``translate`` makes (``augkit augment --generator translate --output-format
    parallel``) is X-Mixup's translate-train data as it stands. Every example must carry its source side
    in ``meta["parallel"]``, as the ``translate`` generator and the ``parallel`` reader give them; a
    classification label goes on the line (both sides share it)."""

    name = "parallel"
    suffixes = ()  # named, never guessed: a .jsonl output is the plain jsonl format

    def write(self, examples, path) -> int:
        lines = []
        for n, ex in enumerate(examples, 1):
            parallel = ex.meta.get("parallel") or {}
            if not parallel.get("source"):
                raise DataError(
                    f"example {n} ({ex.id!r}) has no source side (meta['parallel']['source']): the "
                    "parallel format stores a translation with its source; write it as jsonl, or make "
                    "it with a translate generator",
                    path=str(path),
                )
            target = _side_row(ex)
            label = target.pop("label", None) if ex.type == "pair" else None
            if ex.type == "pair" and label is None:
                label = parallel["source"].get("label")
            row: dict[str, Any] = {
                "id": ex.id,
                **({"label": label} if label is not None else {}),
                "source": {k: v for k, v in parallel["source"].items() if k != "label"},
                "target": target,
            }
            if parallel.get("back"):
                row["back"] = {k: v for k, v in parallel["back"].items() if k != "label"}
            lines.append(json.dumps(row, ensure_ascii=False))
        atomic_write_text(path, "".join(line + "\n" for line in lines))
        return len(lines)


def _tsv_rows(
    path: str, encoding: str, columns: list[str] | None = None, max_line_bytes: int | None = None
) -> Iterator[tuple[int, dict]]:
    header: list[str] | None = None
    for n, line in read_lines(path, encoding, max_line_bytes):
        if not line.strip():
            continue
        cells = line.split("\t")
        if header is None:
            header = list(columns) if columns else [c.strip() for c in cells]
            known = _TSV_PAIR | _TSV_TAGGING | _TSV_IDS
            unknown = [c for c in header if c not in known]
            if unknown:
                raise DataError(
                    f"unknown column {unknown[0]!r} in the header; expected some of {', '.join(sorted(known))}",
                    path=path,
                    line=n,
                )
            if not ({"source_a", "target_a"} <= set(header) or {"source_tokens", "target_tokens"} <= set(header)):
                raise DataError(
                    "the header needs source_a and target_a (classification) or source_tokens and "
                    "target_tokens (tagging)",
                    path=path,
                    line=n,
                )
            if not columns:
                continue
        if len(cells) != len(header):
            raise DataError(
                f"expected {len(header)} tab-separated columns ({', '.join(header)}), found {len(cells)}"
                " (a missing translation?)",
                path=path,
                line=n,
            )
        cell = dict(zip(header, cells))
        row: dict[str, Any] = {}
        if cell.get("id"):
            row["id"] = cell["id"]
        if "source_tokens" in header:
            for side in ("source", "target", "back"):
                if f"{side}_tokens" in cell and (side != "back" or cell[f"{side}_tokens"].strip()):
                    row[side] = {"tokens": cell[f"{side}_tokens"].split()}
                    if cell.get(f"{side}_tags", "").strip():
                        row[side]["tags"] = cell[f"{side}_tags"].split()
        else:
            if cell.get("label", "").strip():
                row["label"] = cell["label"].strip()
            for side in ("source", "target", "back"):
                if f"{side}_a" in cell and (side != "back" or cell[f"{side}_a"].strip()):
                    row[side] = {"text_a": cell[f"{side}_a"]}
                    if f"{side}_b" in cell:
                        row[side]["text_b"] = cell[f"{side}_b"]
        for side in ("source", "target"):
            if cell.get(f"{side}_id"):
                row.setdefault(side, {})["id"] = cell[f"{side}_id"]
        yield n, row


@dataclasses.dataclass
class HubParallelParams(Params):
    config: str = param(help='the target language\'s configuration, e.g. "de"')
    source_config: str = param("en", help="the source language's configuration")
    split: str = param("train", help="split to read from both configurations")
    join: Literal["row", "id"] = param(
        "row",
        help='"row": row i of one configuration is the translation of row i of the other (XNLI); "id": '
        "rows are matched by their id column (PAWS-X)",
    )
    id_field: str = param("id", help='the id column for join = "id"')
    source_lang: str = param("en", help="language of the source side")


class HubParallelReader(Reader):
    """Translate-train pairs from a Hugging Face dataset that has one configuration per language over
    the same examples: ``path = "facebook/xnli"``, ``config = "de"`` (the target), ``source_config =
    "en"``. Rows are paired by position (``join = "row"``) or by an id column (``join = "id"``); when both
    sides carry a class label, a row whose labels differ is an error (the configurations are not aligned).
    Target rows without a source row (``join = "id"``) are left out and counted in the log. Yields the
    target side with its source in ``meta["parallel"]``, as the ``parallel`` format does."""

    name = "hf-parallel"
    Params = HubParallelParams
    params: HubParallelParams
    reads_files = False  # `path` is a dataset id (or a local dataset folder)

    def read(self, source: str, *, lang: str = "und", name: str | None = None) -> Iterator[Example]:
        p = self.params
        prefix = name or Path(source).name
        where = f"{source} ({p.source_config} and {p.config}, split {p.split})"
        src_ds, tgt_ds = self._load(source, p.source_config), self._load(source, p.config)
        sources = list(dataset_examples(src_ds, lang=p.source_lang, name=f"{prefix}-{p.source_config}"))
        targets = list(dataset_examples(tgt_ds, lang=lang, name=f"{prefix}-{p.config}"))
        if p.join == "row":
            if len(sources) != len(targets):
                raise DataError(
                    f"{len(targets)} rows in {p.config} but {len(sources)} in {p.source_config}: "
                    'not aligned row by row (join = "id" matches rows by an id column)',
                    path=where,
                )
            pairs: list[tuple[Example, Example | None]] = list(zip(targets, sources))
        else:
            if p.id_field not in src_ds.column_names or p.id_field not in tgt_ds.column_names:
                raise DataError(
                    f'join = "id" needs an id column {p.id_field!r} in both configurations '
                    f"(columns: {', '.join(tgt_ds.column_names)}); set id_field",
                    path=where,
                )
            by_id = {str(row): ex for row, ex in zip(src_ds[p.id_field], sources)}
            pairs = [(t, by_id.get(str(row))) for row, t in zip(tgt_ds[p.id_field], targets)]
            lost = sum(s is None for _, s in pairs)
            if lost:
                logging.getLogger("augkit.data").warning(
                    "%s: %d of %d %s rows have no %s row with the same %s; left out",
                    where,
                    lost,
                    len(pairs),
                    p.config,
                    p.source_config,
                    p.id_field,
                )
        joined = [(t, s) for t, s in pairs if s is not None]
        count = 0
        for i, (target, src) in enumerate(joined):
            if target.type != src.type:
                raise DataError(
                    f"row {i}: a {target.type} example in {p.config} but a {src.type} example in {p.source_config}",
                    path=where,
                )
            if (
                target.type == "pair"
                and target.label is not None
                and src.label is not None
                and target.label != src.label
            ):
                raise DataError(
                    f"row {i} ({target.id}): label {target.label!r} in {p.config} but {src.label!r} in "
                    f"{p.source_config}: the configurations are not aligned"
                    + (' row by row (join = "id" matches rows by an id column)' if p.join == "row" else ""),
                    path=where,
                )
            ex_id = f"{prefix}-{i}" if p.join == "row" else target.id
            meta = {"parallel": {"source": _side_row(src)}}
            count += 1
            yield target.replace(id=ex_id, meta=meta)
        if count == 0:
            raise DataError("no parallel examples", path=where)

    def _load(self, source: str, config: str):
        import datasets

        folder = Path(source).expanduser()
        try:
            if folder.is_dir() and (folder / config).is_dir() and _saved(folder / config):
                ds = datasets.load_from_disk(str(folder / config))  # a folder of save_to_disk'ed configurations
                return ds[self.params.split] if isinstance(ds, datasets.DatasetDict) else ds
            return datasets.load_dataset(source, config, split=self.params.split)
        except Exception as e:  # offline, unknown id, missing config or split
            first = str(e).splitlines()[0] if str(e) else ""
            raise DataError(
                f"could not load configuration {config!r}, split {self.params.split!r}: "
                f"{type(e).__name__}: {first}. Without hub access, prepare local files with "
                '`augkit xmixup-data` and use format = "parallel"',
                path=source,
            ) from None


def _saved(folder: Path) -> bool:
    return any((folder / f).is_file() for f in ("dataset_info.json", "dataset_dict.json", "state.json"))
