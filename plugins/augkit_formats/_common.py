"""Helpers shared by the format readers: decoding with line numbers, label-set checks, IOB1→IOB2."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from augkit import UNKNOWN_TAG, DataError, atomic_write_text

#: what a decoding error tells the user to do
ENCODING_HINT = ("give the reader the file's encoding (in a recipe's [data.*] table: encoding = \"latin-1\"; "
                 "with augkit augment: --read-opt encoding=latin-1)")


def read_lines(path: str, encoding: str) -> Iterator[tuple[int, str]]:
    """(line number, line without newline) for every line; a decoding error names the line."""
    p = Path(path)
    if not p.exists():
        raise DataError("file not found", path=path)
    if p.is_dir():
        raise DataError("expected a file, found a folder", path=path)
    raw = p.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf") and encoding.replace("-", "").lower() == "utf8":
        raw = raw[3:]
    for n, line in enumerate(raw.split(b"\n"), start=1):
        try:
            text = line.decode(encoding)
        except UnicodeDecodeError as e:
            raise DataError(f"cannot decode byte {line[e.start:e.start + 1]!r} at column {e.start + 1} as "
                            f"{encoding}; {ENCODING_HINT}", path=path, line=n) from None
        yield n, text.rstrip("\r")


def check_label(tag: str, labels: list[str] | None, path: str, line: int) -> None:
    if labels is not None and tag not in labels and tag != UNKNOWN_TAG:
        raise DataError(f"label {tag!r} is not in the label set ({', '.join(labels)})", path=path, line=line)


def check_nonempty(count: int, path: str) -> None:
    if count == 0:
        raise DataError("file holds no examples (it is empty or only has blank/comment lines)", path=path)


def write_text(path, text: str, encoding: str) -> None:
    """Write ``text`` atomically in ``encoding``; a character it cannot encode is a DataError, not a traceback."""
    try:
        atomic_write_text(path, text, encoding=encoding)
    except UnicodeEncodeError as e:
        raise DataError(f"{e.object[e.start:e.end]!r} cannot be written as {encoding}; choose another `encoding` "
                        "(augkit augment: --write-opt encoding=utf-8)", path=str(path)) from None
