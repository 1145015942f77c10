"""An example third-party augkit plugin: mention replacement for NER (Dai & Adel, 2020).

Every entity mention in a sentence is, with probability ``p``, replaced by another mention of the same
type drawn from a mention pool read from a CoNLL file. Tags are rebuilt in IOB2, so the number of words
may change. It uses only augkit's public API.
"""
from __future__ import annotations

import dataclasses

import augkit
from augkit import Example, FilePath, Generator, Params, example_rng, hookimpl, param


@dataclasses.dataclass
class MentionReplaceParams(Params):
    mentions_path: FilePath = param(help="CoNLL file whose entity mentions form the replacement pool")
    p: float = param(0.5, help="probability of replacing each mention", ge=0, le=1)
    samples_per_input: int = param(1, help="new sentences per input sentence", ge=1)
    encoding: str = param("utf-8", help="encoding of mentions_path")


def mentions(tokens: list[str], tags: list[str]) -> list[tuple[int, int, str]]:
    """(start, end, type) of each IOB2 mention."""
    spans, start, typ = [], None, None
    for i, tag in enumerate(list(tags) + ["O"]):
        if start is not None and not (tag.startswith("I-") and tag[2:] == typ):
            spans.append((start, i, typ))
            start = None
        if tag.startswith("B-") or (tag.startswith("I-") and start is None):
            start, typ = i, tag[2:]
    return spans


class MentionReplaceGenerator(Generator):
    """Replaces entity mentions with same-type mentions from a pool (labels stay correct by construction)."""

    name = "mention-replace"
    Params = MentionReplaceParams
    example_types = ("tagging",)
    labels_outputs = True  # a replacement mention gets the tags of its type: no labeler needed

    def setup(self, device: str = "cpu", precision: str = "auto") -> None:
        pool: dict[str, set[tuple[str, ...]]] = {}
        corpus = augkit.read(self.params.mentions_path, "conll", encoding=self.params.encoding)
        for ex in corpus:
            for s, e, typ in mentions(ex.tokens, ex.tags):
                pool.setdefault(typ, set()).add(tuple(ex.tokens[s:e]))
        self.pool = {typ: sorted(ms) for typ, ms in pool.items()}

    def augment_batch(self, examples, *, seed):
        out = []
        for ex in examples:
            if not ex.tags:
                self.count("skipped_unlabelled")
                continue
            rng = example_rng(seed, ex.id)
            spans = mentions(ex.tokens, ex.tags)
            for k in range(self.params.samples_per_input):
                tokens, tags, replaced, pos = [], [], [], 0
                for s, e, typ in spans:
                    tokens += ex.tokens[pos:s]
                    tags += ex.tags[pos:s]
                    choices = [m for m in self.pool.get(typ, []) if list(m) != ex.tokens[s:e]]
                    new = list(rng.choice(choices)) if choices and rng.random() < self.params.p else ex.tokens[s:e]
                    if new != ex.tokens[s:e]:
                        replaced += range(len(tokens), len(tokens) + len(new))
                        self.count("mentions_replaced")
                    tokens += new
                    tags += [f"B-{typ}"] + [f"I-{typ}"] * (len(new) - 1)
                    pos = e
                tokens += ex.tokens[pos:]
                tags += ex.tags[pos:]
                out.append(Example(id=f"{ex.id}~mr{k}", type="tagging", lang=ex.lang, tokens=tokens, tags=tags,
                                   source_id=ex.id, component=self.display_name(), replaced=replaced,
                                   orig_tags=list(ex.tags), meta={"seed_index": k}))
        return out


@hookimpl
def register_generators(register):
    register(MentionReplaceGenerator)
