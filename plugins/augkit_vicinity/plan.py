"""Choosing the δ mask sets of one text (GEN-LM's δ samples per sentence: Bari et al., UXLA, §3.2)."""

from __future__ import annotations

import math
import random


def plan_mask_sets(eligible: list[int], m: int, delta: int, rng: random.Random) -> list[list[int]]:
    """Up to ``delta`` distinct sets of ``min(m, len(eligible))`` positions, each in visiting order.

    First the disjoint windows of one random permutation of ``eligible`` (while whole windows last),
    then fresh random sets; a set is never repeated, so fewer than ``delta`` come back only when fewer
    distinct sets exist (``comb(len(eligible), m)``).
    """
    if not eligible or delta < 1:
        return []
    m = min(m, len(eligible))
    perm = list(eligible)
    rng.shuffle(perm)
    sets: list[list[int]] = []
    seen: set[frozenset] = set()
    for start in range(0, len(perm) - m + 1, m):
        if len(sets) == delta:
            break
        window = perm[start : start + m]
        sets.append(window)
        seen.add(frozenset(window))
    possible = math.comb(len(eligible), m)
    while len(sets) < min(delta, possible):
        candidate = rng.sample(eligible, m)  # random order = random visiting order
        key = frozenset(candidate)
        if key not in seen:
            seen.add(key)
            sets.append(candidate)
    return sets
