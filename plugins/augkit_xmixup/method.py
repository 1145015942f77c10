"""X-Mixup's training items, loss (Eq. 7–8), scheduled sampling and inference, on the mixup encoder.

Yang et al., ICLR 2022, §4.1–4.3. ``L = α·L_S + (1−α)·L_T + w_mse·MSE(r_S, r_T) + w_kl·KL(p_S‖p_T)`` (the
paper's weights are 1; ``mse_weight``/``kl_weight`` change them):

* classification: cross-entropy against the shared gold label on both streams; KL between the two
  streams' class distributions (temperature 1, gradients through both);
* tagging: L_S against the source's gold tags, L_T against soft labels (a source model's distribution
  per translated word) on the target's first subwords;
* QA: span cross-entropy (start and end) on both streams.

r = the last layer's hidden states averaged over real tokens (``pooling = "mean"``) or the first
token's (``"cls"``). When a row's source side is a back-translation, classification keeps α·L_S with
the gold label; tagging and QA use L_T alone for that row. Task losses are averaged per row first
(a tagging row's mean over its labelled words), then over rows.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from augkit import DataError, Example
from augkit.tasks import TaskModel, best_spans, collate, encode, encode_qa, load_task_model

from .data import side_example
from .mixup import XMixupModel, pad_columns

CONFIG_FILE = "xmixup.json"


@dataclasses.dataclass
class Settings:
    """The method's switches (a trainer's parameters resolved for one task)."""

    task: str
    alpha: float
    mixup: bool = True
    mixup_inference: bool = True
    mse: bool = True
    mse_weight: float = 1.0
    kl: bool = True
    kl_weight: float = 1.0
    pooling: str = "mean"
    scheduled_sampling: bool = True
    k: float = 1000.0
    granularity: str = "batch"


def sampling_probability(step: int, k: float) -> float:
    """p* = k / (k + exp(step / k)) (inverse sigmoid decay of Bengio et al. 2015)."""
    x = step / k
    return 0.0 if x > 700 else k / (k + math.exp(x))


class ScheduledSampler:
    """Which rows use the real source text: with probability p*(step), drawn once per batch
    (``granularity="batch"``: every row alike) or once per row (``"example"``). Off: always real."""

    def __init__(self, k: float, granularity: str = "batch", seed: int = 0, enabled: bool = True):
        if granularity not in ("batch", "example"):
            raise ValueError(f"granularity: expected 'batch' or 'example', got {granularity!r}")
        self.k, self.granularity, self.enabled = k, granularity, enabled
        self.generator = torch.Generator().manual_seed(seed % (2**63))

    def p_star(self, step: int) -> float:
        return sampling_probability(step, self.k) if self.enabled else 1.0

    def draw(self, step: int, n: int) -> torch.Tensor:
        """``[n]`` booleans: True = the real source text for that row."""
        if not self.enabled:
            return torch.ones(n, dtype=torch.bool)
        draws = torch.rand(n if self.granularity == "example" else 1, generator=self.generator)
        return (draws <= self.p_star(step)).expand(n)


@dataclasses.dataclass
class PairItem:
    """One training or evaluation input: source, target and (optional) back-translation features, the
    target's soft labels per token (tagging), and the example it belongs to."""

    source: Any
    target: Any
    back: Any | None = None
    soft: np.ndarray | None = None
    example: int = 0


def make_items(
    examples: Sequence[Example],
    tm: TaskModel,
    max_length: int,
    *,
    train: bool,
    stats: dict | None = None,
    need_source: bool = True,
) -> list[PairItem]:
    """Pair the target features of ``examples`` with their source (and back-translation) features.

    A target longer than ``max_length`` becomes several windows (each paired with the source's first
    window). Training items carry targets: the gold label (classification), gold source tags and soft
    target labels (tagging), answer spans on both sides (QA)."""
    task = tm.task
    label_index = tm.label_index if train and task != "qa" else None
    if not need_source:  # inference on the target alone ("w/o mixup inference")
        feats = _encode(list(examples), tm, max_length, None, False, None)
        return [PairItem(None, f, example=f.example) for f in feats]
    found = [side_example(ex, "source") for ex in examples]
    missing = [ex.id for ex, s in zip(examples, found) if s is None]
    if missing:
        raise DataError(f'example {missing[0]!r} has no source side; X-Mixup reads parallel data (format = "parallel")')
    sources = [s for s in found if s is not None]
    backs = [side_example(ex, "back") for ex in examples]
    if task == "pair":  # both sides share the gold label
        sources = [s.replace(label=ex.label) for s, ex in zip(sources, examples)]
        backs = [b.replace(label=ex.label) if b is not None else None for b, ex in zip(backs, examples)]
    tgt_feats = _encode(
        list(examples) if task != "tagging" or not train else [ex.replace(tags=[]) for ex in examples],
        tm,
        max_length,
        label_index if task == "pair" else None,
        with_answers=train and task == "qa",
        stats=stats,
    )
    src_feats = _first_windows(_encode(sources, tm, max_length, label_index, train and task == "qa", stats))
    have_back = [k for k, b in enumerate(backs) if b is not None]
    back_feats = _first_windows(
        _encode([backs[k] for k in have_back], tm, max_length, label_index if task == "pair" else None, False, None),
        renumber=have_back,
    )
    items = []
    for f in tgt_feats:
        k = f.example
        soft = _soft_labels(f, examples[k], len(tm.labels)) if train and task == "tagging" else None
        items.append(PairItem(src_feats[k], f, back_feats.get(k), soft, k))
    return items


def _encode(examples, tm, max_length, label_index, with_answers, stats):
    if tm.task == "qa":
        return encode_qa(examples, tm.tokenizer, max_length, with_answers=with_answers, stats=stats)
    return encode(examples, tm.tokenizer, tm.task, max_length, label_index, stats)


def _first_windows(features, renumber: Sequence[int] | None = None) -> dict[int, Any]:
    """Each example's first feature (window), by example index."""
    out: dict[int, Any] = {}
    for f in features:
        k = renumber[f.example] if renumber is not None else f.example
        out.setdefault(k, f)
    return out


def _soft_labels(feature, ex: Example, n_labels: int) -> np.ndarray:
    """``[tokens, labels]``: the word's distribution on its first subword, zeros elsewhere."""
    if ex.probs is None or len(ex.probs) != len(ex.tokens):
        raise DataError(
            f"example {ex.id!r}: the translation has no soft labels (one distribution per word); "
            "label it with a source-language model first (a `label` stage before this trainer)"
        )
    probs = np.asarray(ex.probs, dtype=np.float32)
    if probs.shape[1] != n_labels:
        raise DataError(f"example {ex.id!r}: soft labels over {probs.shape[1]} labels, the model has {n_labels}")
    soft = np.zeros((len(feature.input_ids), n_labels), dtype=np.float32)
    fw = feature.first_word
    rows = np.nonzero(fw >= 0)[0]
    soft[rows] = probs[feature.word_offset + fw[rows]]
    return soft


def collate_items(items: Sequence[PairItem], pad_id: int, task: str, with_targets: bool = True) -> dict:
    """A training batch: ``source``/``target``/``back`` model inputs (with their targets), ``has_back``
    per row, ``soft`` target labels ``[B, T, C]`` for tagging, and the tokenizer's ``pad_id``."""
    backs = [it.back if it.back is not None else it.source for it in items]
    batch: dict[str, Any] = {
        "pad_id": pad_id,
        "source": collate([it.source for it in items], pad_id, with_labels=with_targets),
        "target": collate([it.target for it in items], pad_id, with_labels=with_targets and task != "tagging"),
        "has_back": torch.tensor([it.back is not None for it in items]),
    }
    if any(it.back is not None for it in items):
        batch["back"] = collate(backs, pad_id, with_labels=with_targets and task == "pair")
    if with_targets and task == "tagging":
        width = batch["target"]["input_ids"].shape[1]
        given = [it.soft for it in items if it.soft is not None]
        if len(given) != len(items):
            raise ValueError("tagging training items need soft labels (make_items with train=True)")
        soft = np.zeros((len(items), width, given[0].shape[1]), dtype=np.float32)
        for r, rows in enumerate(given):
            soft[r, : len(rows)] = rows
        batch["soft"] = torch.from_numpy(soft)
    return batch


class ItemCollator:
    """The Trainer's ``data_collator`` for PairItems (a class, so it pickles for dataloader workers)."""

    def __init__(self, pad_id: int, task: str):
        self.pad_id, self.task = pad_id, task

    def __call__(self, items):
        return collate_items(items, self.pad_id, self.task)


_TARGET_KEYS = ("labels", "start_positions", "end_positions")


def _inputs(batch: dict) -> dict:
    return {k: v for k, v in batch.items() if k not in _TARGET_KEYS}


def choose_source(batch: dict, use_real: torch.Tensor) -> tuple[dict, torch.Tensor]:
    """The source stream per row: the real source where ``use_real`` (or no back-translation exists),
    else the back-translation. Returns the batch and the rows that use a back-translation."""
    if "back" not in batch:
        return batch["source"], torch.zeros_like(batch["has_back"])
    use_back = batch["has_back"] & ~use_real
    if not bool(use_back.any()):
        return batch["source"], use_back
    src, back = batch["source"], batch["back"]
    width = max(src["input_ids"].shape[1], back["input_ids"].shape[1])
    out = {}
    for key in src:
        a = src[key]
        # a back-translation has no targets of its own where the source has them (tagging, QA): such
        # rows get none (their source loss has weight 0)
        b = back[key] if key in back else torch.full_like(a, -100 if key == "labels" else 0)
        if a.dim() == 2:
            fill = {"input_ids": batch.get("pad_id", 0), "labels": -100}.get(key, 0)
            a, b = pad_columns(a, width, fill), pad_columns(b, width, fill)
        out[key] = torch.where(use_back.view(-1, *([1] * (a.dim() - 1))), b, a)
    return out, use_back


def pooled(stream, pooling: str) -> torch.Tensor:
    """r: the last layer's hidden states averaged over real tokens, or the first token's."""
    last = stream.hidden_states[-1]
    if pooling == "cls":
        return last[:, 0]
    mask = stream.attention_mask[:, : last.shape[1]].to(last.dtype).unsqueeze(-1)
    return (last * mask).sum(1) / mask.sum(1).clamp(min=1)


def _row_task_loss(task: str, stream, batch: dict, soft: torch.Tensor | None = None) -> torch.Tensor:
    """The task loss of every row ``[B]`` (rows without any target: 0)."""
    head = stream.output
    if task == "pair":
        return F.cross_entropy(head.logits.float(), batch["labels"], reduction="none")
    if task == "qa":
        s = F.cross_entropy(
            head.start_logits.float(), _clip(batch["start_positions"], head.start_logits), reduction="none"
        )
        e = F.cross_entropy(head.end_logits.float(), _clip(batch["end_positions"], head.end_logits), reduction="none")
        return (s + e) / 2
    logp = F.log_softmax(head.logits.float(), dim=-1)
    if soft is not None:
        per_token = -(soft[:, : logp.shape[1]] * logp).sum(-1)
        counted = soft[:, : logp.shape[1]].sum(-1) > 0
    else:
        labels = batch["labels"][:, : logp.shape[1]]
        counted = labels >= 0
        per_token = -logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    per_token = per_token * counted
    return per_token.sum(1) / counted.sum(1).clamp(min=1)


def _clip(positions: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    return positions.clamp(0, logits.shape[1] - 1)


def compute_loss(model: XMixupModel | Any, batch: dict, settings: Settings, use_real: torch.Tensor):
    """One step's loss, the forward's output and its logged terms (floats)."""
    task = settings.task
    source, use_back = choose_source(batch, use_real)
    need_hidden = settings.mse
    out = model(_inputs(source), _inputs(batch["target"]), mixup=settings.mixup, output_hidden_states=need_hidden)
    alpha = settings.alpha
    l_s = _row_task_loss(task, out.source, source)
    l_t = _row_task_loss(task, out.target, batch["target"], batch.get("soft"))
    w_s = torch.full_like(l_s, alpha)
    w_t = torch.full_like(l_t, 1 - alpha)
    if task != "pair":  # a back-translated source side has no gold targets of its own: L_T alone
        w_s = torch.where(use_back, torch.zeros_like(w_s), w_s)
        w_t = torch.where(use_back, torch.ones_like(w_t), w_t)
    task_loss = (w_s * l_s + w_t * l_t).mean()
    loss = task_loss
    terms = {"loss_source": float(l_s.detach().mean()), "loss_target": float(l_t.detach().mean())}
    if settings.mse:
        mse = F.mse_loss(pooled(out.source, settings.pooling).float(), pooled(out.target, settings.pooling).float())
        loss = loss + settings.mse_weight * mse
        terms["mse"] = float(mse.detach())
    if settings.kl and task == "pair":
        log_ps = F.log_softmax(out.source.output.logits.float(), dim=-1)
        log_pt = F.log_softmax(out.target.output.logits.float(), dim=-1)
        kl = F.kl_div(log_pt, log_ps, log_target=True, reduction="batchmean")  # KL(p_S ‖ p_T)
        loss = loss + settings.kl_weight * kl
        terms["kl"] = float(kl.detach())
    if out.lam is not None:
        terms.update(
            lambda_mean=float(out.lam.detach().mean()),
            lambda_min=float(out.lam.detach().min()),
            lambda_max=float(out.lam.detach().max()),
            entropy=float(out.entropy.detach().mean()),
            entropy_t=float(out.entropy_t.detach().mean()),
        )
    terms["back_translated_share"] = float(use_back.float().mean())
    return loss, out, terms


# -- inference -----------------------------------------------------------------------------------------
@torch.inference_mode()
def predict(
    xm: XMixupModel,
    tm: TaskModel,
    examples: Sequence[Example],
    *,
    max_length: int,
    mixup_inference: bool,
    batch_size: int = 32,
    items: Sequence[PairItem] | None = None,
):
    """Predictions for translate-test pairs: per example a ``[1, C]`` distribution (classification;
    the mean of the two streams' with mixup inference), a ``[words, C]`` one (tagging; target stream)
    or the answer text (QA; target stream)."""
    xm.eval()
    task = tm.task
    if items is None:
        items = make_items(examples, tm, max_length, train=False, need_source=mixup_inference)
    device = tm.device
    pad = tm.tokenizer.pad_token_id
    order = np.argsort([len(it.target.input_ids) for it in items], kind="stable")
    n_labels = len(tm.labels)
    probs: list[Any] = [None] * len(examples)
    if task == "tagging":
        probs = [np.zeros((len(ex.tokens), n_labels), dtype=np.float32) for ex in examples]
    starts: list[Any] = [None] * len(items)
    ends: list[Any] = [None] * len(items)
    for a in range(0, len(order), batch_size):
        idx = order[a : a + batch_size]
        chunk = [items[i] for i in idx]
        target = collate([it.target for it in chunk], pad, device)
        if mixup_inference:
            source = collate([it.source for it in chunk], pad, device)
            out = xm(source, target, mixup=True)
            tgt = out.target.output
        else:
            out, tgt = None, xm.forward_plain(target).output
        if task == "pair":
            p = torch.softmax(tgt.logits.float(), dim=-1)
            if out is not None:
                p = (p + torch.softmax(out.source.output.logits.float(), dim=-1)) / 2
            for r, it in enumerate(chunk):
                probs[it.example] = p[r : r + 1].cpu().numpy()
        elif task == "tagging":
            word_probs = torch.softmax(tgt.logits.float(), dim=-1).cpu().numpy()
            for r, it in enumerate(chunk):
                fw = it.target.first_word
                rows = np.nonzero(fw >= 0)[0]
                probs[it.example][it.target.word_offset + fw[rows]] = word_probs[r, rows]
        else:
            s, e = tgt.start_logits.float().cpu().numpy(), tgt.end_logits.float().cpu().numpy()
            for r, i in enumerate(idx):
                starts[i], ends[i] = s[r], e[r]
    if task == "qa":
        return best_spans([it.target for it in items], starts, ends, [ex.context or "" for ex in examples])
    return probs


def evaluate_pairs(
    xm: XMixupModel,
    tm: TaskModel,
    examples: Sequence[Example],
    *,
    max_length: int,
    mixup_inference: bool,
    items=None,
    batch_size: int = 32,
) -> dict[str, float]:
    """The task metric on labelled translate-test pairs: ``{"score": ...}`` (accuracy, span F1, or
    SQuAD F1 with ``"em"`` beside it), predicted ``batch_size`` pairs at a time."""
    from augkit.tasks import score, squad_f1_em

    pred = predict(
        xm, tm, examples, max_length=max_length, mixup_inference=mixup_inference, items=items, batch_size=batch_size
    )
    if tm.task == "qa":
        f1, em = squad_f1_em(pred, [[a["text"] for a in ex.answers] for ex in examples])
        return {"score": f1, "em": em}
    return {"score": score(examples, pred, tm.labels, tm.task)}


# -- saving and loading ----------------------------------------------------------------------------------
def save_model(xm: XMixupModel, tm: TaskModel, folder: str | Path, settings: Settings) -> Path:
    """The task model in Hugging Face layout plus ``xmixup.json`` (mixup layer, λ0, mode, W, b and the
    inference switch): ``from_pretrained`` loads the task model; ``load_model`` the whole method."""
    from augkit import atomic_write_json

    folder = tm.save(folder)
    atomic_write_json(
        folder / CONFIG_FILE,
        {
            "mixup_layer": xm.mixup_layer,
            "lambda0": xm.lambda0,
            "lambda_mode": xm.lambda_mode,
            "mix_weight": float(xm.mix_weight.detach()),
            "mix_bias": float(xm.mix_bias.detach()),
            "mixup": settings.mixup,
            "mixup_inference": settings.mixup_inference and settings.mixup,
        },
    )
    return folder


def load_model(folder: str | Path, *, device: str = "cpu") -> tuple[XMixupModel, TaskModel, dict]:
    """An X-Mixup model saved by ``save_model``: (mixup model, task model, its xmixup.json)."""
    folder = Path(folder)
    try:
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"not an X-Mixup model (no {CONFIG_FILE})", path=str(folder)) from None
    except json.JSONDecodeError as e:
        raise DataError(f"{CONFIG_FILE} is not valid JSON: {e.msg}", path=str(folder)) from None
    tm = load_task_model(folder, device=device)
    xm = XMixupModel(tm.model, int(config["mixup_layer"]), float(config["lambda0"]), config["lambda_mode"])
    with torch.no_grad():
        xm.mix_weight.fill_(float(config["mix_weight"]))
        xm.mix_bias.fill_(float(config["mix_bias"]))
    return xm.to(device), tm, config
