"""EDA (Wei & Zou, EMNLP 2019): four word-level operations for text classification.

For a text of l words, each operation changes n = max(1, ⌊α·l⌋) words:
  * SR, synonym replacement: n different non-stop words, each replaced by one of its synonyms;
  * RI, random insertion: n times, a synonym of a random non-stop word inserted at a random position;
  * RS, random swap: n times, two random positions swap their words;
  * RD, random deletion: each word deleted with probability α (one word is always kept).
Each output applies one operation; ``samples_per_input`` outputs per example are spread over the
operations as EDA does (⌊N/ops⌋ + 1 per operation, then N chosen at random), so the default (α = 0.1,
N = 9) is EDA's. An output identical to its input is dropped and counted. For sentence pairs the
operation is applied to each text ``texts`` names; the label is kept.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Literal

from augkit import Example, FilePath, Generator, Params, example_rng, param

from .synonyms import load_stopwords, load_synonyms

Operation = Literal["sr", "ri", "rs", "rd"]


@dataclasses.dataclass
class EdaParams(Params):
    operations: list[Operation] = param(
        ["sr", "ri", "rs", "rd"],
        help="EDA operations to use (sr: synonym "
        "replacement, ri: random insertion, rs: random swap, rd: random deletion)",
    )
    alpha: float = param(0.1, help="α: share of words each operation changes (rd: deletion probability)", gt=0, le=1)
    samples_per_input: int = param(9, help="outputs per input (EDA's n_aug), spread over the operations", ge=1, le=1000)
    texts: Literal["both", "a", "b"] = param("both", help="which text of a pair is changed")
    synonyms_path: FilePath | None = param(
        None,
        help="synonym dictionary (TSV: word, then synonyms, tab-separated; "
        "or JSON {word: [synonyms]}); default: WordNet through nltk",
    )
    stopwords_path: FilePath | None = param(
        None, help="words SR and RI leave alone, one per line (default: a list of English function words)"
    )
    encoding: str = param("utf-8", help="encoding of the dictionary and stopword files")

    def check(self):
        if not self.operations:
            raise ValueError("operations: name at least one of sr, ri, rs, rd")
        if len(set(self.operations)) != len(self.operations):
            raise ValueError(f"operations: {self.operations} names an operation twice")


def _n_changes(alpha: float, n_words: int) -> int:
    return max(1, int(alpha * n_words))


def synonym_replacement(words: list[str], n: int, synonyms, stopwords, rng: random.Random) -> list[str]:
    out = list(words)
    candidates = [i for i, w in enumerate(words) if w.lower() not in stopwords and synonyms(w)]
    rng.shuffle(candidates)
    for i in candidates[:n]:
        out[i] = rng.choice(synonyms(words[i]))
    return out


def random_insertion(words: list[str], n: int, synonyms, stopwords, rng: random.Random) -> list[str]:
    out = list(words)
    for _ in range(n):
        candidates = [w for w in out if w.lower() not in stopwords and synonyms(w)]
        if not candidates:
            break
        out.insert(rng.randrange(len(out) + 1), rng.choice(synonyms(rng.choice(candidates))))
    return out


def random_swap(words: list[str], n: int, rng: random.Random) -> list[str]:
    out = list(words)
    if len(out) < 2:
        return out
    for _ in range(n):
        i, j = rng.sample(range(len(out)), 2)
        out[i], out[j] = out[j], out[i]
    return out


def random_deletion(words: list[str], p: float, rng: random.Random) -> list[str]:
    if len(words) <= 1:
        return list(words)
    kept = [w for w in words if rng.random() >= p]
    return kept or [rng.choice(words)]


class EdaGenerator(Generator):
    """EDA's synonym replacement, random insertion, random swap and random deletion (Wei & Zou, 2019)
    for classification texts and sentence pairs; the label is kept."""

    name = "eda"
    Params = EdaParams
    params: EdaParams
    example_types = ("pair",)
    labels_outputs = True

    def setup(self, device: str = "cpu", precision: str = "auto") -> None:
        p = self.params
        needs_synonyms = {"sr", "ri"} & set(p.operations)
        self.synonyms = load_synonyms(p.synonyms_path, p.encoding) if needs_synonyms else None
        self.stopwords = load_stopwords(p.stopwords_path, p.encoding)

    def _apply(self, op: str, text: str, rng: random.Random) -> str:
        words = text.split()
        if not words:
            return text
        n = _n_changes(self.params.alpha, len(words))
        if op == "sr":
            new = synonym_replacement(words, n, self.synonyms, self.stopwords, rng)
        elif op == "ri":
            new = random_insertion(words, n, self.synonyms, self.stopwords, rng)
        elif op == "rs":
            new = random_swap(words, n, rng)
        else:
            new = random_deletion(words, self.params.alpha, rng)
        return " ".join(new) if new != words else text

    def augment_batch(self, examples, *, seed):
        p = self.params
        per_op = p.samples_per_input // len(p.operations) + 1
        out = []
        for ex in examples:
            rng = example_rng(seed, ex.id, "eda")
            made = []
            for op in p.operations:
                for k in range(per_op):
                    op_rng = example_rng(seed, ex.id, "eda", op, k)
                    a, b = ex.text_a, ex.text_b
                    if p.texts in ("both", "a") or b is None:
                        a = self._apply(op, a, op_rng)
                    if b is not None and p.texts in ("both", "b"):
                        b = self._apply(op, b, op_rng)
                    made.append((op, k, a, b))
            chosen = sorted(rng.sample(range(len(made)), min(p.samples_per_input, len(made))))
            seen = set()
            for j in chosen:
                op, k, a, b = made[j]
                if (a, b) == (ex.text_a, ex.text_b) or (a, b) in seen:
                    self.count("unchanged_or_repeated_dropped")
                    continue
                seen.add((a, b))
                self.count(f"made_{op}")
                out.append(
                    Example(
                        id=f"{ex.id}~eda-{op}{k}",
                        type="pair",
                        lang=ex.lang,
                        text_a=a,
                        text_b=b,
                        label=ex.label,
                        source_id=ex.id,
                        component=self.display_name(),
                        meta={"operation": op},
                    )
                )
        return out
