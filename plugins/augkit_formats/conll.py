from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterable, Iterator

from augkit import DataError, Example, Params, Reader, TextReaderParams, Writer, atomic_write_text, param
from augkit.tasks import repair_iob

from ._common import check_label, check_nonempty, read_lines


@dataclasses.dataclass
class ConllParams(TextReaderParams):
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
    params: ConllParams
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

        for n, line in read_lines(source, p.encoding, p.max_line_bytes):
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
                if len(cols) == 1:
                    what = "only the word, the tag is missing"
                else:
                    what = (
                        "the column layout changes here (every line of a CoNLL file needs the same columns, "
                        "e.g. all four of word, POS, chunk, tag or all two of word, tag); the file may join "
                        "files of different layouts"
                    )
                shown = line.strip() if len(line.strip()) <= 60 else line.strip()[:57] + "..."
                raise DataError(
                    f"expected {n_cols} columns (as on line {first_line}), found {len(cols)} in {shown!r}: {what}",
                    path=source,
                    line=n,
                )
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
    """Writes `word tag` lines with blank lines between sentences (the words alone when unlabelled).

    It refuses what its reader would reject or read back differently, naming the example and what to do:
    tagged and untagged sentences in one file (the reader needs the same columns throughout), a word
    with whitespace in it or an empty word, a tag with whitespace, a word that is `-DOCSTART-`, an
    empty sentence, and a tag count that differs from the word count."""

    name = "conll"
    Params = ConllWriterParams
    params: ConllWriterParams
    example_types = ("tagging",)
    suffixes = ConllReader.suffixes

    def write(self, examples: Iterable[Example], path) -> int:
        lines, count, tagged = [], 0, None
        sep = self.params.separator
        for ex in examples:
            where = f"example {ex.id!r}"
            if ex.type != "tagging":
                raise DataError(f"{where} is {ex.type!r}; CoNLL holds tagging examples only", path=str(path))
            if not ex.tokens:
                raise DataError(f"{where} has no words; a CoNLL sentence needs at least one", path=str(path))
            if tagged is None:
                tagged, first = bool(ex.tags), ex.id
            elif bool(ex.tags) != tagged:
                raise DataError(
                    f"{where} is {'tagged' if ex.tags else 'untagged'} but {first!r} is "
                    f"{'tagged' if tagged else 'untagged'}: CoNLL needs the same columns in every sentence, so "
                    "augkit could not read this file back. Give the new sentences tags (augkit augment "
                    "--label-with MODEL or --replaced-tags keep|unknown|drop), or write .jsonl",
                    path=str(path),
                )
            if ex.tags and len(ex.tags) != len(ex.tokens):
                raise DataError(f"{where}: {len(ex.tokens)} words but {len(ex.tags)} tags", path=str(path))
            for i, tok in enumerate(ex.tokens):
                if not tok or any(c.isspace() for c in tok) or (sep.strip() and sep in tok):
                    raise DataError(
                        f"{where}: word {i + 1} ({tok!r}) is empty or holds whitespace, which CoNLL "
                        "cannot store (write .jsonl to keep it)",
                        path=str(path),
                    )
                if i == 0 and tok == "-DOCSTART-":
                    raise DataError(
                        f"{where}: a sentence starting with the word -DOCSTART- reads back as a document break",
                        path=str(path),
                    )
                if ex.tags:
                    tag = ex.tags[i]
                    if not tag or any(c.isspace() for c in tag):
                        raise DataError(f"{where}: tag {i + 1} ({tag!r}) is empty or holds whitespace", path=str(path))
                lines.append(f"{tok}{sep}{ex.tags[i]}" if ex.tags else tok)
            lines.append("")
            count += 1
        atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))
        return count
