from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterable, Iterator

from augkit import DataError, Example, Reader, TextReaderParams, Writer, atomic_write_text, param

from ._common import check_label, check_nonempty, read_lines

# header names seen in XNLI, MultiNLI and PAWS-X files, mapped to augkit's fields
_ALIASES = {
    "premise": "text_a",
    "sentence1": "text_a",
    "text_a": "text_a",
    "sentence": "text_a",
    "text": "text_a",
    "hypothesis": "text_b",
    "sentence2": "text_b",
    "text_b": "text_b",
    "label": "label",
    "gold_label": "label",
    "id": "id",
    "pairid": "id",
    "language": "lang",
    "lang": "lang",
}


@dataclasses.dataclass
class TsvParams(TextReaderParams):
    columns: list[str] | None = param(
        None, help="column names when the file has no header (default: premise, hypothesis, label)"
    )
    labels: list[str] | None = param(None, help="the label set; a label outside it is an error")
    drop_labels: bool = param(False, help="drop labels on read (target-language unlabelled pairs)")
    only_lang: str | None = param(None, help="keep only rows whose `language` column equals this")


class TsvPairReader(Reader):
    """Tab-separated sentence pairs (XNLI, PAWS-X). A first line naming known columns (premise/sentence1,
    hypothesis/sentence2, label/gold_label, id, language) is a header; other columns are ignored."""

    name = "tsv"
    Params = TsvParams
    params: TsvParams
    example_types = ("pair",)
    suffixes = (".tsv",)

    def read(self, source: str, *, lang: str = "und", name: str | None = None) -> Iterator[Example]:
        p = self.params
        prefix = name or Path(source).stem
        lines = read_lines(source, p.encoding, p.max_line_bytes)
        mapping: dict[int, str] | None = None
        if p.columns is not None:
            mapping = self._mapping(p.columns, source, 0)
        count, n_cols = 0, None
        for n, line in lines:
            if not line.strip():
                continue
            cols = line.split("\t")
            if mapping is None:
                known = [c.strip().lower() for c in cols]
                if "text_a" in {_ALIASES.get(c) for c in known} or "label" in {_ALIASES.get(c) for c in known}:
                    mapping = self._mapping(known, source, n, header=True)
                    n_cols = len(cols)
                    continue
                mapping = self._mapping(
                    ["premise", "hypothesis", "label"][: len(cols)]
                    if len(cols) <= 3
                    else ["premise", "hypothesis", "label"],
                    source,
                    n,
                )
            if n_cols is None:
                n_cols = len(cols)
            if len(cols) != n_cols:
                raise DataError(f"expected {n_cols} tab-separated columns, found {len(cols)}", path=source, line=n)
            row = {field: cols[i] for i, field in mapping.items() if i < len(cols)}
            if p.only_lang is not None and row.get("lang") != p.only_lang:
                continue
            label = None if p.drop_labels else (row.get("label") or None)  # an empty cell: unlabelled
            if label is not None:
                check_label(label, p.labels, source, n)
            yield Example(
                id=row.get("id") or f"{prefix}-{count}",
                type="pair",
                lang=row.get("lang") or lang,
                text_a=row.get("text_a", ""),
                text_b=row.get("text_b") or None,
                label=label,
            )
            count += 1
        check_nonempty(count, source)

    @staticmethod
    def _mapping(names: list[str], source: str, line: int, header: bool = False) -> dict[int, str]:
        mapping = {i: _ALIASES[c.lower()] for i, c in enumerate(names) if c.lower() in _ALIASES}
        if "text_a" not in mapping.values():
            where = "the header" if header else "`columns`"
            raise DataError(
                f"{where} names no premise/sentence1 column (got {', '.join(names)})", path=source, line=line or None
            )
        return mapping


class TsvPairWriter(Writer):
    """Writes `id, premise, hypothesis, label` with a header line (what the reader reads back)."""

    name = "tsv"
    example_types = ("pair",)
    suffixes = (".tsv",)

    def write(self, examples: Iterable[Example], path) -> int:
        lines = ["id\tpremise\thypothesis\tlabel"]
        for ex in examples:
            if ex.type != "pair":
                raise DataError(f"example {ex.id!r} is {ex.type!r}; TSV holds sentence pairs only", path=str(path))
            fields = [ex.id, ex.text_a or "", ex.text_b or "", ex.label or ""]
            if any("\t" in f or "\n" in f for f in fields):
                raise DataError(f"example {ex.id!r} holds a tab or newline, which TSV cannot store", path=str(path))
            lines.append("\t".join(fields))
        atomic_write_text(path, "\n".join(lines) + "\n")
        return len(lines) - 1
