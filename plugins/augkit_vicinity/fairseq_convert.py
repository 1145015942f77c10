"""Original fairseq XLM-R checkpoints (``model.pt`` + ``dict.txt`` + ``sentencepiece.bpe.model``) as
Hugging Face ``XLMRobertaForMaskedLM`` models, without importing fairseq.

Loading is safe: ``torch.load(weights_only=True)`` with only ``argparse.Namespace`` allow-listed (the
class fairseq stores its training arguments in); anything else in the pickle is refused with a clear
error. The fairseq dictionary (``<s> <pad> </s> <unk>``, the ``dict.txt`` words, ``<mask>``) is mapped
onto the tokenizer's ids piece by piece, so the converted model predicts exactly what fairseq does.
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import torch

from .mlm import VicinityModelError

_PREFIXES = ("decoder.sentence_encoder.", "encoder.sentence_encoder.")
_LM_PREFIXES = ("decoder.lm_head.", "encoder.lm_head.")


def safe_load_checkpoint(path: str | Path) -> dict:
    """``torch.load`` a fairseq checkpoint with weights_only=True and only argparse.Namespace allowed."""
    path = Path(path)
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError, ImportError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise VicinityModelError(
            f"cannot load this checkpoint safely (only tensors and argparse.Namespace are "
            f"allowed; corrupt, truncated or not a fairseq checkpoint?): {first}",
            path=str(path),
        ) from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("model"), dict):
        raise VicinityModelError("not a fairseq checkpoint: expected a dict with a 'model' state dict", path=str(path))
    return ckpt


def read_fairseq_dictionary(path: str | Path) -> list[str]:
    """fairseq's symbol list: the four specials, dict.txt's words in order, then ``<mask>``."""
    symbols = ["<s>", "<pad>", "</s>", "<unk>"]
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if line.endswith(" #fairseq:overwrite"):
                line = line[: -len(" #fairseq:overwrite")]
            word, _, _count = line.rpartition(" ")
            symbols.append(word if word else line)
    return symbols + ["<mask>"]


def _strip(sd: dict, prefixes: tuple[str, ...]) -> dict:
    for prefix in prefixes:
        sub = {k[len(prefix) :]: v for k, v in sd.items() if k.startswith(prefix)}
        if sub:
            return sub
    return {}


def convert_state_dict(sd: dict, n_layers: int, perm: torch.Tensor) -> dict[str, torch.Tensor]:
    """fairseq RoBERTa/XLM-R weights → HF XLMRobertaForMaskedLM keys (``perm`` reorders vocab rows)."""
    enc, head = _strip(sd, _PREFIXES), _strip(sd, _LM_PREFIXES)
    if not enc or not head:
        raise KeyError("no sentence_encoder / lm_head weights")
    emb = enc["embed_tokens.weight"]
    ln = "emb_layer_norm" if "emb_layer_norm.weight" in enc else "layernorm_embedding"
    out = {
        "roberta.embeddings.word_embeddings.weight": emb[perm],
        "roberta.embeddings.position_embeddings.weight": enc["embed_positions.weight"],
        "roberta.embeddings.token_type_embeddings.weight": torch.zeros(1, emb.shape[1], dtype=emb.dtype),
        "roberta.embeddings.LayerNorm.weight": enc[f"{ln}.weight"],
        "roberta.embeddings.LayerNorm.bias": enc[f"{ln}.bias"],
        "lm_head.dense.weight": head["dense.weight"],
        "lm_head.dense.bias": head["dense.bias"],
        "lm_head.layer_norm.weight": head["layer_norm.weight"],
        "lm_head.layer_norm.bias": head["layer_norm.bias"],
        "lm_head.decoder.weight": head["weight"][perm],
        "lm_head.bias": head["bias"][perm],
        "lm_head.decoder.bias": head["bias"][perm],
    }
    for i in range(n_layers):
        f, h = f"layers.{i}.", f"roberta.encoder.layer.{i}."
        if f + "self_attn.in_proj_weight" in enc:  # fairseq < 0.8 packed q, k, v together
            qw, kw, vw = enc[f + "self_attn.in_proj_weight"].chunk(3)
            qb, kb, vb = enc[f + "self_attn.in_proj_bias"].chunk(3)
        else:
            qw, kw, vw = (enc[f + f"self_attn.{x}_proj.weight"] for x in "qkv")
            qb, kb, vb = (enc[f + f"self_attn.{x}_proj.bias"] for x in "qkv")
        out.update(
            {
                h + "attention.self.query.weight": qw,
                h + "attention.self.query.bias": qb,
                h + "attention.self.key.weight": kw,
                h + "attention.self.key.bias": kb,
                h + "attention.self.value.weight": vw,
                h + "attention.self.value.bias": vb,
                h + "attention.output.dense.weight": enc[f + "self_attn.out_proj.weight"],
                h + "attention.output.dense.bias": enc[f + "self_attn.out_proj.bias"],
                h + "attention.output.LayerNorm.weight": enc[f + "self_attn_layer_norm.weight"],
                h + "attention.output.LayerNorm.bias": enc[f + "self_attn_layer_norm.bias"],
                h + "intermediate.dense.weight": enc[f + "fc1.weight"],
                h + "intermediate.dense.bias": enc[f + "fc1.bias"],
                h + "output.dense.weight": enc[f + "fc2.weight"],
                h + "output.dense.bias": enc[f + "fc2.bias"],
                h + "output.LayerNorm.weight": enc[f + "final_layer_norm.weight"],
                h + "output.LayerNorm.bias": enc[f + "final_layer_norm.bias"],
            }
        )
    return out


def load_fairseq_xlmr(folder: str | Path):
    """(XLMRobertaForMaskedLM, tokenizer) from an original fairseq XLM-R folder."""
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM, XLMRobertaTokenizer

    folder = Path(folder)
    for name in ("model.pt", "dict.txt", "sentencepiece.bpe.model"):
        if not (folder / name).is_file():
            raise VicinityModelError(f"fairseq XLM-R folder lacks {name}", path=str(folder))
    ckpt = safe_load_checkpoint(folder / "model.pt")
    args = ckpt.get("args")
    if not isinstance(args, argparse.Namespace):
        raise VicinityModelError(
            "the checkpoint has no fairseq `args` (newer fairseq stores an omegaconf `cfg`, "
            "which cannot be loaded safely); convert it with fairseq first",
            path=str(folder / "model.pt"),
        )
    if getattr(args, "encoder_normalize_before", False):
        raise VicinityModelError(
            "pre-LayerNorm encoders (encoder_normalize_before) are not XLM-R's layout", path=str(folder / "model.pt")
        )
    act = getattr(args, "activation_fn", "gelu")
    if act != "gelu":
        raise VicinityModelError(
            f"activation {act!r} is not supported (XLM-R uses gelu)", path=str(folder / "model.pt")
        )
    try:
        tokenizer = XLMRobertaTokenizer.from_pretrained(str(folder))
    except Exception as e:
        raise VicinityModelError(f"cannot read sentencepiece.bpe.model: {e}", path=str(folder)) from None
    symbols = read_fairseq_dictionary(folder / "dict.txt")
    index = {s: i for i, s in enumerate(symbols)}
    pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    perm = torch.tensor([index.get(p, index["<unk>"]) for p in pieces], dtype=torch.long)
    sd = ckpt["model"]
    enc = _strip(sd, _PREFIXES)
    emb = enc.get("embed_tokens.weight")
    if emb is None:
        raise VicinityModelError(
            "the checkpoint holds no RoBERTa/XLM-R sentence encoder", path=str(folder / "model.pt")
        )
    if emb.shape[0] < len(symbols):
        raise VicinityModelError(
            f"dict.txt has {len(symbols)} symbols but the model only {emb.shape[0]} embeddings: "
            "tokenizer/model mismatch",
            path=str(folder),
        )
    n_layers = len({k.split(".")[1] for k in enc if k.startswith("layers.")})
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=emb.shape[1],
        num_hidden_layers=n_layers,
        num_attention_heads=args.encoder_attention_heads,
        intermediate_size=enc["layers.0.fc1.weight"].shape[0],
        max_position_embeddings=enc["embed_positions.weight"].shape[0],
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        hidden_act="gelu",
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    try:
        state = convert_state_dict(sd, n_layers, perm)
    except KeyError as e:
        raise VicinityModelError(
            f"unexpected fairseq checkpoint layout (missing {e})", path=str(folder / "model.pt")
        ) from None
    model = XLMRobertaForMaskedLM(config)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if [k for k in missing if "position_ids" not in k] or unexpected:
        raise VicinityModelError(
            f"conversion left weights unset: {missing[:3]} / unexpected {unexpected[:3]}", path=str(folder / "model.pt")
        )
    return model.eval(), tokenizer
