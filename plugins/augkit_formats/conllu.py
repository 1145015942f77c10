from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterable, Iterator, Literal

from augkit import DataError, Example, Reader, TextReaderParams, Writer, atomic_write_text, param

from ._common import check_label, check_nonempty, read_lines


@dataclasses.dataclass
class ConlluParams(TextReaderParams):
    tag_column: Literal["upos", "xpos"] = param("upos", help="which POS column to use as the tag")
    labels: list[str] | None = param(None, help="the label set; a tag outside it is an error")
    drop_labels: bool = param(False, help="read the words only")


class ConlluReader(Reader):
    """Universal Dependencies CoNLL-U: ten tab-separated columns; comments, multi-word token ranges
    (1-2) and empty nodes (1.1) are skipped; the tag is UPOS (or XPOS)."""

    name = "conllu"
    Params = ConlluParams
    params: ConlluParams
    example_types = ("tagging",)
    suffixes = (".conllu",)

    def read(self, source: str, *, lang: str = "und", name: str | None = None) -> Iterator[Example]:
        p = self.params
        prefix = name or Path(source).stem
        col = 3 if p.tag_column == "upos" else 4
        tokens: list[str] = []
        tags: list[str] = []
        count, sent_id = 0, None
        for n, line in list(read_lines(source, p.encoding, p.max_line_bytes)) + [(-1, "")]:
            if line.startswith("#"):
                if line.startswith("# sent_id"):
                    sent_id = line.split("=", 1)[-1].strip()
                continue
            if not line.strip():
                if tokens:
                    untagged = p.drop_labels or all(t == "_" for t in tags)  # what the writer writes for no tags
                    yield Example(
                        id=f"{prefix}-{count}",
                        type="tagging",
                        lang=lang,
                        tokens=tokens,
                        tags=[] if untagged else tags,
                        meta={"sent_id": sent_id} if sent_id else {},
                    )
                    count += 1
                tokens, tags, sent_id = [], [], None
                continue
            cols = line.split("\t")
            if len(cols) != 10:
                raise DataError(f"expected 10 tab-separated columns, found {len(cols)}", path=source, line=n)
            if "-" in cols[0] or "." in cols[0]:
                continue
            check_label(cols[col], p.labels, source, n)
            tokens.append(cols[1])
            tags.append(cols[col])
        check_nonempty(count, source)


class ConlluWriter(Writer):
    """Writes CoNLL-U with ID, FORM and UPOS filled and the other columns `_` (an untagged sentence has
    `_` as every UPOS, which the reader reads back as untagged). Refuses words or tags with a tab or a
    newline, empty words and sentences, and a tag count that differs from the word count."""

    name = "conllu"
    example_types = ("tagging",)
    suffixes = (".conllu",)

    def write(self, examples: Iterable[Example], path) -> int:
        lines, count = [], 0
        for ex in examples:
            where = f"example {ex.id!r}"
            if ex.type != "tagging":
                raise DataError(f"{where} is {ex.type!r}; CoNLL-U holds tagging examples only", path=str(path))
            if not ex.tokens:
                raise DataError(f"{where} has no words; a CoNLL-U sentence needs at least one", path=str(path))
            if ex.tags and len(ex.tags) != len(ex.tokens):
                raise DataError(f"{where}: {len(ex.tokens)} words but {len(ex.tags)} tags", path=str(path))
            bad = next((x for x in [*ex.tokens, *ex.tags] if not x or "\t" in x or "\n" in x or "\r" in x), None)
            if bad is not None:
                raise DataError(
                    f"{where}: {bad!r} is empty or holds a tab or a line break, which CoNLL-U cannot store",
                    path=str(path),
                )
            sent_id = str(ex.meta.get("sent_id", ex.id)) if ex.source_id is None else ex.id
            lines.append(f"# sent_id = {sent_id}")
            for i, tok in enumerate(ex.tokens):
                upos = ex.tags[i] if ex.tags else "_"
                lines.append("\t".join([str(i + 1), tok, "_", upos, "_", "_", "_", "_", "_", "_"]))
            lines.append("")
            count += 1
        atomic_write_text(path, "\n".join(lines) + "\n")
        return count
