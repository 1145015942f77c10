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
            return piece[len(mark) :]
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
    def load(
        cls, ref: str, device: str = "cpu", precision: str = "auto", trust_remote_code: bool = False
    ) -> "MaskedLM":
        from augkit import isolated_rng

        with isolated_rng():  # building or loading may draw random numbers; the run's state must not move
            return cls._load(ref, device, precision, trust_remote_code)

    @classmethod
    def _load(cls, ref: str, device: str, precision: str, trust_remote_code: bool) -> "MaskedLM":
        from transformers import AutoModelForMaskedLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from augkit import DataError, load_pretrained, resolve_model

        hf_logging.disable_progress_bar()  # augkit shows its own progress
        ref = resolve_model(ref)
        folder = Path(ref)
        if folder.is_dir() and (folder / "model.pt").exists() and (folder / "dict.txt").exists():
            from .fairseq_convert import load_fairseq_xlmr

            model, tokenizer = load_fairseq_xlmr(folder)
            return cls(model, tokenizer, device, precision, source=str(ref))
        if folder.is_dir() and not (folder / "config.json").exists():
            raise VicinityModelError(
                "not a model folder: expected config.json (Hugging Face) or model.pt + "
                "dict.txt + sentencepiece.bpe.model (fairseq XLM-R)",
                path=str(ref),
            )
        try:
            tokenizer = AutoTokenizer.from_pretrained(ref, trust_remote_code=trust_remote_code)
            model, info = load_pretrained(
                AutoModelForMaskedLM,
                ref,
                what="a masked LM",
                output_loading_info=True,
                trust_remote_code=trust_remote_code,
            )
        except DataError as e:
            raise VicinityModelError(str(e)) from None
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            raise VicinityModelError(
                f"cannot load masked LM: {type(e).__name__}: {str(e).splitlines()[0]}", path=str(ref)
            ) from None
        head_missing = [
            k
            for k in info.get("missing_keys", [])
            if "lm_head" in k or "predictions" in k or "cls." in k or "pred_layer" in k
        ]
        if head_missing:
            raise VicinityModelError(
                f"the model has no trained masked-LM head (missing {', '.join(sorted(head_missing)[:3])}); "
                "use a checkpoint saved from a *ForMaskedLM model",
                path=str(ref),
            )
        return cls(model, tokenizer, device, precision, source=str(ref))

    def _check(self, model, tokenizer) -> None:
        if tokenizer.mask_token_id is None:
            raise VicinityModelError("the tokenizer has no mask token", path=self.source)
        if model.get_output_embeddings() is None:
            raise VicinityModelError("the model has no masked-LM output layer", path=self.source)
        vocab = model.config.vocab_size
        if len(tokenizer) > vocab:
            raise VicinityModelError(
                f"tokenizer/model mismatch: the tokenizer has {len(tokenizer)} pieces but the model's "
                f"vocabulary has {vocab}",
                path=self.source,
            )

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
        self._last_layer = self._last_layer_shortcut()

    def _last_layer_shortcut(self):
        """For BERT-family encoders (XLM-R, RoBERTa, BERT): the final layer is only needed at the masked
        positions. Keys and values still come from every token; queries, attention output and the
        feed-forward block run on one row per sequence. Returns (trunk layers, last layer) or None."""
        layers = getattr(getattr(self._base, "encoder", None), "layer", None)
        cfg = self.model.config
        if layers is None or len(layers) < 2 or getattr(cfg, "is_decoder", False):
            return None
        if getattr(cfg, "position_embedding_type", "absolute") not in (None, "absolute"):
            return None
        last = layers[-1]
        sa = getattr(getattr(last, "attention", None), "self", None)
        needed = [
            sa,
            getattr(sa, "query", None),
            getattr(sa, "key", None),
            getattr(sa, "value", None),
            getattr(last.attention, "output", None),
            getattr(last, "intermediate", None),
            getattr(last, "output", None),
        ]
        if any(m is None for m in needed):
            return None
        return torch.nn.ModuleList(list(layers)[:-1]), last

    # prediction -------------------------------------------------------------------------------
    HEAD_ROWS = 1024  # masked positions per head GEMM
    VOCAB_BLOCK = 4096  # allowed pieces per head GEMM (keeps logits in cache; argmax fused)

    @torch.inference_mode()
    def predict(
        self,
        sequences: Sequence[Sequence[int]],
        mask_positions: Sequence[int],
        *,
        max_tokens: int = 12288,
        uniforms: Sequence[float] | None = None,
        top_k: int = 0,
        temperature: float = 1.0,
    ) -> list[int]:
        """Index into ``self.allowed`` of the prediction at each sequence's mask.

        Arg-max when ``uniforms`` is None; otherwise sampled: row r takes the piece where the cumulative
        softmax (over the ``top_k`` best, or all allowed pieces, at ``temperature``) first exceeds
        ``uniforms[r]``. Rows are computed independently, so a row's result does not depend on the others.
        """
        hidden = self._masked_hidden(sequences, mask_positions, max_tokens)
        out: list[int] = []
        for r in range(0, hidden.shape[0], self.HEAD_ROWS):
            x = hidden[r : r + self.HEAD_ROWS]
            if uniforms is None:
                out.extend(self._argmax(x).tolist())
            else:
                u = torch.as_tensor(list(uniforms[r : r + self.HEAD_ROWS]), dtype=torch.float64)
                out.extend(self._sample(x, u, top_k, temperature).tolist())
        return out

    @torch.inference_mode()
    def scores(
        self, sequences: Sequence[Sequence[int]], mask_positions: Sequence[int], max_tokens: int = 12288
    ) -> torch.Tensor:
        """Scores over the allowed pieces (float32, ``[len(sequences), len(self.allowed)]``)."""
        hidden = self._masked_hidden(sequences, mask_positions, max_tokens)
        return self._logits(hidden, 0, self._w.shape[0]).float().cpu()

    def _masked_hidden(self, sequences, mask_positions, max_tokens: int) -> torch.Tensor:
        """The head's input (transformed hidden state) at every mask, in input order: the encoder runs on
        length-sorted chunks under a token budget, so padding stays small."""
        from augkit.tasks import budget_chunks

        n = len(sequences)
        order = sorted(range(n), key=lambda i: len(sequences[i]))
        parts = []
        for start, end in budget_chunks([len(sequences[i]) for i in order], max_tokens):
            chunk = order[start:end]
            parts.append(self._encode_chunk([sequences[i] for i in chunk], [mask_positions[i] for i in chunk]))
        hidden = torch.cat(parts) if parts else torch.empty((0, self._w.shape[1]), device=self.device, dtype=self.dtype)
        restore = torch.empty(n, dtype=torch.long)
        restore[torch.as_tensor(order, dtype=torch.long)] = torch.arange(n)
        return hidden[restore.to(hidden.device)]

    def _encode_chunk(self, seqs, positions) -> torch.Tensor:
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), self.pad, dtype=torch.long)
        for r, s in enumerate(seqs):
            ids[r, : len(s)] = torch.as_tensor(s, dtype=torch.long)
        ids = ids.to(self.device)
        att = (ids != self.pad).long() if any(len(s) < width for s in seqs) else None
        rows = torch.arange(len(seqs), device=self.device)
        pos = torch.as_tensor(positions, device=self.device)
        if self._last_layer is None:
            hidden = self._base(input_ids=ids, attention_mask=att).last_hidden_state[rows, pos]
        else:
            hidden = self._through_last_layer(ids, att, rows, pos)
        return self._transform(hidden) if self._transform is not None else hidden

    def _through_last_layer(self, ids, att, rows, pos) -> torch.Tensor:
        trunk, last = self._last_layer
        encoder = self._base.encoder
        all_layers = encoder.layer
        encoder.layer = trunk  # the model's own forward, minus its final layer
        try:
            h = self._base(input_ids=ids, attention_mask=att).last_hidden_state
        finally:
            encoder.layer = all_layers
        B, T, H = h.shape
        cfg = self.model.config
        nh = cfg.num_attention_heads
        dh = H // nh
        sa = last.attention.self
        x = h[rows, pos]
        q = sa.query(x).view(B, nh, 1, dh)
        k = sa.key(h).view(B, T, nh, dh).transpose(1, 2)
        v = sa.value(h).view(B, T, nh, dh).transpose(1, 2)
        mask = att[:, None, None, :].bool() if att is not None else None
        ctx = torch.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, scale=getattr(sa, "scaling", dh**-0.5)
        )
        a = last.attention.output(ctx.reshape(B, H), x)
        return last.output(last.intermediate(a), a)

    def _logits(self, x: torch.Tensor, start: int, end: int) -> torch.Tensor:
        if self._transform is None:  # unknown head layout: the model's own head, restricted afterwards
            head = getattr(self.model, "lm_head", None) or self.model.get_output_embeddings()
            return head(x)[:, self.allowed[start:end].to(x.device)]
        b = self._b[start:end] if self._b is not None else None
        return torch.nn.functional.linear(x, self._w[start:end], b)

    def _argmax(self, x: torch.Tensor) -> torch.Tensor:
        """Arg-max over the allowed pieces, block by block (the first maximum wins, as in torch.argmax)."""
        V = self._w.shape[0]
        best_val = torch.full((x.shape[0],), float("-inf"), device=x.device)
        best_idx = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        for s in range(0, V, self.VOCAB_BLOCK):
            val, idx = self._logits(x, s, min(V, s + self.VOCAB_BLOCK)).float().max(dim=1)
            better = val > best_val
            best_val = torch.where(better, val, best_val)
            best_idx = torch.where(better, idx + s, best_idx)
        return best_idx.cpu()

    def _sample(self, x: torch.Tensor, u: torch.Tensor, top_k: int, temperature: float) -> torch.Tensor:
        logits = self._logits(x, 0, self._w.shape[0]).float() / temperature
        if top_k:
            logits, idx = logits.topk(min(top_k, logits.shape[1]), dim=1)
        else:
            idx = None
        cdf = torch.softmax(logits.double(), dim=1).cumsum(dim=1).cpu()
        k = torch.searchsorted(cdf, (u * cdf[:, -1]).unsqueeze(1)).squeeze(1).clamp(max=cdf.shape[1] - 1)
        return k if idx is None else idx.cpu().gather(1, k.unsqueeze(1)).squeeze(1)

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
