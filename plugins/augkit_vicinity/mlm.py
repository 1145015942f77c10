"""The vicinity model: a masked LM that fills one masked word per sequence, batched.

``MaskedLM.load(ref)`` takes a Hugging Face model id or folder, or a folder holding an original fairseq
XLM-R checkpoint (``model.pt`` + ``dict.txt`` + ``sentencepiece.bpe.model``, converted without fairseq).
Predictions are restricted to pieces that start a word and are not special tokens, so replacing a word
by one predicted piece never changes the word count. Speed comes from: one forward for many sequences,
length-sorted buckets under a token budget, the output layer evaluated only at the masked positions and
only over the allowed pieces, inference mode, and bf16/fp16 on GPU.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import torch

from augkit import DataError

log = logging.getLogger("augkit.vicinity")

# how tokenizers mark a piece that starts a word: sentencepiece "▁", byte-level BPE "Ġ"; WordPiece marks
# continuations with "##" instead
_WORD_START = ("▁", "Ġ")


class VicinityModelError(DataError):
    """The vicinity model or its tokenizer cannot be used (no MLM head, mismatch, unsafe or corrupt file)."""


def word_initial_ids(tokenizer) -> list[int]:
    """Ids of pieces that begin a word and are not special tokens (the allowed predictions)."""
    special = set(tokenizer.all_special_ids)
    vocab = tokenizer.get_vocab()
    wordpiece = not any(p.startswith(_WORD_START) for p in list(vocab)[:2000])
    ids = []
    for piece, i in vocab.items():
        if i in special:
            continue
        if wordpiece:
            if not piece.startswith("##") and not (piece.startswith("[") and piece.endswith("]")):
                ids.append(i)
        elif piece.startswith(_WORD_START) and len(piece) > 1:
            ids.append(i)
    return sorted(ids)


def piece_to_word(piece: str) -> str:
    for mark in _WORD_START:
        if piece.startswith(mark):
            return piece[len(mark):]
    return piece


class MaskedLM:
    """A loaded masked LM with the restricted, masked-position-only output layer."""

    def __init__(self, model, tokenizer, device: str = "cpu", precision: str = "auto", source: str = ""):
        self.source = source
        self.tokenizer = tokenizer
        self._check(model, tokenizer)
        dtype = torch.float32
        if str(device).startswith("cuda"):
            if precision in ("auto", "bf16"):
                dtype = torch.bfloat16
            elif precision == "fp16":
                dtype = torch.float16
        self.device, self.dtype = torch.device(device), dtype
        self.model = model.to(device=self.device, dtype=dtype).eval()
        self.allowed = torch.tensor(word_initial_ids(tokenizer), dtype=torch.long)
        if len(self.allowed) == 0:
            raise VicinityModelError("the tokenizer has no word-initial pieces to predict", path=source)
        self.allowed_words = [piece_to_word(p) for p in tokenizer.convert_ids_to_tokens(self.allowed.tolist())]
        self.bos, self.eos = tokenizer.cls_token_id, tokenizer.sep_token_id
        self.pad, self.mask, self.unk = tokenizer.pad_token_id, tokenizer.mask_token_id, tokenizer.unk_token_id
        cfg = model.config
        limit = getattr(cfg, "max_position_embeddings", 512)
        if getattr(cfg, "model_type", "") in ("xlm-roberta", "roberta", "camembert"):
            limit -= (cfg.pad_token_id or 0) + 1  # positions start after the padding index
        self.max_len = min(limit, tokenizer.model_max_length or limit)
        self._build_head()

    # loading ----------------------------------------------------------------------------------
    @classmethod
    def load(cls, ref: str, device: str = "cpu", precision: str = "auto", trust_remote_code: bool = False) -> "MaskedLM":
        from transformers import AutoModelForMaskedLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from augkit import resolve_model

        hf_logging.disable_progress_bar()  # augkit shows its own progress
        ref = resolve_model(ref)
        folder = Path(ref)
        if folder.is_dir() and (folder / "model.pt").exists() and (folder / "dict.txt").exists():
            from .fairseq_convert import load_fairseq_xlmr

            model, tokenizer = load_fairseq_xlmr(folder)
            return cls(model, tokenizer, device, precision, source=str(ref))
        if folder.is_dir() and not (folder / "config.json").exists():
            raise VicinityModelError("not a model folder: expected config.json (Hugging Face) or model.pt + "
                                     "dict.txt + sentencepiece.bpe.model (fairseq XLM-R)", path=str(ref))
        try:
            tokenizer = AutoTokenizer.from_pretrained(ref, trust_remote_code=trust_remote_code)
            model, info = AutoModelForMaskedLM.from_pretrained(ref, output_loading_info=True,
                                                               trust_remote_code=trust_remote_code)
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            raise VicinityModelError(f"cannot load masked LM: {type(e).__name__}: {str(e).splitlines()[0]}",
                                     path=str(ref)) from None
        head_missing = [k for k in info.get("missing_keys", []) if "lm_head" in k or "predictions" in k
                        or "cls." in k or "pred_layer" in k]
        if head_missing:
            raise VicinityModelError(f"the model has no trained masked-LM head (missing {', '.join(sorted(head_missing)[:3])}); "
                                     "use a checkpoint saved from a *ForMaskedLM model", path=str(ref))
        return cls(model, tokenizer, device, precision, source=str(ref))

    def _check(self, model, tokenizer) -> None:
        if tokenizer.mask_token_id is None:
            raise VicinityModelError("the tokenizer has no mask token", path=self.source)
        if model.get_output_embeddings() is None:
            raise VicinityModelError("the model has no masked-LM output layer", path=self.source)
        vocab = model.config.vocab_size
        if len(tokenizer) > vocab:
            raise VicinityModelError(f"tokenizer/model mismatch: the tokenizer has {len(tokenizer)} pieces but the model's "
                                     f"vocabulary has {vocab}", path=self.source)

    def _build_head(self) -> None:
        """Split the MLM head into (transform, restricted decoder) so only allowed rows are computed."""
        model = self.model
        decoder = model.get_output_embeddings()
        head = getattr(model, "lm_head", None)
        self._transform = None
        if head is not None and all(hasattr(head, a) for a in ("dense", "layer_norm")):
            act = torch.nn.functional.gelu

            def transform(h, head=head):
                return head.layer_norm(act(head.dense(h)))

            self._transform = transform
        elif hasattr(model, "cls") and hasattr(model.cls, "predictions"):
            self._transform = model.cls.predictions.transform
        bias = decoder.bias if decoder.bias is not None else getattr(head, "bias", None)
        idx = self.allowed.to(self.device)
        self._w = decoder.weight.detach().index_select(0, idx).contiguous()
        self._b = bias.detach().index_select(0, idx).contiguous() if bias is not None else None
        self._base = model.base_model

    # prediction -------------------------------------------------------------------------------
    @torch.inference_mode()
    def scores(self, sequences: Sequence[Sequence[int]], mask_positions: Sequence[int],
               max_tokens: int = 16384) -> torch.Tensor:
        """Scores over the allowed pieces (float32, ``[len(sequences), len(self.allowed)]``) at each
        sequence's mask position. Sequences are full token-id lists (with specials)."""
        n = len(sequences)
        out = torch.empty((n, len(self.allowed)), dtype=torch.float32)
        order = sorted(range(n), key=lambda i: len(sequences[i]))
        start = 0
        while start < n:
            longest = len(sequences[order[start]])
            end = start
            while end < n and (end - start + 1) * max(longest, len(sequences[order[end]])) <= max_tokens:
                longest = max(longest, len(sequences[order[end]]))
                end += 1
            end = max(end, start + 1)
            chunk = order[start:end]
            out[chunk] = self._scores_chunk([sequences[i] for i in chunk], [mask_positions[i] for i in chunk])
            start = end
        return out

    def _scores_chunk(self, seqs, positions) -> torch.Tensor:
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), self.pad, dtype=torch.long)
        att = torch.zeros((len(seqs), width), dtype=torch.long)
        for r, s in enumerate(seqs):
            ids[r, : len(s)] = torch.as_tensor(s, dtype=torch.long)
            att[r, : len(s)] = 1
        ids, att = ids.to(self.device), att.to(self.device)
        rows = torch.arange(len(seqs), device=self.device)
        pos = torch.as_tensor(positions, device=self.device)
        if self._transform is None:  # unknown head layout: full head, but only at the masked positions
            hidden = self._base(input_ids=ids, attention_mask=att).last_hidden_state[rows, pos]
            logits = self.model.get_output_embeddings()(hidden) if not hasattr(self.model, "lm_head") else self.model.lm_head(hidden)
            return logits[:, self.allowed.to(self.device)].float().cpu()
        hidden = self._base(input_ids=ids, attention_mask=att).last_hidden_state[rows, pos]
        logits = torch.nn.functional.linear(self._transform(hidden), self._w, self._b)
        return logits.float().cpu()

    @torch.inference_mode()
    def full_logits(self, sequence: Sequence[int]) -> torch.Tensor:
        """Reference path: the model's own forward over the whole vocabulary at every position."""
        ids = torch.as_tensor([list(sequence)], device=self.device)
        return self.model(input_ids=ids).logits[0].float().cpu()

    # tokenization -----------------------------------------------------------------------------
    def word_pieces(self, texts: Sequence[Sequence[str]]) -> list[list[list[int]]]:
        """Piece ids of every word of every text (a word that tokenizes to nothing gets the unk id)."""
        if not texts:
            return []
        enc = self.tokenizer([list(t) for t in texts], is_split_into_words=True, add_special_tokens=False)
        out = []
        for k, words in enumerate(texts):
            pieces: list[list[int]] = [[] for _ in words]
            ids = enc["input_ids"][k]
            word_ids = enc.word_ids(k) if hasattr(enc, "word_ids") and enc.is_fast else None
            if word_ids is None:
                pieces = [self.tokenizer(w, add_special_tokens=False)["input_ids"] for w in words]
            else:
                for tok, w in zip(ids, word_ids):
                    if w is not None:
                        pieces[w].append(tok)
            out.append([p if p else [self.unk] for p in pieces])
        return out
