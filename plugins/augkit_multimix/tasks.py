"""Task models for MultiMix: token classification (NER, POS) and sentence-pair classification (NLI,
paraphrase) on any Hugging Face encoder, and how examples become model inputs.

Token tasks put each word's label on its first subword; other subwords get -100 (ignored by the loss
and the metric). A word that tokenizes to nothing gets the unk id. A sentence longer than ``max_length``
is split into windows of whole words (each window is its own feature), never cut.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Sequence

from augkit import DataError, Example

LABELS_FILE = "augkit_task.json"


@dataclasses.dataclass
class Feature:
    """One model input: token ids, word index per token (-1: special/non-first subword), the example it
    comes from and, for windows, the index of the window's first word."""

    input_ids: list[int]
    first_word: list[int]       # per token: word index if it is a word's first subword, else -1
    example: int
    word_offset: int = 0
    labels: list[int] | None = None
    token_type_ids: list[int] | None = None


def task_of(examples: Sequence[Example]) -> str:
    types = {ex.type for ex in examples}
    if len(types) != 1:
        raise DataError(f"expected one example type, got {sorted(types)}")
    t = types.pop()
    if t not in ("tagging", "pair"):
        raise DataError(f"MultiMix task models handle tagging and pair examples, not {t!r}")
    return t


def load_task_model(ref: str, task: str, labels: list[str] | None = None, device: str = "cpu",
                    trust_remote_code: bool = False):
    """(model, tokenizer, labels, task): a pretrained encoder with a fresh head (``labels`` given) or a
    task model saved by augkit (labels and task read from its folder)."""
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from augkit import resolve_model

    hf_logging.disable_progress_bar()
    ref = resolve_model(ref)
    saved = Path(ref) / LABELS_FILE
    if saved.exists():
        info = json.loads(saved.read_text())
        labels, task = info["labels"], info["task"]
    if labels is None:
        raise DataError("a label set is needed to build a new task model", path=str(ref))
    cls = AutoModelForTokenClassification if task == "tagging" else AutoModelForSequenceClassification
    kwargs = dict(num_labels=len(labels), id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})
    try:
        tokenizer = AutoTokenizer.from_pretrained(ref, trust_remote_code=trust_remote_code)
        model = cls.from_pretrained(ref, trust_remote_code=trust_remote_code, **kwargs)
    except (OSError, ValueError) as e:
        raise DataError(f"cannot load a {task} model: {str(e).splitlines()[0]}", path=str(ref)) from None
    return model.to(device), tokenizer, list(labels), task


def save_task_model(model, tokenizer, labels: list[str], task: str, folder: str | Path) -> Path:
    """Save in Hugging Face layout (safetensors) with augkit's task info, atomically."""
    from augkit import atomic_dir

    folder = Path(folder)
    with atomic_dir(folder) as tmp:
        model.save_pretrained(str(tmp), safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))
        (tmp / LABELS_FILE).write_text(json.dumps({"task": task, "labels": labels}))
    return folder


def encode(examples: Sequence[Example], tokenizer, task: str, max_length: int, label_index: dict[str, int] | None,
           stats: dict | None = None) -> list[Feature]:
    """Features for ``examples``. With ``label_index``, gold labels become training targets (tags
    outside the index are an error); without, features carry no labels (inference)."""
    if task == "tagging":
        return _encode_tagging(examples, tokenizer, max_length, label_index, stats)
    return _encode_pairs(examples, tokenizer, max_length, label_index, stats)


def _label_id(label_index, tag, ex):
    try:
        return label_index[tag]
    except KeyError:
        raise DataError(f"example {ex.id!r}: label {tag!r} is not in the label set ({', '.join(label_index)})") from None


def _encode_tagging(examples, tokenizer, max_length, label_index, stats) -> list[Feature]:
    body = max_length - 2
    cls, sep, unk = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.unk_token_id
    features: list[Feature] = []
    words_lists = [list(ex.tokens) for ex in examples]
    enc = tokenizer(words_lists, is_split_into_words=True, add_special_tokens=False) if words_lists else {"input_ids": []}
    for k, ex in enumerate(examples):
        pieces: list[list[int]] = [[] for _ in ex.tokens]
        for tok, w in zip(enc["input_ids"][k], enc.word_ids(k)):
            if w is not None:
                pieces[w].append(tok)
        pieces = [p if p else [unk] for p in pieces]
        gold = None
        if label_index is not None and ex.tags:
            gold = [_label_id(label_index, t, ex) for t in ex.tags]
        start = 0
        windows = 0
        while start < len(pieces) or (start == 0 and not pieces):
            ids, first, labels, w = [cls], [-1], [-100], start
            while w < len(pieces) and len(ids) - 1 + len(pieces[w]) <= body:
                ids += pieces[w]
                first += [w - start] + [-1] * (len(pieces[w]) - 1)
                labels += ([gold[w]] if gold else [-100]) + [-100] * (len(pieces[w]) - 1)
                w += 1
            if w == start and w < len(pieces):  # one word longer than the window: keep its first pieces
                ids += pieces[w][:body]
                first += [0] + [-1] * (min(len(pieces[w]), body) - 1)
                labels += ([gold[w]] if gold else [-100]) + [-100] * (min(len(pieces[w]), body) - 1)
                w += 1
            features.append(Feature(ids + [sep], [*first, -1], k, start, labels + [-100] if gold else None))
            windows += 1
            if not pieces:
                break
            start = w
        if stats is not None and windows > 1:
            stats["split_into_windows"] = stats.get("split_into_windows", 0) + 1
    return features


def _encode_pairs(examples, tokenizer, max_length, label_index, stats) -> list[Feature]:
    if not examples:
        return []
    a = [ex.text_a or "" for ex in examples]
    b = [ex.text_b for ex in examples]
    enc = tokenizer(a, b if all(x is not None for x in b) else None, truncation=True, max_length=max_length)
    full = tokenizer(a, b if all(x is not None for x in b) else None, truncation=False)
    features = []
    for k, ex in enumerate(examples):
        if stats is not None and len(full["input_ids"][k]) > max_length:
            stats["truncated_pairs"] = stats.get("truncated_pairs", 0) + 1
        label = [_label_id(label_index, ex.label, ex)] if label_index is not None and ex.label is not None else None
        tt = enc["token_type_ids"][k] if "token_type_ids" in enc else None
        features.append(Feature(enc["input_ids"][k], [0], k, 0, label, tt))
    return features


def repair_iob(tags: list[str]) -> list[str]:
    """Turn an I-X that follows O or another type into B-X."""
    out, prev = [], "O"
    for tag in tags:
        if tag.startswith("I-") and (prev == "O" or prev[2:] != tag[2:]):
            tag = "B-" + tag[2:]
        out.append(tag)
        prev = tag
    return out
