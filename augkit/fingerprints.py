"""Content hashes: what makes a stage's fingerprint, so a resume redoes exactly what changed."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def hash_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def hash_path(path: str | os.PathLike) -> str:
    """Content hash of a file, or of every file in a folder (names and contents, sorted)."""
    path = Path(path)
    if path.is_file():
        return hash_file(path)
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")):
        if p.is_file() and not p.name.startswith("."):
            h.update(str(p.relative_to(path)).encode())
            h.update(hash_file(p).encode())
    return h.hexdigest()


def hash_obj(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()
