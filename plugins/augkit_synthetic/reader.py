"""The ``synthetic`` reader: one split of the benchmark a benchmark file describes (``benchmark.py``)."""

from __future__ import annotations

import dataclasses
from typing import Iterator, Literal

from augkit import Example, Params, Reader, param

from .benchmark import load_benchmark


@dataclasses.dataclass
class SyntheticParams(Params):
    task: Literal["ner", "nli", "text"] = param(
        "ner", help='"ner" (tagging), "nli" (pairs) or "text" (unlabelled sentences for pretraining)'
    )
    split: Literal["train", "dev", "test", "unlabelled", "translate-train"] = param(
        "train",
        help="train (source, labelled), dev/test (labelled, any language), unlabelled (target), "
        "translate-train (source train translated into the target, with source and back-translation)",
    )
    translations: bool = param(
        False,
        help="dev/test in a target language: attach each example's machine "
        "translation into the source (translate-test, for X-Mixup)",
    )


class SyntheticReader(Reader):
    """A split of augkit's synthetic multilingual benchmark; the path is its benchmark file (TOML)."""

    name = "synthetic"
    Params = SyntheticParams
    params: SyntheticParams
    example_types = ("tagging", "pair")
    suffixes = ()  # a benchmark file is TOML, which is no data format to guess from a suffix

    def read(self, source: str, *, lang: str = "und", name: str | None = None) -> Iterator[Example]:
        p = self.params
        bench = load_benchmark(source)
        code = bench.source if lang == "und" else lang
        for row in bench.examples(p.task, p.split, code, translations=p.translations):
            yield Example(**row)
