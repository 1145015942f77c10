"""Reading text data files line by line with errors that name the file and line (for readers)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from .errors import DataError

#: what a decoding error tells the user to do
ENCODING_HINT = ("give the reader the file's encoding (in a recipe's [data.*] table: encoding = \"latin-1\"; "
                 "with augkit augment: --read-opt encoding=latin-1)")


def read_lines(path: str, encoding: str) -> Iterator[tuple[int, str]]:
    """(line number, line without newline) for every line; a UTF-8 byte-order mark is dropped; a missing
    file, a folder or a decoding error is a DataError naming the file and line."""
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


def read_json_objects(path: str, encoding: str) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-blank line of a JSON Lines file; a line that is not a JSON
    object is a DataError naming the line and column."""
    for n, line in read_lines(path, encoding):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"invalid JSON at column {e.colno}: {e.msg}", path=path, line=n) from None
        if not isinstance(obj, dict):
            raise DataError(f"expected a JSON object, found {type(obj).__name__}", path=path, line=n)
        yield n, obj
