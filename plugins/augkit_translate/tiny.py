"""A tiny MarianMT model trained briefly on sentence pairs, so that translation can be tried, tested and
timed on a machine without a model hub (the synthetic benchmark's translate-train pairs, or real pairs
such as gettext catalogs). Not a usable translation system: a few hundred steps of a model with tens of
thousands of weights."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Sequence

from augkit import build_tiny_marian, isolated_rng


def train_tiny_mt(
    folder: str | Path,
    pairs: Sequence[tuple[str, str]],
    *,
    steps: int = 600,
    batch_size: int = 32,
    d_model: int = 64,
    layers: int = 2,
    ffn: int = 128,
    vocab_size: int = 1000,
    lr: float = 3e-3,
    warmup_steps: int = 0,
    seed: int = 0,
) -> Path:
    """Build a tiny Marian model (one sentencepiece vocabulary over both sides of ``pairs``) into
    ``folder`` and train it ``steps`` steps on the pairs (source → target); returns ``folder``. With
    ``warmup_steps`` the learning rate rises linearly over them, then falls linearly to 0, and gradients
    are clipped to norm 1 (what real text needs; the synthetic pairs learn without)."""
    import torch
    from transformers import AutoTokenizer, MarianMTModel

    folder = Path(folder)
    lines = [s for pair in pairs for s in pair]
    build_tiny_marian(folder, lines, d_model=d_model, layers=layers, heads=2, ffn=ffn, vocab_size=vocab_size, seed=seed)
    tok = AutoTokenizer.from_pretrained(str(folder))
    model = MarianMTModel.from_pretrained(str(folder))
    rng = random.Random(seed)
    data = [
        (
            tok(a, truncation=True, max_length=64)["input_ids"],
            tok(text_target=b, truncation=True, max_length=64)["input_ids"],
        )
        for a, b in pairs
    ]
    with isolated_rng(seed):
        opt = torch.optim.AdamW(model.parameters(), lr=lr)
        sched = None
        if warmup_steps:
            sched = torch.optim.lr_scheduler.LambdaLR(
                opt, lambda k: min((k + 1) / warmup_steps, max(0.0, (steps - k) / max(1, steps - warmup_steps)))
            )
        model.train()
        for _ in range(steps):
            batch = rng.sample(data, min(batch_size, len(data)))
            src_w, tgt_w = max(len(s) for s, _ in batch), max(len(t) for _, t in batch)
            ids = torch.full((len(batch), src_w), tok.pad_token_id)
            labels = torch.full((len(batch), tgt_w), -100)
            for r, (s, t) in enumerate(batch):
                ids[r, : len(s)] = torch.tensor(s)
                labels[r, : len(t)] = torch.tensor(t)
            loss = model(input_ids=ids, attention_mask=(ids != tok.pad_token_id).long(), labels=labels).loss
            loss.backward()
            if sched is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad()
            if sched is not None:
                sched.step()
        model.eval()
    model.save_pretrained(str(folder))
    return folder


def read_mo(path: str | Path) -> list[tuple[str, str]]:
    """The (original, translation) pairs of a compiled gettext catalog (``.mo``), header left out; a
    message with a context keeps only its text, a plural message its singular forms."""
    import codecs
    import re
    import struct

    data = Path(path).read_bytes()
    if len(data) < 20:
        raise ValueError(f"{path}: too short for a gettext catalog")
    for order in ("<", ">"):
        magic, _revision, count, originals, translations = struct.unpack(order + "5I", data[:20])
        if magic == 0x950412DE:
            break
    else:
        raise ValueError(f"{path}: not a gettext catalog (magic number {data[:4].hex()})")
    if originals + 8 * count > len(data) or translations + 8 * count > len(data):
        raise ValueError(f"{path}: its tables run past the end of the file")

    def raw(table: int, i: int) -> bytes:
        length, offset = struct.unpack(order + "2I", data[table + 8 * i : table + 8 * i + 8])
        if offset + length > len(data):
            raise ValueError(f"{path}: message {i} runs past the end of the file")
        return data[offset : offset + length]

    charset = "utf-8"  # the header (the translation of the empty message) names the catalog's encoding
    for i in range(count):
        if not raw(originals, i):
            m = re.search(rb"charset=([A-Za-z0-9_.:-]+)", raw(translations, i))
            if m:
                try:
                    charset = codecs.lookup(m.group(1).decode("ascii")).name
                except LookupError:
                    raise ValueError(f"{path}: unknown charset {m.group(1).decode('ascii', 'replace')!r}") from None
    pairs = []
    for i in range(count):
        msgid = raw(originals, i).decode(charset, errors="replace").split("\x04")[-1].split("\x00")[0]
        msgstr = raw(translations, i).decode(charset, errors="replace").split("\x00")[0]
        if msgid:
            pairs.append((msgid, msgstr))
    return pairs


def gettext_pairs(
    lang: str, root: str | Path = "/usr/share/locale", *, min_words: int = 2, max_words: int = 12
) -> list[tuple[str, str]]:
    """English → ``lang`` sentence pairs from the gettext catalogs installed under ``root`` (real
    interface strings translated by people): plain text only (no format directives, markup, mnemonics,
    escapes or line breaks), ``min_words``–``max_words`` English words, translated and not copied,
    each English string once (the first catalog in name order wins). Empty when none is installed."""
    import re

    folder = Path(root) / lang / "LC_MESSAGES"
    plain = re.compile(r"^[A-Za-z][A-Za-z0-9 ,.'()?!:;-]*$")
    seen: dict[str, str] = {}
    for mo in sorted(folder.glob("*.mo")) if folder.is_dir() else []:
        try:
            catalog = read_mo(mo)
        except (OSError, ValueError):
            continue
        for en, tr in catalog:
            en, tr = " ".join(en.split()), " ".join(tr.split())
            if en in seen or not tr or tr == en or not plain.match(en) or not min_words <= len(en.split()) <= max_words:
                continue
            if any(c in tr for c in "%{}<>&_\\$\t\ufffd") or "..." in en:
                continue
            seen[en] = tr
    return sorted(seen.items())
