"""CSV with a header: a text column (and optionally a second text and a label), as TextAttack and pandas
users keep sentence-classification data."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path
from typing import Any, Iterable, Iterator

from augkit import DataError, Encoding, Example, Params, Reader, TextReaderParams, Writer, param, read_text

from ._common import check_label, check_nonempty, write_text

#: header names recognised without being told (first match wins), per example field
_AUTO = {
    "text_a": ("text", "sentence", "premise", "sentence1", "text_a"),
    "text_b": ("hypothesis", "sentence2", "text_b"),
    "label": ("label", "labels", "gold_label"),
    "id": ("id",),
    "lang": ("lang", "language"),
}
#: the names the writer uses unless told otherwise (a reader records only the columns named differently)
_DEFAULT_NAME = {"id": "id", "text_a": "text", "text_b": "text_b", "label": "label", "lang": "lang"}
_OPTION = {
    "text_a": "text_column",
    "text_b": "text_b_column",
    "label": "label_column",
    "id": "id_column",
    "lang": "lang_column",
}


@dataclasses.dataclass
class CsvParams(TextReaderParams):
    delimiter: str = param(",", help="field separator (one character)")
    text_column: str | None = param(None, help="the text column (default: text, sentence, premise or sentence1)")
    text_b_column: str | None = param(
        None, help="a second text, for sentence pairs (default: hypothesis or sentence2 when present)"
    )
    label_column: str | None = param(None, help="the label column (default: label when present)")
    id_column: str | None = param(None, help="the id column (default: id when present)")
    lang_column: str | None = param(None, help="a language column (default: lang or language when present)")
    columns: list[str] | None = param(None, help="column names for a file without a header line")
    labels: list[str] | None = param(None, help="the label set; a label outside it is an error")
    drop_labels: bool = param(False, help="drop labels on read")

    def check(self):
        if len(self.delimiter) != 1:
            raise ValueError(f"delimiter: expected one character, got {self.delimiter!r}")


class CsvReader(Reader):
    """CSV with a header line. Columns are found by name (see the options); other columns are kept in
    ``meta["extra"]`` and written back by the CSV writer, the new examples' copied from their source."""

    name = "csv"
    Params = CsvParams
    params: CsvParams
    example_types = ("pair",)
    suffixes = (".csv",)

    def read(self, source: str, *, lang: str = "und", name: str | None = None) -> Iterator[Example]:
        p = self.params
        path = Path(source)
        text = read_text(source, p.encoding, p.max_line_bytes)
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=p.delimiter)
        header = p.columns
        prefix = name or path.stem
        fields, count = None, 0
        try:
            for row in rows:
                if header is None:
                    header = [c.strip() for c in row]
                    continue
                if fields is None:
                    fields = self._fields(header, source)
                if not any(cell.strip() for cell in row):
                    continue
                n = rows.line_num
                if len(row) != len(header):
                    raise DataError(
                        f"expected {len(header)} fields (as in the header), found {len(row)}", path=source, line=n
                    )
                cells = dict(zip(header, row))
                label = None if p.drop_labels or "label" not in fields else (cells[fields["label"]] or None)
                if label is not None:
                    check_label(label, p.labels, source, n)
                text_b = cells[fields["text_b"]] if "text_b" in fields else None
                extra = {c: v for c, v in cells.items() if c not in fields.values()}
                renamed = {f: c for f, c in fields.items() if c != _DEFAULT_NAME.get(f)}
                meta: dict[str, Any] = {"columns": renamed, "header": header} if renamed else {"header": header}
                if extra:
                    meta["extra"] = extra
                yield Example(
                    id=(cells[fields["id"]] if "id" in fields and cells[fields["id"]] else f"{prefix}-{count}"),
                    type="pair",
                    lang=(cells[fields["lang"]] if "lang" in fields and cells[fields["lang"]] else lang),
                    text_a=cells[fields["text_a"]],
                    text_b=text_b or None,
                    label=label,
                    meta=meta,
                )
                count += 1
        except csv.Error as e:
            raise DataError(f"not valid CSV: {e}", path=source, line=rows.line_num) from None
        if header is not None and fields is None:
            self._fields(header, source)
        check_nonempty(count, source)

    def _fields(self, header: list[str], source: str) -> dict[str, str]:
        p = self.params
        fields = {}
        for field, auto in _AUTO.items():
            given = getattr(p, _OPTION[field])
            if given is not None:
                if given not in header:
                    raise DataError(
                        f"{_OPTION[field]}: no column {given!r} in the header ({', '.join(header)})",
                        path=source,
                        line=1,
                    )
                fields[field] = given
            else:
                found = next((c for c in header if c.lower() in auto and c not in fields.values()), None)
                if found is not None:
                    fields[field] = found
        if "text_a" not in fields:
            raise DataError(
                f"no text column in the header ({', '.join(header)}); expected one named "
                f"{', '.join(_AUTO['text_a'])}, or name it: text_column=... (augkit augment: --read-opt "
                "text_column=review)",
                path=source,
                line=1,
            )
        return fields


@dataclasses.dataclass
class CsvWriterParams(Params):
    encoding: Encoding = param(Encoding("utf-8"), help="file encoding")
    delimiter: str = param(",", help="field separator (one character)")
    text_column: str | None = param(
        None, help="name of the text column (default: the name it was read from, else text)"
    )
    text_b_column: str | None = param(None, help="name of the second text's column (default: as read, else text_b)")
    label_column: str | None = param(None, help="name of the label column (default: as read, else label)")
    id_column: str | None = param(None, help="name of the id column (default: as read, else id)")


class CsvWriter(Writer):
    """CSV with a header. Examples read from CSV are written with the input's columns in its order (its
    names, other columns from ``meta["extra"]``; a label or second text column is added only when the
    examples have one and the input did not); other examples get id, text, (second text), label. The
    ``*_column`` options rename columns."""

    name = "csv"
    Params = CsvWriterParams
    params: CsvWriterParams
    example_types = ("pair",)
    suffixes = (".csv",)

    def write(self, examples: Iterable[Example], path) -> int:
        p = self.params
        examples = list(examples)
        bad = next((ex for ex in examples if ex.type != "pair"), None)
        if bad is not None:
            raise DataError(
                f"example {bad.id!r} is a {bad.type} example; CSV holds sentences and sentence pairs "
                "(write tagging examples to .conll or .jsonl)",
                path=str(path),
            )
        read_as: dict[str, str] = next(
            (ex.meta["columns"] for ex in examples if isinstance(ex.meta.get("columns"), dict)), {}
        )
        header = next((ex.meta["header"] for ex in examples if isinstance(ex.meta.get("header"), list)), None)
        names = {f: getattr(p, _OPTION.get(f, ""), None) or read_as.get(f) or _DEFAULT_NAME[f] for f in _DEFAULT_NAME}
        columns: list[tuple[str | None, str]]
        if header is None:  # not read from CSV: id, text, (text_b), label
            columns = [
                (f, names[f])
                for f in ("id", "text_a")
                + (("text_b",) if any(ex.text_b is not None for ex in examples) else ())
                + ("label",)
            ]
        else:  # the input's columns in its order, renamed where the options say; none added unless needed
            by_read_name = {read_as.get(f) or _DEFAULT_NAME[f]: f for f in _DEFAULT_NAME}
            columns = [(by_read_name.get(c), names[by_read_name[c]] if c in by_read_name else c) for c in header]
            present = {f for f, _ in columns if f}
            for f, needed in (
                ("text_b", any(ex.text_b is not None for ex in examples)),
                ("label", any(ex.label is not None for ex in examples)),
            ):
                if needed and f not in present:
                    columns.append((f, names[f]))
        taken = {name for _, name in columns}
        for ex in examples:
            for col in ex.meta.get("extra") or {}:
                if col not in taken:
                    columns.append((None, col))
                    taken.add(col)
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=p.delimiter, lineterminator="\n")
        w.writerow([name for _, name in columns])
        for ex in examples:
            values = {
                "id": ex.id,
                "text_a": ex.text_a or "",
                "text_b": ex.text_b or "",
                "label": ex.label or "",
                "lang": ex.lang,
            }
            more = ex.meta.get("extra") or {}
            w.writerow([values[f] if f else more.get(name, "") for f, name in columns])
        write_text(path, buf.getvalue(), p.encoding)
        return len(examples)
