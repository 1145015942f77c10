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

import numpy as np

from augkit import DataError, Example

LABELS_FILE = "augkit_task.json"


@dataclasses.dataclass
class Feature:
    """One model input: token ids, word index per token (-1: special/non-first subword), the example it
    comes from and, for windows, the index of the window's first word. Arrays, not lists: millions of
    features stay cheap for memory and for Python's garbage collector."""

    input_ids: np.ndarray
    first_word: np.ndarray      # per token: word index if it is a word's first subword, else -1
    example: int
    word_offset: int = 0
    labels: np.ndarray | None = None
    token_type_ids: np.ndarray | None = None
    pair: bool = False

    def first_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """(token positions of first subwords, their word indices), computed once per feature."""
        cached = self.__dict__.get("_first")
        if cached is None:
            pos = np.nonzero(self.first_word >= 0)[0]
            cached = self.__dict__["_first"] = (pos, self.first_word[pos])
        return cached

    def with_labels(self, label_ids: Sequence[int]) -> "Feature":
        """The same input with training targets: ``label_ids`` per word of the whole example (tagging,
        placed on first subwords) or ``[class]`` (pairs)."""
        if self.pair:
            return dataclasses.replace(self, labels=np.array([label_ids[0]], dtype=np.int64))
        fw = self.first_word
        ids = np.asarray(label_ids, dtype=np.int64)
        if not len(ids):
            return dataclasses.replace(self, labels=np.full(len(fw), -100, dtype=np.int64))
        labels = np.where(fw >= 0, ids[np.clip(self.word_offset + fw, 0, len(ids) - 1)], -100)
        return dataclasses.replace(self, labels=labels.astype(np.int64))


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
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # a fresh task head is expected, not worth a warning table
    try:
        tokenizer = AutoTokenizer.from_pretrained(ref, trust_remote_code=trust_remote_code)
        model = cls.from_pretrained(ref, trust_remote_code=trust_remote_code, **kwargs)
    except (OSError, ValueError) as e:
        raise DataError(f"cannot load a {task} model: {str(e).splitlines()[0]}", path=str(ref)) from None
    finally:
        hf_logging.set_verbosity(verbosity)
    return model.to(device), tokenizer, list(labels), task


def load_tokenizer(ref: str, trust_remote_code: bool = False):
    """The tokenizer of a model folder or id (all of a run's task models share their encoder's)."""
    from transformers import AutoTokenizer

    from augkit import resolve_model

    return AutoTokenizer.from_pretrained(resolve_model(ref), trust_remote_code=trust_remote_code)


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
        gold = None
        if label_index is not None:
            gold = [[_label_id(label_index, t, ex) for t in ex.tags] if ex.tags else None for ex in examples]
        return encode_words([list(ex.tokens) for ex in examples], tokenizer, max_length, gold, stats)
    labels = None
    if label_index is not None:
        labels = [_label_id(label_index, ex.label, ex) if ex.label is not None else None for ex in examples]
    return encode_pairs([ex.text_a or "" for ex in examples], [ex.text_b for ex in examples], tokenizer,
                        max_length, labels, stats)


def _label_id(label_index, tag, ex):
    try:
        return label_index[tag]
    except KeyError:
        raise DataError(f"example {ex.id!r}: label {tag!r} is not in the label set ({', '.join(label_index)})") from None


def encode_words(words_lists: Sequence[Sequence[str]], tokenizer, max_length: int,
                 gold: Sequence[Sequence[int] | None] | None = None, stats: dict | None = None) -> list[Feature]:
    """Token-classification features: one per sentence, or several windows for a long one."""
    body = max_length - 2
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    features: list[Feature] = []
    if not words_lists:
        return features
    ids_of, word_ids_of = _tokenize_words(tokenizer, words_lists)
    for k, words in enumerate(words_lists):
        ids = ids_of[k]
        g = gold[k] if gold is not None else None
        n = len(words)
        if n and len(ids) <= body:
            w = np.fromiter(word_ids_of[k], dtype=np.int64, count=len(ids))
            first = np.empty(len(w), dtype=bool)
            if len(w):
                first[0] = True
                first[1:] = w[1:] != w[:-1]
            if int(first.sum()) == n:  # every word has at least one piece: the common, fast case
                fw = np.full(len(w) + 2, -1, dtype=np.int64)
                fw[1:-1] = np.where(first, w, -1)
                seq = np.empty(len(ids) + 2, dtype=np.int64)
                seq[0], seq[-1] = cls, sep
                seq[1:-1] = ids
                labels = None
                if g is not None:
                    labels = np.full(len(fw), -100, dtype=np.int64)
                    labels[1:-1] = np.where(first, np.asarray(g, dtype=np.int64)[w], -100)
                features.append(Feature(seq, fw, k, 0, labels))
                continue
        features.extend(_windows(k, words, ids, word_ids_of[k], tokenizer, body, g, stats))
    return features


def _tokenize_words(tokenizer, words_lists):
    """(piece ids, word index per piece) for pre-split sentences. Fast tokenizers are called through
    their Rust backend directly, which skips transformers' per-sentence conversion to Python dicts."""
    backend = getattr(tokenizer, "backend_tokenizer", None) if getattr(tokenizer, "is_fast", False) else None
    if backend is not None:
        encs = backend.encode_batch([list(w) for w in words_lists], is_pretokenized=True, add_special_tokens=False)
        return [e.ids for e in encs], [e.word_ids for e in encs]
    enc = tokenizer([list(w) for w in words_lists], is_split_into_words=True, add_special_tokens=False)
    return enc["input_ids"], [enc.word_ids(k) for k in range(len(words_lists))]


def _windows(k, words, ids, word_ids, tokenizer, body, gold, stats) -> list[Feature]:
    """The general path: empty-tokenised words get the unk id; long sentences become windows of words."""
    cls, sep, unk = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.unk_token_id
    pieces: list[list[int]] = [[] for _ in words]
    for tok, w in zip(ids, word_ids):
        if w is not None:
            pieces[w].append(tok)
    pieces = [p if p else [unk] for p in pieces]
    out: list[Feature] = []
    start = 0
    while True:
        seq, first, labels, w = [cls], [-1], [-100], start
        while w < len(pieces) and len(seq) - 1 + len(pieces[w]) <= body:
            seq += pieces[w]
            first += [w - start] + [-1] * (len(pieces[w]) - 1)
            labels += ([gold[w]] if gold else [-100]) + [-100] * (len(pieces[w]) - 1)
            w += 1
        if w == start and w < len(pieces):  # one word longer than a window: keep its first pieces
            m = min(len(pieces[w]), body)
            seq += pieces[w][:m]
            first += [0] + [-1] * (m - 1)
            labels += ([gold[w]] if gold else [-100]) + [-100] * (m - 1)
            w += 1
        out.append(Feature(np.asarray(seq + [sep], dtype=np.int64), np.asarray([*first, -1], dtype=np.int64), k, start,
                           np.asarray(labels + [-100], dtype=np.int64) if gold else None))
        if w >= len(pieces):
            break
        start = w
    if stats is not None and len(out) > 1:
        stats["split_into_windows"] = stats.get("split_into_windows", 0) + 1
    return out


def encode_pairs(text_a: Sequence[str], text_b: Sequence[str | None], tokenizer, max_length: int,
                 labels: Sequence[int | None] | None = None, stats: dict | None = None) -> list[Feature]:
    """Sentence-pair features (``text_b`` None for single sentences); overlong pairs are truncated (counted
    as ``pairs_at_max_length``)."""
    if not text_a:
        return []
    pairs = all(b is not None for b in text_b)
    enc = tokenizer(list(text_a), list(text_b) if pairs else None, truncation=True, max_length=max_length,
                    return_overflowing_tokens=False, return_length=True)
    features = []
    for k in range(len(text_a)):
        if stats is not None and len(enc["input_ids"][k]) >= max_length:
            stats["pairs_at_max_length"] = stats.get("pairs_at_max_length", 0) + 1  # truncated or exactly full
        label = np.array([labels[k]], dtype=np.int64) if labels is not None and labels[k] is not None else None
        tt = np.asarray(enc["token_type_ids"][k], dtype=np.int64) if "token_type_ids" in enc else None
        features.append(Feature(np.asarray(enc["input_ids"][k], dtype=np.int64), np.zeros(1, dtype=np.int64), k, 0,
                                label, tt, pair=True))
    return features


def pad_batch(seqs: Sequence[Sequence[int]], pad: int, dtype=np.int64) -> tuple[np.ndarray, np.ndarray]:
    """(padded ``[B, W]`` array, attention mask) from ragged sequences, in one vectorised fill."""
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    width = int(lengths.max()) if len(seqs) else 0
    mask = np.arange(width)[None, :] < lengths[:, None]
    out = np.full((len(seqs), width), pad, dtype=dtype)
    if len(seqs):
        out[mask] = np.concatenate([np.asarray(s, dtype=dtype) for s in seqs])
    return out, mask


def repair_iob(tags: list[str]) -> list[str]:
    """Turn an I-X that follows O or another type into B-X."""
    out, prev = [], "O"
    for tag in tags:
        if tag.startswith("I-") and (prev == "O" or prev[2:] != tag[2:]):
            tag = "B-" + tag[2:]
        out.append(tag)
        prev = tag
    return out
