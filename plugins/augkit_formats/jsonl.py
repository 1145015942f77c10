from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Iterable, Iterator

from augkit import (
    DataError,
    Example,
    Reader,
    TextReaderParams,
    Writer,
    atomic_write_text,
    did_you_mean,
    param,
    read_json_objects,
)

from ._common import check_label, check_nonempty

_FIELDS = {f.name for f in dataclasses.fields(Example)}


@dataclasses.dataclass
class JsonlParams(TextReaderParams):
    labels: list[str] | None = param(None, help="the label set; a label outside it is an error")
    drop_labels: bool = param(False, help="drop tags/labels on read")


def _infer_type(obj: dict) -> str:
    if "tokens" in obj:
        return "tagging"
    if "question" in obj or "context" in obj:
        return "qa"
    return "pair"


class JsonlReader(Reader):
    """One JSON object per line with augkit's example fields (`tokens`/`tags`, `text_a`/`text_b`/`label`,
    or `question`/`context`/`answers`); `type` is inferred when absent, `id` defaults to the line."""

    name = "jsonl"
    Params = JsonlParams
    params: JsonlParams
    suffixes = (".jsonl", ".ndjson")

    def read(self, source: str, *, lang: str = "und", name: str | None = None) -> Iterator[Example]:
        p = self.params
        prefix = name or Path(source).stem
        count = 0
        for n, obj in read_json_objects(source, p.encoding, p.max_line_bytes):
            unknown = [k for k in obj if k not in _FIELDS]
            if unknown:
                raise DataError(f"unknown field {unknown[0]!r}{did_you_mean(unknown[0], _FIELDS)}", path=source, line=n)
            obj.setdefault("type", _infer_type(obj))
            obj.setdefault("id", f"{prefix}-{count}")
            obj.setdefault("lang", lang)
            if obj.get("meta") is None:
                obj["meta"] = {}
            try:
                ex = Example(**obj)
            except (TypeError, ValueError) as e:
                raise DataError(str(e), path=source, line=n) from None
            if ex.type == "tagging" and ex.tags and len(ex.tags) != len(ex.tokens):
                raise DataError(f"{len(ex.tokens)} tokens but {len(ex.tags)} tags", path=source, line=n)
            for tag in ex.tags if ex.type == "tagging" else ([ex.label] if ex.label is not None else []):
                check_label(tag, p.labels, source, n)
            if p.drop_labels:
                ex = ex.replace(tags=[], label=None)
            count += 1
            yield ex
        check_nonempty(count, source)


class JsonlWriter(Writer):
    """Writes every field of every example, one JSON object per line (lossless)."""

    name = "jsonl"
    suffixes = (".jsonl", ".ndjson")

    def write(self, examples: Iterable[Example], path) -> int:
        lines = []
        for ex in examples:
            row = dataclasses.asdict(ex)
            row = {k: v for k, v in row.items() if v not in (None, [], {}, "") or k in ("id", "type", "lang")}
            lines.append(json.dumps(row, ensure_ascii=False))
        atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))
        return len(lines)
