"""Batched inference: label distributions per word (tagging) or per pair, and evaluation scores."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from augkit import Example

from .tasks import encode


def _collate(features, pad_id: int, device):
    width = max(len(f.input_ids) for f in features)
    ids = torch.full((len(features), width), pad_id, dtype=torch.long)
    att = torch.zeros((len(features), width), dtype=torch.long)
    tt = None
    if features[0].token_type_ids is not None:
        tt = torch.zeros((len(features), width), dtype=torch.long)
    for r, f in enumerate(features):
        ids[r, : len(f.input_ids)] = torch.as_tensor(f.input_ids)
        att[r, : len(f.input_ids)] = 1
        if tt is not None:
            tt[r, : len(f.token_type_ids)] = torch.as_tensor(f.token_type_ids)
    batch = {"input_ids": ids.to(device), "attention_mask": att.to(device)}
    if tt is not None:
        batch["token_type_ids"] = tt.to(device)
    return batch


@torch.inference_mode()
def predict_probs(model, tokenizer, examples: Sequence[Example], task: str, *, max_length: int = 512,
                  max_tokens: int = 16384) -> list[np.ndarray]:
    """One float32 array per example: ``[n_words, n_labels]`` (tagging) or ``[1, n_labels]`` (pair)."""
    model.eval()
    device = next(model.parameters()).device
    features = encode(examples, tokenizer, task, max_length, None)
    n_labels = model.config.num_labels
    out = [np.zeros((len(ex.tokens) if task == "tagging" else 1, n_labels), dtype=np.float32) for ex in examples]
    order = sorted(range(len(features)), key=lambda i: len(features[i].input_ids))
    start = 0
    while start < len(order):
        width = len(features[order[start]].input_ids)
        end = start + 1
        while end < len(order) and (end - start + 1) * len(features[order[end]].input_ids) <= max_tokens:
            end += 1
        chunk = [features[i] for i in order[start:end]]
        logits = model(**_collate(chunk, tokenizer.pad_token_id, device)).logits.float()
        probs = torch.softmax(logits, dim=-1).cpu().numpy()
        for r, f in enumerate(chunk):
            if task == "tagging":
                for t, w in enumerate(f.first_word):
                    if w >= 0:
                        out[f.example][f.word_offset + w] = probs[r, t]
            else:
                out[f.example][0] = probs[r]
        start = end
    return out


def score(examples: Sequence[Example], probs: Sequence[np.ndarray], labels: list[str], task: str) -> float:
    """seqeval micro F1 (tagging, conlleval-compatible default mode) or accuracy (pairs), in [0, 1]."""
    if task == "tagging":
        from seqeval.metrics import f1_score

        gold = [list(ex.tags) for ex in examples]
        pred = [[labels[i] for i in p.argmax(axis=1)] for p in probs]
        return float(f1_score(gold, pred)) if gold else 0.0
    correct = sum(labels[int(p[0].argmax())] == ex.label for ex, p in zip(examples, probs))
    return correct / len(examples) if examples else 0.0


def evaluate(model, tokenizer, examples: Sequence[Example], labels: list[str], task: str, max_length: int = 512) -> float:
    return score(examples, predict_probs(model, tokenizer, examples, task, max_length=max_length), labels, task)
