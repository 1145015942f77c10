from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterable, Iterator

from augkit import DataError, Example, Params, Reader, Writer, atomic_write_text, param
from augkit.tasks import repair_iob

from ._common import check_label, check_nonempty, read_lines


@dataclasses.dataclass
class ConllParams(Params):
    encoding: str = param("utf-8", help="file encoding")
    iob1_to_iob2: bool = param(False, help="convert IOB1 tags to IOB2 on read")
    labels: list[str] | None = param(None, help="the label set; a tag outside it is an error")
    drop_labels: bool = param(False, help="read the words only (target-language unlabelled text)")
    tag_column: int = param(-1, help="which column holds the tag (0 = the word; -1 = last)")
    separator: str | None = param(None, help="column separator (default: any whitespace)")


class ConllReader(Reader):
    """CoNLL-2002/2003 style: one `word ... tag` line per token, blank lines between sentences,
    `-DOCSTART-` lines ignored. A file with one column throughout is read as unlabelled words."""

    name = "conll"
    Params = ConllParams
    example_types = ("tagging",)
    suffixes = (".conll", ".conll03", ".iob", ".bio", ".ner")

    def read(self, source: str, *, lang: str = "und", name: str | None = None) -> Iterator[Example]:
        p = self.params
        prefix = name or Path(source).stem
        n_cols, first_line = None, None
        tokens: list[str] = []
        tags: list[str] = []
        line_nos: list[int] = []
        count = 0

        def flush():
            nonlocal tokens, tags, line_nos, count
            if not tokens:
                return None
            out_tags = [] if p.drop_labels or n_cols == 1 else (repair_iob(tags) if p.iob1_to_iob2 else tags)
            for tag, line_no in zip(out_tags, line_nos):
                check_label(tag, p.labels, source, line_no)
            ex = Example(id=f"{prefix}-{count}", type="tagging", lang=lang, tokens=tokens, tags=out_tags)
            count += 1
            tokens, tags, line_nos = [], [], []
            return ex

        for n, line in read_lines(source, p.encoding):
            cols = line.split(p.separator) if p.separator else line.split()
            if not cols or (p.separator and not line.strip()):
                ex = flush()
                if ex:
                    yield ex
                continue
            if cols[0] == "-DOCSTART-":
                ex = flush()
                if ex:
                    yield ex
                continue
            if n_cols is None:
                n_cols, first_line = len(cols), n
            elif len(cols) != n_cols:
                what = "the tag is missing" if len(cols) < n_cols else "extra columns"
                raise DataError(f"expected {n_cols} columns (as on line {first_line}), found {len(cols)}: {what}",
                                path=source, line=n)
            tokens.append(cols[0])
            line_nos.append(n)
            if n_cols > 1:
                tags.append(cols[p.tag_column])
        ex = flush()
        if ex:
            yield ex
        check_nonempty(count, source)


@dataclasses.dataclass
class ConllWriterParams(Params):
    separator: str = param(" ", help="column separator")


class ConllWriter(Writer):
    """Writes `word tag` lines with blank lines between sentences (the words alone when unlabelled)."""

    name = "conll"
    Params = ConllWriterParams
    example_types = ("tagging",)
    suffixes = ConllReader.suffixes

    def write(self, examples: Iterable[Example], path) -> int:
        lines, count = [], 0
        for ex in examples:
            if ex.type != "tagging":
                raise DataError(f"example {ex.id!r} is {ex.type!r}; CoNLL holds tagging examples only", path=str(path))
            for i, tok in enumerate(ex.tokens):
                lines.append(f"{tok}{self.params.separator}{ex.tags[i]}" if ex.tags else tok)
            lines.append("")
            count += 1
        atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))
        return count
