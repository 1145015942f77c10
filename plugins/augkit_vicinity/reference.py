"""A faithful slow reference for GEN-LM's successive max, shaped like the authors' code.

One sentence, one mask, batch size 1, the model's full output layer over the whole vocabulary at every
position; then the prediction at the mask is restricted to word-initial pieces (augkit's rule). Used by
the tests and the benchmark to check that the fast path gives identical outputs for the same mask choices.
"""

from __future__ import annotations

from typing import Sequence

import torch


def reference_successive_max(lm, words: Sequence[str], positions: Sequence[int]) -> list[str]:
    """Fill ``positions`` of ``words`` one at a time, in order, with the arg-max word-initial piece."""
    words = list(words)
    pieces = lm.word_pieces([words])[0]
    allowed = lm.allowed
    for pos in positions:
        before = [t for w in pieces[:pos] for t in w]
        after = [t for w in pieces[pos + 1 :] for t in w]
        seq = [lm.bos, *before, lm.mask, *after, lm.eos]
        logits = lm.full_logits(seq)  # [T, V]: every position, whole vocabulary
        at_mask = logits[len(before) + 1]
        k = int(torch.argmax(at_mask[allowed]))
        pieces[pos] = [int(allowed[k])]
        words[pos] = lm.allowed_words[k]
    return words
