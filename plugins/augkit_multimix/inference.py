"""Batched inference: label distributions per word (tagging) or per pair, and evaluation scores."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from augkit import Example

from .tasks import encode_pairs, encode_words, pad_batch


def _collate(features, pad_id: int, device):
    ids, mask = pad_batch([f.input_ids for f in features], pad_id)
    batch = {"input_ids": torch.from_numpy(ids).to(device), "attention_mask": torch.from_numpy(mask.astype(np.int64)).to(device)}
    if features[0].token_type_ids is not None:
        batch["token_type_ids"] = torch.from_numpy(pad_batch([f.token_type_ids for f in features], 0)[0]).to(device)
    return batch


@torch.inference_mode()
def predict_flat(model, tokenizer, task: str, *, words=None, text_a=None, text_b=None, max_length: int = 512,
                 max_tokens: int = 16384, features=None, counts=None) -> tuple[np.ndarray, np.ndarray]:
    """Label distributions for a batch of inputs, as one float32 array ``[n_rows, n_labels]`` and the
    number of rows per input. ``words``: the sentences' words (or, with ``features``, just an array of
    their word counts); rows per input are words per sentence for tagging, 1 per pair. Inputs are encoded once (or
    given as ``features`` from ``encode_words``/``encode_pairs``), run in length-sorted batches under a
    token budget, and first-subword rows are gathered in one step. ``features`` with ``counts`` (rows per
    input) need neither words nor texts."""
    model.eval()
    device = next(model.parameters()).device
    if features is None:
        features = encode_words(words, tokenizer, max_length) if task == "tagging" else \
            encode_pairs(text_a, text_b, tokenizer, max_length)
    if counts is None:
        if task == "tagging":
            counts = words if isinstance(words, np.ndarray) else \
                np.fromiter((len(w) for w in words), dtype=np.int64, count=len(words))
        else:
            counts = np.ones(len(text_a), dtype=np.int64)
    base = np.concatenate([[0], np.cumsum(counts)[:-1]]) if len(counts) else np.zeros(0, dtype=np.int64)
    flat = np.zeros((int(counts.sum()), model.config.num_labels), dtype=np.float32)
    n = len(features)
    lengths = np.fromiter((len(f.input_ids) for f in features), dtype=np.int64, count=n)
    owner = np.fromiter((f.example for f in features), dtype=np.int64, count=n)
    order = np.argsort(lengths, kind="stable")
    for a, b in _budget_chunks(lengths[order].tolist(), max_tokens):
        idx = order[a:b]
        chunk = [features[i] for i in idx]
        logits = model(**_collate(chunk, tokenizer.pad_token_id, device)).logits
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


def _budget_chunks(sorted_lengths: list[int], max_tokens: int):
    """[start, end) ranges of length-sorted inputs whose padded size stays within ``max_tokens``
    (a single input longer than the budget is a chunk of its own)."""
    start, n = 0, len(sorted_lengths)
    while start < n:
        end = start + 1
        while end < n and (end - start + 1) * sorted_lengths[end] <= max_tokens:
            end += 1
        yield start, end
        start = end


def predict_flat_sharded(model, tokenizer, task: str, features, counts: np.ndarray, *, max_length: int = 512,
                         max_tokens: int = 16384) -> np.ndarray:
    """``predict_flat`` over encoded inputs, split across the processes of a distributed launch: each
    labels a contiguous block of inputs and every process gets the whole result (one process: no split)."""
    from augkit import distributed

    if distributed.world_size() == 1:
        return predict_flat(model, tokenizer, task, features=features, counts=counts, max_length=max_length,
                            max_tokens=max_tokens)[0]
    import dataclasses

    start, end = distributed.shard_bounds(len(counts))
    owners = np.fromiter((f.example for f in features), dtype=np.int64, count=len(features))
    lo, hi = np.searchsorted(owners, start), np.searchsorted(owners, end)  # features come in input order
    part = [dataclasses.replace(f, example=f.example - start) for f in features[lo:hi]]
    flat = predict_flat(model, tokenizer, task, features=part, counts=counts[start:end], max_length=max_length,
                        max_tokens=max_tokens)[0]
    return np.concatenate(distributed.all_gather(flat))


def predict_probs(model, tokenizer, examples: Sequence[Example], task: str, *, max_length: int = 512,
                  max_tokens: int = 16384, features=None) -> list[np.ndarray]:
    """One float32 array per example: ``[n_words, n_labels]`` (tagging) or ``[1, n_labels]`` (pair).
    ``features``: the examples' encoding, if at hand."""
    if task == "tagging":
        flat, counts = predict_flat(model, tokenizer, task, words=[list(ex.tokens) for ex in examples],
                                    max_length=max_length, max_tokens=max_tokens, features=features)
    else:
        flat, counts = predict_flat(model, tokenizer, task, text_a=[ex.text_a or "" for ex in examples],
                                    text_b=[ex.text_b for ex in examples], max_length=max_length, max_tokens=max_tokens,
                                    features=features)
    return np.split(flat, np.cumsum(counts)[:-1]) if len(counts) else []


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
    type_of = np.array([type_names.setdefault(n[1:].split("-", 1)[-1] or "_", len(type_names)) for n in names],
                       dtype=np.int64)
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
    end = (prev_tag == E) | (prev_tag == S) | (((prev_tag == B) | (prev_tag == I)) & cur_bso) | \
        ((prev_tag != O) & (prev_tag != DOT) & (prev_typ != typ))
    start = (tag == B) | (tag == S) | (((prev_tag == E) | (prev_tag == S) | (prev_tag == O)) & cur_ei) | \
        ((tag != O) & (tag != DOT) & (prev_typ != typ))
    ends = np.nonzero(end)[0]
    starts = np.nonzero(start)[0]
    # the begin offset in force at i is the last start before i (0 before any)
    k = np.searchsorted(starts, ends, side="left") - 1
    begin = np.where(k >= 0, starts[np.clip(k, 0, None)] if len(starts) else 0, 0)
    keys = (prev_typ[ends] + 1) * n * n + begin * n + (ends - 1)
    return np.unique(keys)


def evaluate(model, tokenizer, examples: Sequence[Example], labels: list[str], task: str, max_length: int = 512,
             features=None) -> float:
    """The task metric of ``model`` on labelled ``examples`` (``features``: their encoding, if at hand)."""
    if task == "tagging":
        words = [ex.tokens for ex in examples]
        if features is not None:
            words = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        flat, _ = predict_flat(model, tokenizer, task, words=words, max_length=max_length, features=features)
        return span_f1([ex.tags for ex in examples], flat.argmax(axis=1), labels)
    probs = predict_probs(model, tokenizer, examples, task, max_length=max_length, features=features)
    return score(examples, probs, labels, task)
