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
    order = sorted(range(len(features)), key=lambda i: len(features[i].input_ids))
    start = 0
    while start < len(order):
        end = start + 1
        while end < len(order) and (end - start + 1) * len(features[order[end]].input_ids) <= max_tokens:
            end += 1
        chunk = [features[i] for i in order[start:end]]
        logits = model(**_collate(chunk, tokenizer.pad_token_id, device)).logits.float()
        if task == "tagging":
            rows, cols, dest = [], [], []
            for r, f in enumerate(chunk):
                pos, word = f.first_positions()
                rows.append(np.full(len(pos), r))
                cols.append(pos)
                dest.append(base[f.example] + f.word_offset + word)
            rows, cols = torch.from_numpy(np.concatenate(rows)), torch.from_numpy(np.concatenate(cols))
            flat[np.concatenate(dest)] = torch.softmax(logits[rows.to(device), cols.to(device)], dim=-1).cpu().numpy()
        else:
            flat[base[[f.example for f in chunk]]] = torch.softmax(logits, dim=-1).cpu().numpy()
        start = end
    return flat, counts


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
    """seqeval micro F1 (tagging, conlleval-compatible default mode) or accuracy (pairs), in [0, 1]."""
    if task == "tagging":
        from seqeval.metrics import f1_score

        gold = [list(ex.tags) for ex in examples]
        pred = [[labels[i] for i in p.argmax(axis=1)] for p in probs]
        return float(f1_score(gold, pred)) if gold else 0.0
    correct = sum(labels[int(p[0].argmax())] == ex.label for ex, p in zip(examples, probs))
    return correct / len(examples) if examples else 0.0


def evaluate(model, tokenizer, examples: Sequence[Example], labels: list[str], task: str, max_length: int = 512,
             features=None) -> float:
    """The task metric of ``model`` on labelled ``examples`` (``features``: their encoding, if at hand)."""
    probs = predict_probs(model, tokenizer, examples, task, max_length=max_length, features=features)
    return score(examples, probs, labels, task)
