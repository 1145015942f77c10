"""How examples become model inputs: features, encoding, collation into batches, token budgets.

Token tasks put each word's label on its first subword; other subwords get -100 (ignored by the loss
and the metric). A word that tokenizes to nothing gets the unk id. A sentence longer than ``max_length``
is split into windows of whole words (each window is its own feature), never cut.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Iterator, Sequence

import numpy as np

from ..data import UNKNOWN_TAG, Example
from ..errors import DataError


@dataclasses.dataclass
class Feature:
    """One model input: token ids, word index per token (-1: special/non-first subword), the example it
    comes from and, for windows, the index of the window's first word. Arrays, not lists: millions of
    features stay cheap for memory and for Python's garbage collector."""

    input_ids: np.ndarray
    first_word: np.ndarray  # per token: word index if it is a word's first subword, else -1
    example: int
    word_offset: int = 0
    labels: np.ndarray | None = None
    token_type_ids: np.ndarray | None = None
    pair: bool = False

    @property
    def has_target(self) -> bool:
        return self.labels is not None

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


def encode(
    examples: Sequence[Example],
    tokenizer,
    task: str,
    max_length: int,
    label_index: dict[str, int] | None,
    stats: dict | None = None,
) -> list[Feature]:
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
    return encode_pairs(
        [ex.text_a or "" for ex in examples], [ex.text_b for ex in examples], tokenizer, max_length, labels, stats
    )


def _label_id(label_index, tag, ex):
    if tag == UNKNOWN_TAG and ex.type == "tagging":
        return -100  # a word whose label is unknown: in context, but no loss
    try:
        return label_index[tag]
    except KeyError:
        raise DataError(
            f"example {ex.id!r}: label {tag!r} is not in the label set ({', '.join(label_index)})"
        ) from None


def encode_words(
    words_lists: Sequence[Sequence[str]],
    tokenizer,
    max_length: int,
    gold: Sequence[Sequence[int] | None] | None = None,
    stats: dict | None = None,
) -> list[Feature]:
    """Token-classification features: one per sentence, or several windows for a long one.

    Each distinct word is tokenised once (a word's pieces do not depend on its neighbours when the input
    is pre-split) and sentences are assembled with array operations; the features' arrays are views of
    a few large arrays. Tokenizers for which that does not hold are detected on a sample and encoded
    sentence by sentence instead."""
    n = len(words_lists)
    if not n:
        return []
    words_lists = [w if isinstance(w, list) else list(w) for w in words_lists]
    flat = _assemble(tokenizer, words_lists)
    if flat is None:  # the tokenizer looks at neighbouring words: sentence by sentence
        ids_of, word_ids_of = _tokenize_words(tokenizer, words_lists)
        piece_ids = np.fromiter((t for ids in ids_of for t in ids), dtype=np.int64)
        piece_word = np.fromiter((-1 if w is None else w for ws in word_ids_of for w in ws), dtype=np.int64)
        pieces_per_sentence = np.fromiter(map(len, ids_of), dtype=np.int64, count=n)
    else:
        piece_ids, piece_word, pieces_per_sentence = flat
    return _features(words_lists, piece_ids, piece_word, pieces_per_sentence, tokenizer, max_length, gold, stats)


def _excl_cumsum(a: np.ndarray) -> np.ndarray:
    out = np.zeros(len(a), dtype=np.int64)
    np.cumsum(a[:-1], out=out[1:])
    return out


def _assemble(tokenizer, words_lists):
    """(piece ids, word index in its sentence per piece, pieces per sentence), all sentences flat, from
    one tokenisation per distinct word; None if that disagrees with tokenising whole sentences."""
    lengths = np.fromiter(map(len, words_lists), dtype=np.int64, count=len(words_lists))
    index: dict[str, int] = {}
    flat_words = (w for ws in words_lists for w in ws)
    wid = np.fromiter((index.setdefault(w, len(index)) for w in flat_words), dtype=np.int64, count=int(lengths.sum()))
    # one tokenizer call: every distinct word alone, then a few whole sentences to check against
    sample = range(min(len(words_lists), 8))
    ids_all, word_ids_all = _tokenize_words(tokenizer, [[w] for w in index] + [words_lists[k] for k in sample])
    u_ids_list = ids_all[: len(index)]
    ids_of, word_ids_of = ids_all[len(index) :], word_ids_all[len(index) :]
    u_len = np.fromiter(map(len, u_ids_list), dtype=np.int64, count=len(u_ids_list))
    u_ids = np.fromiter((t for ids in u_ids_list for t in ids), dtype=np.int64, count=int(u_len.sum()))
    per_word = u_len[wid]  # pieces of each word occurrence
    total = int(per_word.sum())
    src = np.repeat(_excl_cumsum(u_len)[wid] - _excl_cumsum(per_word), per_word) + np.arange(total)
    piece_ids = u_ids[src]
    word_in_sentence = np.arange(len(wid)) - np.repeat(_excl_cumsum(lengths), lengths)
    piece_word = np.repeat(word_in_sentence, per_word)
    sentence_of_word = np.repeat(np.arange(len(words_lists)), lengths)
    pieces_per_sentence = np.bincount(sentence_of_word, weights=per_word, minlength=len(words_lists)).astype(np.int64)
    # the sample's sentence-level tokenisation must give the same pieces
    offsets = np.concatenate([[0], np.cumsum(pieces_per_sentence)])
    for k in sample:
        a, b = offsets[k], offsets[k + 1]
        if (
            list(ids_of[k]) != piece_ids[a:b].tolist()
            or [-1 if w is None else w for w in word_ids_of[k]] != piece_word[a:b].tolist()
        ):
            return None
    return piece_ids, piece_word, pieces_per_sentence


def _features(words_lists, piece_ids, piece_word, pieces_per_sentence, tokenizer, max_length, gold, stats):
    n = len(words_lists)
    body = max_length - 2
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    lengths = np.fromiter(map(len, words_lists), dtype=np.int64, count=n)
    piece_off = np.concatenate([[0], np.cumsum(pieces_per_sentence)])
    # a piece starts a word when its word index differs from the previous piece's (or a sentence starts)
    first = np.ones(len(piece_ids), dtype=bool)
    first[1:] = piece_word[1:] != piece_word[:-1]
    first[piece_off[:-1][pieces_per_sentence > 0]] = True
    first &= piece_word >= 0
    sentence_of_piece = np.repeat(np.arange(n), pieces_per_sentence)
    words_with_pieces = np.bincount(sentence_of_piece, weights=first, minlength=n).astype(np.int64)
    simple = (lengths > 0) & (pieces_per_sentence <= body) & (words_with_pieces == lengths)
    # every sentence laid out as [cls] pieces [sep] in one array; features are views into it
    out_len = pieces_per_sentence + 2
    out_off = np.concatenate([[0], np.cumsum(out_len)])
    seq = np.empty(int(out_off[-1]), dtype=np.int64)
    fw = np.full(len(seq), -1, dtype=np.int64)
    dest = (
        np.arange(len(piece_ids))
        - np.repeat(piece_off[:-1], pieces_per_sentence)
        + np.repeat(out_off[:-1] + 1, pieces_per_sentence)
    )
    seq[dest] = piece_ids
    seq[out_off[:-1]] = cls
    seq[out_off[1:] - 1] = sep
    fw[dest] = np.where(first, piece_word, -1)
    labels = None
    if gold is not None:
        labels = np.full(len(seq), -100, dtype=np.int64)
        has_gold = np.fromiter((g is not None and len(g) > 0 for g in gold), dtype=bool, count=n)
        gold_flat = np.fromiter((t for g in gold if g for t in g), dtype=np.int64)
        gold_off = np.concatenate([[0], np.cumsum(np.where(has_gold, lengths, 0))])
        take = first & has_gold[sentence_of_piece]
        labels[dest[take]] = gold_flat[gold_off[sentence_of_piece[take]] + piece_word[take]]
    features: list[Feature] = []
    for k in range(n):
        a, b = out_off[k], out_off[k + 1]
        g = gold[k] if gold is not None else None
        if simple[k]:
            features.append(Feature(seq[a:b], fw[a:b], k, 0, labels[a:b] if g else None))
        else:
            pa, pb = piece_off[k], piece_off[k + 1]
            features.extend(
                _windows(
                    k,
                    words_lists[k],
                    piece_ids[pa:pb].tolist(),
                    [None if w < 0 else w for w in piece_word[pa:pb].tolist()],
                    tokenizer,
                    body,
                    g,
                    stats,
                )
            )
    return features


def _tokenize_words(tokenizer, words_lists):
    """(piece ids, word index per piece) for pre-split sentences. Fast tokenizers are called through
    their Rust backend directly, which skips transformers' per-sentence conversion to Python dicts."""
    backend = getattr(tokenizer, "backend_tokenizer", None) if getattr(tokenizer, "is_fast", False) else None
    if backend is not None:
        with _plain_backend(backend):
            encs = backend.encode_batch(words_lists, is_pretokenized=True, add_special_tokens=False)
        return [e.ids for e in encs], [e.word_ids for e in encs]
    enc = tokenizer(words_lists, is_split_into_words=True, add_special_tokens=False)
    return enc["input_ids"], [enc.word_ids(k) for k in range(len(words_lists))]


@contextlib.contextmanager
def _plain_backend(backend):
    """The Rust tokenizer without padding or truncation while inside, its settings restored after.

    A tokenizer call with ``padding=``/``truncation=`` leaves them set on the backend, and
    ``save_pretrained`` writes them into tokenizer.json, so a loaded tokenizer can carry them. Called
    directly, the backend would then pad every sentence to the longest of the call (pads that count as
    words' pieces) and cut long ones: features, and so predictions, would depend on the batch."""
    padding, truncation = backend.padding, backend.truncation
    if padding is None and truncation is None:
        yield backend
        return
    backend.no_padding()
    backend.no_truncation()
    try:
        yield backend
    finally:
        if padding is not None:
            backend.enable_padding(**padding)
        if truncation is not None:
            backend.enable_truncation(**truncation)


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
        out.append(
            Feature(
                np.asarray(seq + [sep], dtype=np.int64),
                np.asarray([*first, -1], dtype=np.int64),
                k,
                start,
                np.asarray(labels + [-100], dtype=np.int64) if gold else None,
            )
        )
        if w >= len(pieces):
            break
        start = w
    if stats is not None and len(out) > 1:
        stats["split_into_windows"] = stats.get("split_into_windows", 0) + 1
    return out


def encode_pairs(
    text_a: Sequence[str],
    text_b: Sequence[str | None],
    tokenizer,
    max_length: int,
    labels: Sequence[int | None] | None = None,
    stats: dict | None = None,
) -> list[Feature]:
    """Sentence-pair features (``text_b`` None for single sentences); overlong pairs are truncated (counted
    as ``pairs_at_max_length``)."""
    if not text_a:
        return []
    pairs = all(b is not None for b in text_b)
    enc = tokenizer(
        list(text_a),
        list(text_b) if pairs else None,
        truncation=True,
        max_length=max_length,
        return_overflowing_tokens=False,
        return_length=True,
    )
    features = []
    for k in range(len(text_a)):
        if stats is not None and len(enc["input_ids"][k]) >= max_length:
            stats["pairs_at_max_length"] = stats.get("pairs_at_max_length", 0) + 1  # truncated or exactly full
        label = np.array([labels[k]], dtype=np.int64) if labels is not None and labels[k] is not None else None
        tt = np.asarray(enc["token_type_ids"][k], dtype=np.int64) if "token_type_ids" in enc else None
        features.append(
            Feature(
                np.asarray(enc["input_ids"][k], dtype=np.int64), np.zeros(1, dtype=np.int64), k, 0, label, tt, pair=True
            )
        )
    return features


def budget_chunks(sorted_lengths: Sequence[int], max_tokens: int) -> Iterator[tuple[int, int]]:
    """``[start, end)`` ranges of length-sorted inputs whose padded size (rows × longest) stays within
    ``max_tokens``; a single input longer than the budget is a chunk of its own."""
    start, n = 0, len(sorted_lengths)
    while start < n:
        end = start + 1
        while end < n and (end - start + 1) * sorted_lengths[end] <= max_tokens:
            end += 1
        yield start, end
        start = end


def collate(features: Sequence, pad_id: int, device=None, with_labels: bool = False) -> dict:
    """A model batch (torch tensors, on ``device`` if given) from features: padded ``input_ids``,
    ``attention_mask``, ``token_type_ids`` when the features have them and, ``with_labels``, the
    training targets (``labels`` per token or per pair; ``start_positions``/``end_positions`` for QA)."""
    import torch

    ids, mask = pad_batch([f.input_ids for f in features], pad_id)
    batch = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask.astype(np.int64))}
    if features[0].token_type_ids is not None:
        batch["token_type_ids"] = torch.from_numpy(pad_batch([f.token_type_ids for f in features], 0)[0])
    if with_labels:
        if getattr(features[0], "start_position", None) is not None:  # extractive QA
            batch["start_positions"] = torch.tensor([f.start_position for f in features], dtype=torch.long)
            batch["end_positions"] = torch.tensor([f.end_position for f in features], dtype=torch.long)
        elif features[0].pair:  # sentence pairs: one class per example
            batch["labels"] = torch.tensor([int(f.labels[0]) for f in features], dtype=torch.long)
        else:
            batch["labels"] = torch.from_numpy(pad_batch([f.labels for f in features], -100)[0])
    if device is not None:
        batch = {k: v.to(device) for k, v in batch.items()}
    return batch


def pad_batch(seqs: Sequence[Sequence[int]], pad: int, dtype=np.int64) -> tuple[np.ndarray, np.ndarray]:
    """(padded ``[B, W]`` array, attention mask) from ragged sequences, in one vectorised fill."""
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    width = int(lengths.max()) if len(seqs) else 0
    mask = np.arange(width)[None, :] < lengths[:, None]
    out = np.full((len(seqs), width), pad, dtype=dtype)
    if len(seqs):
        out[mask] = np.concatenate([np.asarray(s, dtype=dtype) for s in seqs])
    return out, mask
