"""Batched inference: label distributions per word (tagging) or per pair, answers (QA), and the task
metric of a model on labelled examples."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch

from ..data import Example
from .encoding import budget_chunks, collate, encode_pairs, encode_words, pad_batch
from .metrics import score, span_f1

if TYPE_CHECKING:
    from .task_models import TaskModel


@torch.inference_mode()
def predict_flat(
    tm: TaskModel,
    *,
    words=None,
    text_a=None,
    text_b=None,
    max_length: int = 512,
    max_tokens: int = 16384,
    features=None,
    counts=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Label distributions for a batch of inputs, as one float32 array ``[n_rows, n_labels]`` and the
    number of rows per input (words per sentence for tagging, 1 per pair). ``words``: the sentences'
    words (or, with ``features``, just an array of their word counts). Inputs are encoded once (or
    given as ``features`` from ``encode_words``/``encode_pairs``), run in length-sorted batches under a
    token budget, and first-subword rows are gathered in one step. ``features`` with ``counts`` (rows per
    input) need neither words nor texts."""
    model, tokenizer, task = tm.model, tm.tokenizer, tm.task
    model.eval()
    device = next(model.parameters()).device
    if features is None:
        features = (
            encode_words(words, tokenizer, max_length)
            if task == "tagging"
            else encode_pairs(text_a, text_b, tokenizer, max_length)
        )
    if counts is None:
        if task == "tagging":
            counts = (
                words
                if isinstance(words, np.ndarray)
                else np.fromiter((len(w) for w in words), dtype=np.int64, count=len(words))
            )
        else:
            counts = np.ones(len(text_a), dtype=np.int64)
    base = np.concatenate([[0], np.cumsum(counts)[:-1]]) if len(counts) else np.zeros(0, dtype=np.int64)
    flat = np.zeros((int(counts.sum()), model.config.num_labels), dtype=np.float32)
    n = len(features)
    lengths = np.fromiter((len(f.input_ids) for f in features), dtype=np.int64, count=n)
    owner = np.fromiter((f.example for f in features), dtype=np.int64, count=n)
    order = np.argsort(lengths, kind="stable")
    for a, b in budget_chunks(lengths[order].tolist(), max_tokens):
        idx = order[a:b]
        chunk = [features[i] for i in idx]
        logits = model(**collate(chunk, tokenizer.pad_token_id, device)).logits
        if task == "tagging":
            # first subwords of the whole chunk at once: their (row, position) and destination row
            fw = pad_batch([f.first_word for f in chunk], -1)[0]
            rows, cols = np.nonzero(fw >= 0)
            shift = np.fromiter((f.word_offset for f in chunk), dtype=np.int64, count=len(chunk))
            dest = base[owner[idx]][rows] + shift[rows] + fw[rows, cols]
            picked = logits[torch.from_numpy(rows).to(device), torch.from_numpy(cols).to(device)]
            flat[dest] = torch.softmax(picked.float(), dim=-1).cpu().numpy()
        else:
            flat[base[owner[idx]]] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    return flat, counts


def predict_flat_sharded(
    tm: TaskModel, features, counts: np.ndarray, *, max_length: int = 512, max_tokens: int = 16384
) -> np.ndarray:
    """``predict_flat`` over encoded inputs, split across the processes of a distributed launch: each
    labels a contiguous block of inputs and every process gets the whole result (one process: no split)."""
    from .. import distributed

    if distributed.world_size() == 1:
        return predict_flat(tm, features=features, counts=counts, max_length=max_length, max_tokens=max_tokens)[0]
    import dataclasses

    start, end = distributed.shard_bounds(len(counts))
    owners = np.fromiter((f.example for f in features), dtype=np.int64, count=len(features))
    lo, hi = np.searchsorted(owners, start), np.searchsorted(owners, end)  # features come in input order
    part = [dataclasses.replace(f, example=f.example - start) for f in features[lo:hi]]
    flat = predict_flat(tm, features=part, counts=counts[start:end], max_length=max_length, max_tokens=max_tokens)[0]
    return np.concatenate(distributed.all_gather(flat))


def predict_probs(
    tm: TaskModel, examples: Sequence[Example], *, max_length: int = 512, max_tokens: int = 16384, features=None
) -> list[np.ndarray]:
    """One float32 array per example: ``[n_words, n_labels]`` (tagging) or ``[1, n_labels]`` (pair).
    ``features``: the examples' encoding, if at hand."""
    if tm.task == "tagging":
        flat, counts = predict_flat(
            tm,
            words=[list(ex.tokens) for ex in examples],
            max_length=max_length,
            max_tokens=max_tokens,
            features=features,
        )
    else:
        flat, counts = predict_flat(
            tm,
            text_a=[ex.text_a or "" for ex in examples],
            text_b=[ex.text_b for ex in examples],
            max_length=max_length,
            max_tokens=max_tokens,
            features=features,
        )
    return np.split(flat, np.cumsum(counts)[:-1]) if len(counts) else []


@torch.inference_mode()
def predict_answers(
    tm: TaskModel,
    examples: Sequence[Example],
    *,
    max_length: int = 384,
    doc_stride: int | None = None,
    max_tokens: int = 16384,
    features=None,
    max_answer_length: int = 30,
) -> list[str]:
    """The answer text a QA model extracts from each example's context."""
    from .qa import best_spans, encode_qa

    model = tm.model.eval()
    if features is None:
        features = encode_qa(examples, tm.tokenizer, max_length, doc_stride)
    lengths = np.fromiter((len(f.input_ids) for f in features), dtype=np.int64, count=len(features))
    order = np.argsort(lengths, kind="stable")
    starts: list = [None] * len(features)
    ends: list = [None] * len(features)
    for a, b in budget_chunks(lengths[order].tolist(), max_tokens):
        chunk = [features[i] for i in order[a:b]]
        out = model(**collate(chunk, tm.tokenizer.pad_token_id, tm.device))
        s, e = out.start_logits.float().cpu().numpy(), out.end_logits.float().cpu().numpy()
        for r, i in enumerate(order[a:b]):
            starts[i], ends[i] = s[r], e[r]
    return best_spans(
        features, starts, ends, [ex.context or "" for ex in examples], max_answer_length=max_answer_length
    )


def evaluate(
    tm: TaskModel, examples: Sequence[Example], *, max_length: int = 512, features=None, metric: str | None = None
) -> float:
    """The task metric of ``tm`` on labelled ``examples``: span F1 (tagging), accuracy (pairs), SQuAD
    F1 (QA; ``metric="em"`` for exact match). ``features``: the examples' encoding, if at hand."""
    if tm.task == "tagging":
        words: Any = [ex.tokens for ex in examples]
        if features is not None:  # only the word counts are needed
            words = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        flat, _ = predict_flat(tm, words=words, max_length=max_length, features=features)
        return span_f1([ex.tags for ex in examples], flat.argmax(axis=1), tm.labels)
    if tm.task == "qa":
        from .metrics import squad_f1_em

        answers = predict_answers(tm, examples, max_length=max_length, features=features)
        f1, em = squad_f1_em(answers, [[a["text"] for a in ex.answers] for ex in examples])
        return em if metric == "em" else f1
    probs = predict_probs(tm, examples, max_length=max_length, features=features)
    return score(examples, probs, tm.labels, tm.task)
