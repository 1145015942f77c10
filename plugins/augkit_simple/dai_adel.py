"""Dai & Adel (COLING 2020), "An Analysis of Simple Data Augmentation for Named Entity Recognition":
four augmentations of tagged sentences whose tags are right by construction.

  * ``lwtr``, label-wise token replacement: each word, with probability p, is replaced by a word drawn
    from the corpus's words of the same tag, in proportion to their counts; tags unchanged;
  * ``sr``, synonym replacement: each word, with probability p, is replaced by a synonym; a synonym of
    several words takes the tag's type on each (B-X → B-X I-X …, I-X → I-X …, another tag repeated);
  * ``mr``, mention replacement: each mention, with probability p, is replaced by another mention of the
    same type from the corpus; its tags are rebuilt (B-X I-X …);
  * ``sis``, shuffle within segments: the sentence is cut into segments of one label (a mention, or a
    run of words with the same non-entity tag); each segment, with probability p, has its words shuffled.

The word distribution and the mention pool come from the corpus being augmented (``fit``), so a stage
over a training set draws on that training set, as the paper does. Tags follow IOB2 (``B-``/``I-``
prefixes); other tag sets (POS) work with ``lwtr``, ``sr`` and ``sis`` (a segment is then a run of one
tag). Each operation makes ``samples_per_input`` outputs per input; an output identical to its input is
dropped and counted.
"""

from __future__ import annotations

import collections
import dataclasses
import random
from typing import Literal

from augkit import Example, FilePath, Generator, Params, example_rng, param

from .synonyms import load_synonyms

Operation = Literal["lwtr", "sr", "mr", "sis"]


@dataclasses.dataclass
class DaiAdelParams(Params):
    operations: list[Operation] = param(
        ["lwtr", "sr", "mr", "sis"],
        help="augmentations to apply, each making its "
        "own outputs (lwtr: label-wise token replacement, sr: synonym replacement, "
        "mr: mention replacement, sis: shuffle within segments)",
    )
    p: float = param(
        0.3, help="probability of changing each word (lwtr, sr), mention (mr) or segment (sis)", gt=0, le=1
    )
    samples_per_input: int = param(1, help="outputs per input and operation", ge=1, le=1000)
    synonyms_path: FilePath | None = param(
        None,
        help="synonym dictionary for sr (TSV: word, then synonyms, "
        "tab-separated; or JSON {word: [synonyms]}); default: WordNet through nltk",
    )
    encoding: str = param("utf-8", help="encoding of the synonym dictionary")

    def check(self):
        if not self.operations:
            raise ValueError("operations: name at least one of lwtr, sr, mr, sis")
        if len(set(self.operations)) != len(self.operations):
            raise ValueError(f"operations: {self.operations} names an operation twice")


def mention_spans(tags: list[str]) -> list[tuple[int, int, str]]:
    """(start, end, type) of each IOB2 mention (an I- tag without a B- starts one)."""
    spans: list[tuple[int, int, str]] = []
    start: int | None = None
    typ = ""
    for i, tag in enumerate(list(tags) + ["O"]):
        if start is not None and not (tag.startswith("I-") and tag[2:] == typ):
            spans.append((start, i, typ))
            start = None
        if tag.startswith("B-") or (tag.startswith("I-") and start is None):
            start, typ = i, tag[2:]
    return spans


def segments(tags: list[str]) -> list[tuple[int, int]]:
    """[start, end) of each segment of one label: a mention, or a run of one non-entity tag."""
    out, start = [], 0
    for i in range(1, len(tags) + 1):
        if i == len(tags) or tags[i].startswith("B-") or _label(tags[i]) != _label(tags[i - 1]):
            out.append((start, i))
            start = i
    return out


def _label(tag: str) -> str:
    return tag[2:] if tag[:2] in ("B-", "I-") else tag


def expand_tag(tag: str, n_words: int) -> list[str]:
    """The tags of ``n_words`` words standing where one word tagged ``tag`` stood."""
    if tag.startswith("B-"):
        return [tag] + [f"I-{tag[2:]}"] * (n_words - 1)
    return [tag] * n_words


class DaiAdelGenerator(Generator):
    """Dai & Adel's label-wise token, synonym and mention replacement and shuffle within segments for
    tagged sentences (NER, POS); tags are right by construction."""

    name = "dai-adel"
    Params = DaiAdelParams
    params: DaiAdelParams
    example_types = ("tagging",)
    labels_outputs = True

    def setup(self, device: str = "cpu", precision: str = "auto") -> None:
        p = self.params
        self.synonyms = load_synonyms(p.synonyms_path, p.encoding) if "sr" in p.operations else None
        self.words_by_tag: dict[str, tuple[list[str], list[int]]] = {}
        self.mentions: dict[str, list[tuple[str, ...]]] = {}

    def fit(self, examples) -> None:
        counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        pool: dict[str, set[tuple[str, ...]]] = collections.defaultdict(set)
        for ex in examples:
            if not ex.tags:
                continue
            for word, tag in zip(ex.tokens, ex.tags):
                counts[tag][word] += 1
            for s, e, typ in mention_spans(ex.tags):
                pool[typ].add(tuple(ex.tokens[s:e]))
        # sorted, so that the draws do not depend on the order of the corpus
        self.words_by_tag = {tag: (sorted(c), [c[w] for w in sorted(c)]) for tag, c in counts.items()}
        self.mentions = {typ: sorted(ms) for typ, ms in pool.items()}

    def lwtr(self, tokens, tags, rng: random.Random):
        new = list(tokens)
        for i, tag in enumerate(tags):
            if rng.random() < self.params.p and tag in self.words_by_tag:
                words, weights = self.words_by_tag[tag]
                new[i] = rng.choices(words, weights)[0]
        return new, list(tags), _changed(tokens, new)

    def sr(self, tokens, tags, rng: random.Random):
        new_tokens: list[str] = []
        new_tags: list[str] = []
        changed: list[int] = []
        for word, tag in zip(tokens, tags):
            syns = self.synonyms(word) if rng.random() < self.params.p and self.synonyms is not None else []
            words = rng.choice(syns).split() if syns else [word]
            if words != [word]:
                changed += range(len(new_tokens), len(new_tokens) + len(words))
            new_tokens += words
            new_tags += expand_tag(tag, len(words))
        return new_tokens, new_tags, changed

    def mr(self, tokens, tags, rng: random.Random):
        new_tokens: list[str] = []
        new_tags: list[str] = []
        changed: list[int] = []
        pos = 0
        for s, e, typ in mention_spans(tags):
            new_tokens += tokens[pos:s]
            new_tags += tags[pos:s]
            mention = list(tokens[s:e])
            if rng.random() < self.params.p:
                others = [m for m in self.mentions.get(typ, []) if list(m) != mention]
                if others:
                    mention = list(rng.choice(others))
                    changed += range(len(new_tokens), len(new_tokens) + len(mention))
            new_tokens += mention
            new_tags += expand_tag(f"B-{typ}", len(mention))
            pos = e
        return new_tokens + list(tokens[pos:]), new_tags + list(tags[pos:]), changed

    def sis(self, tokens, tags, rng: random.Random):
        new = list(tokens)
        for s, e in segments(tags):
            if e - s > 1 and rng.random() < self.params.p:
                part = new[s:e]
                rng.shuffle(part)
                new[s:e] = part
        return new, list(tags), _changed(tokens, new)

    def augment_batch(self, examples, *, seed):
        out = []
        for ex in examples:
            if not ex.tags:
                self.count("skipped_unlabelled")
                continue
            seen = set()
            for op in self.params.operations:
                for k in range(self.params.samples_per_input):
                    rng = example_rng(seed, ex.id, "dai-adel", op, k)
                    tokens, tags, changed = getattr(self, op)(list(ex.tokens), list(ex.tags), rng)
                    key = (tuple(tokens), tuple(tags))
                    if (tokens == list(ex.tokens) and tags == list(ex.tags)) or key in seen:
                        self.count("unchanged_or_repeated_dropped")
                        continue
                    seen.add(key)
                    self.count(f"made_{op}")
                    out.append(
                        Example(
                            id=f"{ex.id}~{op}{k}",
                            type="tagging",
                            lang=ex.lang,
                            tokens=tokens,
                            tags=tags,
                            source_id=ex.id,
                            component=self.display_name(),
                            replaced=changed,
                            orig_tags=list(ex.tags),
                            meta={"operation": op, "changed": changed},
                        )
                    )
        return out


def _changed(before: list[str], after: list[str]) -> list[int]:
    return [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
