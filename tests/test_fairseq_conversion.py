"""Original fairseq XLM-R checkpoints load safely and convert exactly (no fairseq import needed)."""
import argparse
import importlib.util
import math
import os
import pickle
import random
import shutil
from pathlib import Path

import pytest
import torch

import augkit
from augkit_vicinity import MaskedLM, VicinityGenerator, VicinityModelError

H, LAYERS, HEADS, FFN, MAXPOS = 32, 2, 4, 64, 64


def make_fairseq_checkpoint(folder: Path, seed: int = 0, shuffle_dict: bool = True) -> list[str]:
    """A tiny checkpoint in fairseq's own layout: args Namespace, sentence_encoder/lm_head keys, a dict.txt
    whose order differs from the sentencepiece ids (so the id mapping is really exercised)."""
    folder.mkdir(parents=True)
    src = Path(augkit.resolve_model("augkit:tiny-xlmr"))
    shutil.copy(src / "sentencepiece.bpe.model", folder / "sentencepiece.bpe.model")
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(folder / "sentencepiece.bpe.model"))
    words = [sp.id_to_piece(i) for i in range(3, sp.get_piece_size())]
    if shuffle_dict:
        random.Random(seed).shuffle(words)
    (folder / "dict.txt").write_text("".join(f"{w} {1000 - i}\n" for i, w in enumerate(words)), encoding="utf-8")
    symbols = ["<s>", "<pad>", "</s>", "<unk>", *words, "<mask>"]
    V = len(symbols) + 3  # fairseq pads the dictionary; extra rows must be ignored
    g = torch.Generator().manual_seed(seed)

    def r(*shape):
        return torch.randn(*shape, generator=g) * 0.2

    emb = r(V, H)
    sd = {"decoder.sentence_encoder.embed_tokens.weight": emb,
          "decoder.sentence_encoder.embed_positions.weight": r(MAXPOS + 2, H),
          "decoder.sentence_encoder.emb_layer_norm.weight": 1 + r(H), "decoder.sentence_encoder.emb_layer_norm.bias": r(H),
          "decoder.lm_head.dense.weight": r(H, H), "decoder.lm_head.dense.bias": r(H),
          "decoder.lm_head.layer_norm.weight": 1 + r(H), "decoder.lm_head.layer_norm.bias": r(H),
          "decoder.lm_head.weight": emb, "decoder.lm_head.bias": r(V)}
    for i in range(LAYERS):
        p = f"decoder.sentence_encoder.layers.{i}."
        for x in "qkv":
            sd[p + f"self_attn.{x}_proj.weight"], sd[p + f"self_attn.{x}_proj.bias"] = r(H, H), r(H)
        sd[p + "self_attn.out_proj.weight"], sd[p + "self_attn.out_proj.bias"] = r(H, H), r(H)
        sd[p + "self_attn_layer_norm.weight"], sd[p + "self_attn_layer_norm.bias"] = 1 + r(H), r(H)
        sd[p + "fc1.weight"], sd[p + "fc1.bias"] = r(FFN, H), r(FFN)
        sd[p + "fc2.weight"], sd[p + "fc2.bias"] = r(H, FFN), r(H)
        sd[p + "final_layer_norm.weight"], sd[p + "final_layer_norm.bias"] = 1 + r(H), r(H)
    args = argparse.Namespace(arch="roberta_base", encoder_layers=LAYERS, encoder_embed_dim=H,
                              encoder_ffn_embed_dim=FFN, encoder_attention_heads=HEADS, max_positions=MAXPOS,
                              activation_fn="gelu", encoder_normalize_before=False)
    torch.save({"args": args, "model": sd, "extra_state": {"epoch": 1}}, folder / "model.pt")
    return symbols


def fairseq_forward(sd: dict, tokens: torch.Tensor) -> torch.Tensor:
    """fairseq RoBERTa's forward (post-LN, learned positions from padding_idx+1), written independently."""
    F = torch.nn.functional
    e = "decoder.sentence_encoder."
    pad = 1
    mask = tokens.ne(pad)
    positions = torch.cumsum(mask, dim=1) * mask + pad
    x = sd[e + "embed_tokens.weight"][tokens] + sd[e + "embed_positions.weight"][positions]
    x = F.layer_norm(x, (H,), sd[e + "emb_layer_norm.weight"], sd[e + "emb_layer_norm.bias"], eps=1e-5)
    B, T, _ = x.shape
    for i in range(LAYERS):
        p = f"{e}layers.{i}."

        def proj(name, t):
            return F.linear(t, sd[p + f"self_attn.{name}.weight"], sd[p + f"self_attn.{name}.bias"])

        q, k, v = (proj(f"{n}_proj", x).view(B, T, HEADS, H // HEADS).transpose(1, 2) for n in "qkv")
        att = (q @ k.transpose(-1, -2)) / math.sqrt(H // HEADS)
        att = att.masked_fill(~mask[:, None, None, :], float("-inf")).softmax(-1)
        a = (att @ v).transpose(1, 2).reshape(B, T, H)
        x = F.layer_norm(x + proj("out_proj", a), (H,), sd[p + "self_attn_layer_norm.weight"],
                         sd[p + "self_attn_layer_norm.bias"], eps=1e-5)
        f = F.linear(F.gelu(F.linear(x, sd[p + "fc1.weight"], sd[p + "fc1.bias"])), sd[p + "fc2.weight"], sd[p + "fc2.bias"])
        x = F.layer_norm(x + f, (H,), sd[p + "final_layer_norm.weight"], sd[p + "final_layer_norm.bias"], eps=1e-5)
    h = F.layer_norm(F.gelu(F.linear(x, sd["decoder.lm_head.dense.weight"], sd["decoder.lm_head.dense.bias"])), (H,),
                     sd["decoder.lm_head.layer_norm.weight"], sd["decoder.lm_head.layer_norm.bias"], eps=1e-5)
    return F.linear(h, sd["decoder.lm_head.weight"]) + sd["decoder.lm_head.bias"]


@pytest.fixture(scope="module")
def fairseq_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fs") / "xlmr"
    make_fairseq_checkpoint(folder)
    return folder


def test_conversion_matches_fairseq_semantics_exactly(fairseq_folder):
    lm = MaskedLM.load(str(fairseq_folder))
    symbols = ["<s>", "<pad>", "</s>", "<unk>"] + [l.rsplit(" ", 1)[0] for l in
                                                   (fairseq_folder / "dict.txt").read_text().splitlines()] + ["<mask>"]
    fs_index = {s: i for i, s in enumerate(symbols)}
    with torch.serialization.safe_globals([argparse.Namespace]):
        sd = torch.load(fairseq_folder / "model.pt", weights_only=True)["model"]
    words = "Angela Merkel met Emmanuel Macron in Berlin".split()
    pieces = lm.word_pieces([words])[0]
    for pos in range(len(words)):
        seq = [lm.bos, *[t for w in pieces[:pos] for t in w], lm.mask, *[t for w in pieces[pos + 1:] for t in w], lm.eos]
        hf_tokens = lm.tokenizer.convert_ids_to_tokens(seq)
        fs_tokens = torch.tensor([[fs_index.get(t, 3) for t in hf_tokens]])
        fs_logits = fairseq_forward(sd, fs_tokens)[0]
        hf_logits = lm.full_logits(seq)
        # the same scores for the same pieces, position by position
        piece_ids = [fs_index.get(t, 3) for t in lm.tokenizer.convert_ids_to_tokens(list(range(len(lm.tokenizer))))]
        assert torch.allclose(hf_logits, fs_logits[:, piece_ids], atol=1e-4)
        at = len([t for w in pieces[:pos] for t in w]) + 1
        fs_pick = max(lm.allowed.tolist(), key=lambda i: fs_logits[at, piece_ids[i]].item())
        assert int(lm.allowed[lm.scores([seq], [at])[0].argmax()]) == fs_pick


def test_converted_checkpoint_drives_the_generator(fairseq_folder):
    from conftest import DATA

    ner = list(augkit.read(DATA / "ner.en.dev.conll"))
    out = augkit.augment(VicinityGenerator(model=str(fairseq_folder)), ner, seed=1)
    assert len(out) == 3 * len(ner) and all(len(o.tokens) == len(ner[0].tokens) for o in out if o.source_id == ner[0].id)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/augkit-pwned",))


# torch warns that this pickle's protocol (4, Python's default) is not the one torch.save writes
@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_foreign_pickles_are_refused_without_running_them(tmp_path, fairseq_folder):
    folder = tmp_path / "evil"
    shutil.copytree(fairseq_folder, folder)
    with open(folder / "model.pt", "wb") as f:
        pickle.dump({"args": Evil(), "model": {}}, f)
    with pytest.raises(VicinityModelError, match="cannot load this checkpoint safely"):
        MaskedLM.load(str(folder))
    assert not Path("/tmp/augkit-pwned").exists()


def test_corrupt_and_incomplete_checkpoints_are_clear_errors(tmp_path, fairseq_folder):
    folder = tmp_path / "corrupt"
    shutil.copytree(fairseq_folder, folder)
    data = (folder / "model.pt").read_bytes()
    (folder / "model.pt").write_bytes(data[: len(data) // 3])
    with pytest.raises(VicinityModelError, match="model.pt: cannot load this checkpoint safely"):
        MaskedLM.load(str(folder))
    (folder / "model.pt").write_bytes(data)
    (folder / "sentencepiece.bpe.model").unlink()
    with pytest.raises(VicinityModelError, match="lacks sentencepiece.bpe.model"):
        MaskedLM.load(str(folder))
    other = tmp_path / "foreign"
    shutil.copytree(fairseq_folder, other)
    torch.save({"args": argparse.Namespace(encoder_attention_heads=2), "model": {"weight": torch.zeros(2)}},
               other / "model.pt")
    with pytest.raises(VicinityModelError, match="no RoBERTa/XLM-R sentence encoder"):
        MaskedLM.load(str(other))


@pytest.mark.skipif(importlib.util.find_spec("fairseq") is None, reason="fairseq (fairseq-fixed on 3.11) not installed")
def test_against_fairseq_fill_mask(fairseq_folder):
    from fairseq.models.roberta import XLMRModel

    fs = XLMRModel.from_pretrained(str(fairseq_folder), checkpoint_file="model.pt")
    fs.eval()
    lm = MaskedLM.load(str(fairseq_folder))
    text = "Angela Merkel met <mask> Macron in Berlin"
    # fairseq ranks the whole vocabulary; augkit's rule keeps the best word-initial piece, which
    # fill_mask prints with a leading space
    fs_top = fs.fill_mask(text, topk=len(lm.tokenizer))
    best = next(tok.strip() for _, _, tok in fs_top if tok.startswith(" ") and tok.strip())
    words = text.split()
    pos = words.index("<mask>")
    pieces = lm.word_pieces([[w for w in words if w != "<mask>"]])[0]
    before = [t for w in pieces[:pos] for t in w]
    seq = [lm.bos, *before, lm.mask, *[t for w in pieces[pos:] for t in w], lm.eos]
    assert lm.allowed_words[int(lm.scores([seq], [len(before) + 1])[0].argmax())] == best
