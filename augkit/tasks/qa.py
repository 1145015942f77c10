"""Extractive QA (SQuAD style): question + context features with a document stride, answer spans mapped
from characters to tokens, and the best span decoded back to context text.

A context longer than ``max_length`` becomes several overlapping windows (``doc_stride`` tokens of
overlap), each its own feature. For training, a window that holds the whole answer points at its first
and last token; one that does not points at the first token (``[CLS]``/``<s>``), as in SQuAD v1.1
fine-tuning. Needs a fast tokenizer (character offsets).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from ..data import Example
from ..errors import DataError


@dataclasses.dataclass
class QAFeature:
    """One window of one question: token ids, the context character span of every token (``-1, -1``
    outside the context) and, for training, the answer's token positions."""

    input_ids: np.ndarray
    offsets: np.ndarray  # [T, 2] character offsets into the context; -1 outside it
    example: int
    token_type_ids: np.ndarray | None = None
    start_position: int | None = None
    end_position: int | None = None
    pair: bool = False

    @property
    def has_target(self) -> bool:
        return self.start_position is not None


def encode_qa(
    examples: Sequence[Example],
    tokenizer,
    max_length: int = 384,
    doc_stride: int | None = None,
    with_answers: bool = False,
    stats: dict | None = None,
) -> list[QAFeature]:
    """Features for QA examples (``question``, ``context``; with ``with_answers`` the first answer of
    each example becomes the target). ``doc_stride``: overlap of consecutive windows in tokens
    (default: 128, at most half of ``max_length``)."""
    if doc_stride is None:
        doc_stride = min(128, max_length // 2)
    if not examples:
        return []
    if not getattr(tokenizer, "is_fast", False):
        raise DataError("extractive QA needs a fast tokenizer (character offsets); this one is not")
    if doc_stride >= max_length:
        raise DataError(f"doc_stride ({doc_stride}) must be smaller than max_length ({max_length})")
    enc = tokenizer(
        [ex.question or "" for ex in examples],
        [ex.context or "" for ex in examples],
        truncation="only_second",
        max_length=max_length,
        stride=doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    features = []
    for k in range(len(enc["input_ids"])):
        i = enc["overflow_to_sample_mapping"][k]
        seq_ids = enc.sequence_ids(k)
        offsets = np.array(
            [o if s == 1 else (-1, -1) for o, s in zip(enc["offset_mapping"][k], seq_ids)], dtype=np.int64
        ).reshape(-1, 2)
        tt = np.asarray(enc["token_type_ids"][k], dtype=np.int64) if "token_type_ids" in enc else None
        f = QAFeature(np.asarray(enc["input_ids"][k], dtype=np.int64), offsets, i, tt)
        if with_answers:
            f.start_position, f.end_position = _answer_tokens(examples[i], offsets)
            if stats is not None and f.start_position == 0:
                stats["qa_windows_without_answer"] = stats.get("qa_windows_without_answer", 0) + 1
        features.append(f)
    if stats is not None:
        stats["qa_windows"] = stats.get("qa_windows", 0) + len(features)
    return features


def _answer_tokens(ex: Example, offsets: np.ndarray) -> tuple[int, int]:
    if not ex.answers:
        raise DataError(f"example {ex.id!r}: a training question needs an answer")
    answer = ex.answers[0]
    start = int(answer.get("start", -1))
    if start < 0:
        start = (ex.context or "").find(answer["text"])
        if start < 0:
            raise DataError(f"example {ex.id!r}: the answer {answer['text']!r} is not in the context")
    end = start + len(answer["text"])  # exclusive
    inside = offsets[:, 0] >= 0
    if not inside.any() or offsets[inside, 0].min() > start or offsets[inside, 1].max() < end:
        return 0, 0  # this window does not hold the whole answer
    firsts = np.nonzero(inside & (offsets[:, 0] <= start) & (offsets[:, 1] > start))[0]
    lasts = np.nonzero(inside & (offsets[:, 0] < end) & (offsets[:, 1] >= end))[0]
    if not len(firsts) or not len(lasts) or lasts.max() < firsts.min():
        return 0, 0
    return int(firsts.min()), int(lasts.max())


def best_spans(
    features: Sequence[QAFeature],
    start_logits: Sequence[np.ndarray],
    end_logits: Sequence[np.ndarray],
    contexts: Sequence[str],
    n_best: int = 20,
    max_answer_length: int = 30,
) -> list[str]:
    """The highest-scoring context span (start logit + end logit, end ≥ start, at most
    ``max_answer_length`` tokens) over each example's windows, as context text ("" if none)."""
    best: dict[int, tuple[float, str]] = {}
    for f, s_log, e_log in zip(features, start_logits, end_logits):
        inside = f.offsets[:, 0] >= 0
        s_log = np.where(inside, s_log[: len(inside)], -np.inf)
        e_log = np.where(inside, e_log[: len(inside)], -np.inf)
        starts = np.argsort(s_log)[::-1][:n_best]
        ends = np.argsort(e_log)[::-1][:n_best]
        for s in starts:
            if not np.isfinite(s_log[s]):
                break
            for e in ends:
                if not np.isfinite(e_log[e]) or e < s or e - s + 1 > max_answer_length:
                    continue
                score = float(s_log[s] + e_log[e])
                if f.example not in best or score > best[f.example][0]:
                    text = contexts[f.example][int(f.offsets[s, 0]) : int(f.offsets[e, 1])]
                    best[f.example] = (score, text)
    return [best.get(i, (0.0, ""))[1] for i in range(len(contexts))]
