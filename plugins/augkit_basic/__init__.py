"""Small general-purpose built-in components: a length filter and a duplicate filter."""

from __future__ import annotations

import dataclasses

from augkit import Corpus, Filter, FilterResult, Params, hookimpl, param


@dataclasses.dataclass
class LengthParams(Params):
    min_words: int = param(1, help="keep examples with at least this many words", ge=0)
    max_words: int = param(0, help="keep examples with at most this many words (0 = no limit)", ge=0)

    def check(self):
        if self.max_words and self.max_words < self.min_words:
            raise ValueError(f"max_words ({self.max_words}) is below min_words ({self.min_words})")


def _n_words(row: dict) -> int:
    if row["type"] == "tagging":
        return len(row["tokens"])
    if row["type"] == "pair":
        return len((row["text_a"] or "").split()) + len((row["text_b"] or "").split())
    return len((row["question"] or "").split())


class LengthFilter(Filter):
    """Keeps examples whose word count lies in [min_words, max_words] (pairs: both texts; QA: the question)."""

    name = "length"
    Params = LengthParams
    params: LengthParams

    def filter(self, corpus: Corpus) -> FilterResult:  # type: ignore[override]  # n_inputs = 1
        lo, hi = self.params.min_words, self.params.max_words
        keep = [i for i, row in enumerate(corpus.dataset) if lo <= _n_words(row) and (not hi or _n_words(row) <= hi)]
        return FilterResult(corpus.select(keep), kept=len(keep), total=len(corpus))


class DedupeFilter(Filter):
    """Drops examples whose text (tokens, pair texts or question+context) repeats an earlier one."""

    name = "dedupe"

    def filter(self, corpus: Corpus) -> FilterResult:  # type: ignore[override]  # n_inputs = 1
        seen, keep = set(), []
        for i, row in enumerate(corpus.dataset):
            key = (row["type"], tuple(row["tokens"]), row["text_a"], row["text_b"], row["question"], row["context"])
            if key not in seen:
                seen.add(key)
                keep.append(i)
        return FilterResult(corpus.select(keep), kept=len(keep), total=len(corpus))


@hookimpl
def register_filters(register):
    register(LengthFilter)
    register(DedupeFilter)
