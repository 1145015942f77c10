"""A tiny MarianMT model trained briefly on sentence pairs, so that translation can be tried, tested and
timed on a machine without a model hub (the synthetic benchmark's translate-train pairs, or real pairs
such as gettext catalogs). Not a usable translation system: a few hundred steps of a model with tens of
thousands of weights."""
from __future__ import annotations

import random
from pathlib import Path
from typing import Sequence

from augkit import build_tiny_marian, isolated_rng


def train_tiny_mt(folder: str | Path, pairs: Sequence[tuple[str, str]], *, steps: int = 600, batch_size: int = 32,
                  d_model: int = 64, layers: int = 2, ffn: int = 128, vocab_size: int = 1000, lr: float = 3e-3,
                  seed: int = 0) -> Path:
    """Build a tiny Marian model (one sentencepiece vocabulary over both sides of ``pairs``) into
    ``folder`` and train it ``steps`` steps on the pairs (source → target); returns ``folder``."""
    import torch
    from transformers import AutoTokenizer, MarianMTModel

    folder = Path(folder)
    lines = [s for pair in pairs for s in pair]
    build_tiny_marian(folder, lines, d_model=d_model, layers=layers, heads=2, ffn=ffn, vocab_size=vocab_size,
                      seed=seed)
    tok = AutoTokenizer.from_pretrained(str(folder))
    model = MarianMTModel.from_pretrained(str(folder))
    rng = random.Random(seed)
    data = [(tok(a, truncation=True, max_length=64)["input_ids"], tok(text_target=b, truncation=True, max_length=64)["input_ids"])
            for a, b in pairs]
    with isolated_rng(seed):
        opt = torch.optim.AdamW(model.parameters(), lr=lr)
        model.train()
        for _ in range(steps):
            batch = rng.sample(data, min(batch_size, len(data)))
            src_w, tgt_w = max(len(s) for s, _ in batch), max(len(t) for _, t in batch)
            ids = torch.full((len(batch), src_w), tok.pad_token_id)
            labels = torch.full((len(batch), tgt_w), -100)
            for r, (s, t) in enumerate(batch):
                ids[r, :len(s)] = torch.tensor(s)
                labels[r, :len(t)] = torch.tensor(t)
            loss = model(input_ids=ids, attention_mask=(ids != tok.pad_token_id).long(), labels=labels).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
        model.eval()
    model.save_pretrained(str(folder))
    return folder
