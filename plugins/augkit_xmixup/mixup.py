"""The X-Mixup encoder: two streams (source, target) through one Hugging Face task model, mixed inside
one layer (Yang et al., ICLR 2022, §4.1; the README's X-Mixup section lists where augkit settles what
the paper leaves open).

It wraps the model rather than copying its code. Both streams run as one batch (source rows first,
then target rows, padded to a common width), so every layer below and above the mixup layer is the
model's own. At layer l a forward hook on the layer's attention sub-layer (self-attention + residual
+ LayerNorm) takes its output for both streams, S_a and T_a, and replaces the target half with

    C  = cross-attention(query T_a, keys/values S_a) with the layer's own Q/K/V and output projection,
         source padding masked, no residual
    T' = LN(λ·C + (1−λ)·T_a)           (the layer's own attention-output LayerNorm)

before the layer's feed-forward sub-layer runs on both halves; the source half is never changed.
λ = λ0·σ((H(A) + H(Aᵀ))·W + b) per example, W and b trainable (init 1 and 0), or λ0 ("constant").

Any encoder whose layers look like BERT's (``layer.attention.self.query/key/value`` and
``layer.attention.output.dense/LayerNorm``: BERT, mBERT, RoBERTa, XLM-R) works.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

LAMBDA_MODES = ("adaptive", "constant")


def encoder_layers(model) -> nn.ModuleList:
    """The transformer layers of a Hugging Face encoder (or task model built on one)."""
    base = getattr(model, "base_model", model)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if not isinstance(layers, nn.ModuleList) or not len(layers):
        raise ValueError(f"{type(model).__name__}: no BERT-style encoder layers (model.encoder.layer) to wrap")
    attn = getattr(layers[0], "attention", None)
    parts = ("self.query", "self.key", "self.value", "output.dense", "output.LayerNorm")
    if attn is None or not all(_has(attn, p) for p in parts):
        raise ValueError(
            f"{type(model).__name__}: its layers are not BERT-style (attention.self.query/key/value, "
            "attention.output.dense/LayerNorm); X-Mixup cannot wrap them"
        )
    return layers


def _has(module, dotted: str) -> bool:
    for part in dotted.split("."):
        module = getattr(module, part, None)
        if module is None:
            return False
    return True


def attention_entropies(scores: torch.Tensor, source_mask: torch.Tensor, target_mask: torch.Tensor):
    """H(A) and H(Aᵀ) per example from cross-attention scores ``[B, heads, I, J]`` (target rows, source
    columns, before the softmax) and the real-token masks ``[B, J]`` (source) and ``[B, I]`` (target).

    A = softmax over real source tokens; H(A) = −(1/I)·Σ_i Σ_j A_ij log A_ij over the I real target
    tokens, averaged over heads. Aᵀ = softmax of the transposed scores over real target tokens; H(Aᵀ)
    is averaged over the J real source tokens and heads. Also returns A (for the mixing itself)."""
    scores = scores.float()
    src = source_mask.bool()[:, None, None, :]
    tgt = target_mask.bool()[:, None, :, None]
    # log-probabilities with masked entries set to 0 (not −inf), so that 0·log 0 has a zero gradient
    log_a = scores.masked_fill(~src, float("-inf")).log_softmax(dim=-1)  # [B, H, I, J]
    log_at = scores.masked_fill(~tgt, float("-inf")).log_softmax(dim=-2)  # column j: over targets i
    log_a, log_at = log_a.masked_fill(~src, 0.0), log_at.masked_fill(~tgt, 0.0)
    a, a_t = log_a.exp().masked_fill(~src, 0.0), log_at.exp().masked_fill(~tgt, 0.0)
    n_tgt = target_mask.sum(-1).clamp(min=1).float()
    n_src = source_mask.sum(-1).clamp(min=1).float()
    row_entropy = -(a * log_a).sum(-1).masked_fill(~tgt[..., 0], 0.0)  # [B, H, I]
    col_entropy = -(a_t * log_at).sum(-2).masked_fill(~src[:, :, 0, :], 0.0)  # [B, H, J]
    h_a = (row_entropy.sum(-1) / n_tgt[:, None]).mean(-1)
    h_at = (col_entropy.sum(-1) / n_src[:, None]).mean(-1)
    return h_a, h_at, a


@dataclasses.dataclass
class StreamOutput:
    """One stream's result: the task head's output (``logits``, or ``start_logits``/``end_logits``),
    trimmed to the stream's own width, and the hidden states of every layer when asked for
    (``[embeddings, layer 1, ..., layer L]``, each ``[B, T, D]``)."""

    output: Any
    hidden_states: tuple[torch.Tensor, ...] | None
    attention_mask: torch.Tensor


@dataclasses.dataclass
class MixupOutput:
    """What a two-stream forward returns: each stream, and per example λ, H(A), H(Aᵀ) (None when
    mixup is off)."""

    source: StreamOutput
    target: StreamOutput
    lam: torch.Tensor | None = None
    entropy: torch.Tensor | None = None
    entropy_t: torch.Tensor | None = None


class XMixupModel(nn.Module):
    """A Hugging Face task model run as X-Mixup's two streams.

    ``mixup_layer`` is 1-based, as in the paper. ``forward(source, target)`` takes two batches of model
    inputs (``input_ids``, ``attention_mask``, optionally ``token_type_ids``) with the same number of
    rows and returns a ``MixupOutput``. ``mixup=False`` runs both streams plainly (each equals a
    plain forward of the model). ``forward_plain(inputs)`` is one plain stream (the "w/o mixup
    inference" path). W and b live here (``mix_weight``, ``mix_bias``), so an optimiser over this
    module's parameters trains them."""

    def __init__(self, model, mixup_layer: int, lambda0: float = 0.5, lambda_mode: str = "adaptive"):
        super().__init__()
        layers = encoder_layers(model)
        if not 1 <= mixup_layer <= len(layers):
            raise ValueError(
                f"mixup_layer: expected 1..{len(layers)} (the model has {len(layers)} layers), got {mixup_layer}"
            )
        if lambda_mode not in LAMBDA_MODES:
            raise ValueError(f"lambda_mode: expected one of {', '.join(LAMBDA_MODES)}, got {lambda_mode!r}")
        if not 0.0 <= lambda0 <= 1.0:
            raise ValueError(f"lambda0: expected a value in [0, 1], got {lambda0}")
        self.model = model
        self.mixup_layer, self.lambda0, self.lambda_mode = mixup_layer, float(lambda0), lambda_mode
        self.mix_weight = nn.Parameter(torch.ones(()))
        self.mix_bias = nn.Parameter(torch.zeros(()))
        attention: Any = layers[mixup_layer - 1].attention  # a BERT-style attention block (self, output)
        self._attention = attention
        self._call: dict | None = None  # the two-stream call in progress (masks, and what the hook records)
        attention.register_forward_hook(self._mix_hook)

    @property
    def config(self):
        return self.model.config

    # -- forward passes -------------------------------------------------------------------------------
    def forward(
        self,
        source: dict,
        target: dict,
        mixup: bool = True,
        output_hidden_states: bool = False,
        lam: torch.Tensor | None = None,
    ) -> MixupOutput:
        """Both streams; ``lam`` (``[B]``) overrides the computed mixing ratio (for analysis and tests)."""
        n = source["input_ids"].shape[0]
        if target["input_ids"].shape[0] != n:
            raise ValueError(f"source and target batches differ in size ({n} vs {target['input_ids'].shape[0]})")
        ws, wt = source["input_ids"].shape[1], target["input_ids"].shape[1]
        width = max(ws, wt)
        pad = self.model.config.pad_token_id if self.model.config.pad_token_id is not None else 0
        joint = {}
        for key in ("input_ids", "attention_mask", "token_type_ids"):
            if key not in source and key not in target:
                continue
            fill = pad if key == "input_ids" else 0
            a = source.get(key, torch.zeros_like(source["input_ids"]))
            b = target.get(key, torch.zeros_like(target["input_ids"]))
            joint[key] = torch.cat([pad_columns(a, width, fill), pad_columns(b, width, fill)])
        mask = joint["attention_mask"].bool()
        self._call = {"n": n, "source_mask": mask[:n], "target_mask": mask[n:], "mixup": mixup, "lam": lam}
        try:
            out = self.model(**joint, output_hidden_states=output_hidden_states)
        finally:
            record, self._call = self._call, None
        src, tgt = _split(out, n, ws, wt, source["attention_mask"], target["attention_mask"])
        if not mixup:
            return MixupOutput(src, tgt)
        return MixupOutput(src, tgt, record["lam_used"], record["h_a"], record["h_at"])

    def forward_plain(self, inputs: dict, output_hidden_states: bool = False) -> StreamOutput:
        """One stream through the unmixed model."""
        out = self.model(**inputs, output_hidden_states=output_hidden_states)
        hidden = tuple(out.hidden_states) if output_hidden_states else None
        return StreamOutput(out, hidden, inputs["attention_mask"])

    # -- the mixup layer ------------------------------------------------------------------------------
    def mixing_ratio(self, h_a: torch.Tensor, h_at: torch.Tensor) -> torch.Tensor:
        """λ per example from the two entropies (adaptive), or λ0 (constant)."""
        if self.lambda_mode == "constant":
            return torch.full_like(h_a, self.lambda0)
        return self.lambda0 * torch.sigmoid((h_a + h_at) * self.mix_weight + self.mix_bias)

    def _mix_hook(self, module, args, output):
        call = self._call
        if call is None or not call["mixup"]:
            return output
        hidden = output[0] if isinstance(output, tuple) else output
        n = call["n"]
        s_a, t_a = hidden[:n], hidden[n:]
        mixed = self._mix(s_a, t_a, call)
        hidden = torch.cat([s_a, mixed])
        return (hidden, *output[1:]) if isinstance(output, tuple) else hidden

    def _mix(self, s_a: torch.Tensor, t_a: torch.Tensor, call: dict) -> torch.Tensor:
        attn = self._attention
        sa, so = attn.self, attn.output
        heads = sa.num_attention_heads
        size = sa.attention_head_size
        n, width, _ = t_a.shape

        def split_heads(x):
            return x.view(n, width, heads, size).transpose(1, 2)

        q, k, v = split_heads(sa.query(t_a)), split_heads(sa.key(s_a)), split_heads(sa.value(s_a))
        scores = torch.matmul(q, k.transpose(-1, -2)) * (size**-0.5)
        h_a, h_at, probs = attention_entropies(scores, call["source_mask"], call["target_mask"])
        lam = call["lam"] if call["lam"] is not None else self.mixing_ratio(h_a, h_at)
        context = torch.matmul(sa.dropout(probs).to(v.dtype), v).transpose(1, 2).reshape(n, width, heads * size)
        cross = so.dropout(so.dense(context))
        lam_b = lam.to(t_a.dtype)[:, None, None]
        call.update(lam_used=lam, h_a=h_a, h_at=h_at)
        return so.LayerNorm(lam_b * cross + (1 - lam_b) * t_a)


def pad_columns(x: torch.Tensor, width: int, fill: int) -> torch.Tensor:
    """``x`` (rows × columns) with ``fill`` columns appended up to ``width`` (unchanged if already as wide):
    the one padding step of the two streams' batches (padding ids, masks, labels)."""
    if x.shape[1] >= width:
        return x
    return torch.cat([x, x.new_full((x.shape[0], width - x.shape[1]), fill)], dim=1)


def _split(out, n: int, ws: int, wt: int, source_mask, target_mask) -> tuple[StreamOutput, StreamOutput]:
    """The joint output cut into the source rows (first n) and target rows, each at its own width."""

    def part(rows: slice, width: int):
        fields = {}
        for key in ("logits", "start_logits", "end_logits"):
            value = getattr(out, key, None)
            if value is None:
                continue
            value = value[rows]
            sentence_level = key == "logits" and value.dim() == 2  # one row per example (classification)
            fields[key] = value if sentence_level else value[:, :width]
        return _Head(**fields)

    hidden = out.hidden_states
    src_h = tuple(h[:n, :ws] for h in hidden) if hidden is not None else None
    tgt_h = tuple(h[n:, :wt] for h in hidden) if hidden is not None else None
    return (
        StreamOutput(part(slice(0, n), ws), src_h, source_mask),
        StreamOutput(part(slice(n, None), wt), tgt_h, target_mask),
    )


@dataclasses.dataclass
class _Head:
    """A task head's outputs for one stream (the fields of the HF output that exist)."""

    logits: torch.Tensor | None = None
    start_logits: torch.Tensor | None = None
    end_logits: torch.Tensor | None = None
