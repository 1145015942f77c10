"""Task metrics: span F1 for tagging (seqeval's numbers, computed with array operations), accuracy for
sentence pairs, SQuAD F1 / exact match for extractive QA."""

from __future__ import annotations

import collections
import re
import string
from typing import Sequence

import numpy as np

from ..data import Example


def score(examples: Sequence[Example], probs: Sequence[np.ndarray], labels: list[str], task: str) -> float:
    """seqeval micro F1 (tagging, its default conlleval-compatible mode) or accuracy (pairs), in [0, 1]."""
    if task == "tagging":
        pred = np.concatenate([p.argmax(axis=1) for p in probs]) if len(probs) else np.zeros(0, dtype=np.int64)
        return span_f1([list(ex.tags) for ex in examples], pred, labels)
    correct = sum(labels[int(p[0].argmax())] == ex.label for ex, p in zip(examples, probs))
    return correct / len(examples) if examples else 0.0


_LETTERS = {"O": 0, "B": 1, "I": 2, "E": 3, "S": 4, ".": 5}


def span_f1(gold: Sequence[Sequence[str]], pred_ids: np.ndarray, labels: list[str]) -> float:
    """Micro F1 over chunks, the same number as ``seqeval.metrics.f1_score(gold, pred)`` in its default
    mode (same chunk rules for IOB1/IOB2/IOBES tags, same zero-division result), computed with array
    operations instead of a Python loop per word. ``pred_ids``: every word's predicted label index into
    ``labels``, sentences concatenated. The equality with seqeval is tested on random tag sequences."""
    names = list(labels)
    index = {name: i for i, name in enumerate(names)}
    gold_ids = np.fromiter((index.setdefault(t, len(index)) for g in gold for t in g), dtype=np.int64)
    names = list(index)
    lengths = np.fromiter(map(len, gold), dtype=np.int64, count=len(gold))
    if len(gold_ids) != len(pred_ids):
        raise ValueError(f"{len(pred_ids)} predicted tags for {len(gold_ids)} gold tags")
    # seqeval joins the sentences with an "O" after each one; "O" gets the id len(names)
    o_id = len(names)
    names.append("O")
    keep = np.ones(int(lengths.sum() + len(lengths)), dtype=bool)
    keep[np.cumsum(lengths + 1) - 1] = False

    def flat(ids):
        out = np.full(len(keep), o_id, dtype=np.int64)
        out[keep] = ids
        return out

    letter = np.array([_LETTERS.get(n[0], 6) if n else 6 for n in names], dtype=np.int64)
    type_names: dict[str, int] = {}
    type_of = np.array(
        [type_names.setdefault(n[1:].split("-", 1)[-1] or "_", len(type_names)) for n in names], dtype=np.int64
    )
    g = _chunks(flat(gold_ids), letter, type_of)
    p = _chunks(flat(np.asarray(pred_ids, dtype=np.int64)), letter, type_of)
    tp, n_pred, n_true = len(np.intersect1d(g, p)), len(p), len(g)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_true if n_true else 0.0
    return float(2 * precision * recall / (precision + recall)) if precision + recall else 0.0


def _chunks(ids: np.ndarray, letter: np.ndarray, type_of: np.ndarray) -> np.ndarray:
    """Chunks of one flat tag sequence as unique int64 keys (type, start, end), by seqeval's rules:
    walking the sequence plus a final "O", a chunk ends before position i when ``end_of_chunk`` holds
    and starts at i when ``start_of_chunk`` holds."""
    O, B, I, E, S, DOT = 0, 1, 2, 3, 4, 5
    tag = np.concatenate([letter[ids], [O]])
    typ = np.concatenate([type_of[ids], [type_of.max() + 1 if len(type_of) else 0]])
    n = len(tag)
    prev_tag = np.concatenate([[O], tag[:-1]])
    prev_typ = np.concatenate([[-1], typ[:-1]])  # seqeval starts with an empty type
    cur_bso = (tag == B) | (tag == S) | (tag == O)
    cur_ei = (tag == E) | (tag == I)
    end = (
        (prev_tag == E)
        | (prev_tag == S)
        | (((prev_tag == B) | (prev_tag == I)) & cur_bso)
        | ((prev_tag != O) & (prev_tag != DOT) & (prev_typ != typ))
    )
    start = (
        (tag == B)
        | (tag == S)
        | (((prev_tag == E) | (prev_tag == S) | (prev_tag == O)) & cur_ei)
        | ((tag != O) & (tag != DOT) & (prev_typ != typ))
    )
    ends = np.nonzero(end)[0]
    starts = np.nonzero(start)[0]
    # the begin offset in force at i is the last start before i (0 before any)
    k = np.searchsorted(starts, ends, side="left") - 1
    begin = np.where(k >= 0, starts[np.clip(k, 0, None)] if len(starts) else 0, 0)
    keys = (prev_typ[ends] + 1) * n * n + begin * n + (ends - 1)
    return np.unique(keys)


def _normalize_answer(text: str) -> str:
    """SQuAD v1.1's answer normalisation: lower case, no punctuation, no English articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


_PUNCT = set(string.punctuation)


def squad_f1_em(predictions: Sequence[str], answers: Sequence[Sequence[str]]) -> tuple[float, float]:
    """(F1, exact match) in [0, 1], as SQuAD v1.1's evaluation script computes them: per question the
    best over its gold answers (token-overlap F1 of normalised text), averaged over questions."""
    if len(predictions) != len(answers):
        raise ValueError(f"{len(predictions)} predictions for {len(answers)} questions")
    f1 = em = 0.0
    for pred, golds in zip(predictions, answers):
        golds = list(golds) or [""]
        p = _normalize_answer(pred)
        em += max(float(p == _normalize_answer(g)) for g in golds)
        f1 += max(_token_f1(p.split(), _normalize_answer(g).split()) for g in golds)
    n = max(len(predictions), 1)
    return f1 / n, em / n


def _token_f1(pred: list[str], gold: list[str]) -> float:
    common = collections.Counter(pred) & collections.Counter(gold)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)
