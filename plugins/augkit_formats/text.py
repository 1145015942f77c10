"""Plain text: one sentence per line (what nlpaug and TextAttack users bring)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterable, Iterator

from augkit import DataError, Encoding, Example, Params, Reader, TextReaderParams, Writer, param

from ._common import check_nonempty, read_lines, write_text


@dataclasses.dataclass
class TextParams(TextReaderParams):
    """The plain-text reader's options."""


@dataclasses.dataclass
class TextWriterParams(Params):
    encoding: Encoding = param(Encoding("utf-8"), help="file encoding")


class TextReader(Reader):
    """One sentence per line, as single-sentence examples (``text_a``; ids ``<file>-<n>``, n counting
    sentences); blank lines are skipped and surrounding whitespace is trimmed. The language is the one
    given (``--lang`` / ``lang``)."""

    name = "txt"
    Params = TextParams
    params: TextParams
    example_types = ("pair",)
    suffixes = (".txt", ".text")

    def read(self, source: str, *, lang: str = "und", name: str | None = None) -> Iterator[Example]:
        prefix = name or Path(source).stem
        count = 0
        for _, line in read_lines(source, self.params.encoding, self.params.max_line_bytes):
            text = line.strip()
            if text:
                yield Example(id=f"{prefix}-{count}", type="pair", lang=lang, text_a=text)
                count += 1
        check_nonempty(count, source)


class TextWriter(Writer):
    """One sentence per line: a single sentence's text, or a tagging example's words joined by spaces.
    Labels are not written (plain text has no place for them). Refuses sentence pairs with a second text,
    empty texts and texts with a line break (each would not read back as one sentence)."""

    name = "txt"
    Params = TextWriterParams
    params: TextWriterParams
    example_types = ("pair", "tagging")
    suffixes = TextReader.suffixes

    def write(self, examples: Iterable[Example], path) -> int:
        lines = []
        for ex in examples:
            where = f"example {ex.id!r}"
            if ex.type == "tagging":
                text = " ".join(ex.tokens)
            elif ex.type == "pair" and ex.text_b is None:
                text = ex.text_a or ""
            else:
                raise DataError(
                    f"{where} is a {'sentence pair' if ex.type == 'pair' else ex.type + ' example'}; "
                    "plain text holds one sentence per line (write .tsv, .csv or .jsonl)",
                    path=str(path),
                )
            if not text.strip() or "\n" in text or "\r" in text:
                raise DataError(
                    f"{where}: its text is empty or holds a line break, so it would not read back as one sentence",
                    path=str(path),
                )
            lines.append(text.strip())
        write_text(path, "\n".join(lines) + ("\n" if lines else ""), self.params.encoding)
        return len(lines)
