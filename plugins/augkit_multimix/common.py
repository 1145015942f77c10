"""Parameters and helpers shared by the warm-up and co-teaching stages."""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from augkit import Corpus, DataError, Example, Params, param

from .inference import predict_probs, score


@dataclasses.dataclass
class TrainingParams(Params):
    learning_rate: float = param(3e-5, help="peak learning rate (linear schedule)", gt=0)
    batch_size: int = param(4, help="per-device batch size", ge=1)
    grad_accum: int = param(1, help="gradient accumulation steps", ge=1)
    warmup_steps: int = param(0, help="learning-rate warm-up steps", ge=0)
    warmup_ratio: float = param(0.0, help="learning-rate warm-up as a share of the steps (if warmup_steps is 0)", ge=0, le=1)
    weight_decay: float = param(0.0, ge=0)
    max_length: int = param(128, help="model input length in subwords (longer sentences are split into windows)", ge=8)
    eval_steps: int = param(0, help="evaluate on dev every this many steps (0: only at the end)", ge=0)
    max_grad_norm: float = param(1.0, gt=0)
    trust_remote_code: bool = param(False, help="allow the model's own code to run (only if you trust it)")


def check_labels(corpora: dict[str, Sequence[Example]], labels: list[str], task: str) -> None:
    """Gold labels outside the label set are an error before any training starts."""
    known = set(labels)
    for name, examples in corpora.items():
        for ex in examples:
            bad = [t for t in ex.tags if t not in known] if task == "tagging" else \
                ([ex.label] if ex.label is not None and ex.label not in known else [])
            if bad:
                raise DataError(f"{name}: example {ex.id!r} has label {bad[0]!r}, which is not in the label set "
                                f"({', '.join(labels)}); set the stage's `labels` or fix the data")


def require_labelled(name: str, examples: Sequence[Example]) -> None:
    if not examples:
        raise DataError(f"{name}: no examples")
    unlabelled = sum(not ex.is_labelled for ex in examples)
    if unlabelled == len(examples):
        raise DataError(f"{name}: no example has gold labels, but this set is used for model selection or "
                        "testing; give it labelled data (drop_labels is only for training text)")
    if unlabelled:
        raise DataError(f"{name}: {unlabelled} of {len(examples)} examples have no gold labels")


def evaluate_models(models, examples: Sequence[Example], labels: list[str], task: str, max_length: int) -> dict:
    """Each model's score, mean ± sample std, and the ensemble (mean of probabilities)."""
    per_model, all_probs = [], []
    for m, tok in models:
        probs = predict_probs(m, tok, examples, task, max_length=max_length)
        all_probs.append(probs)
        per_model.append(score(examples, probs, labels, task))
    ensemble = [np.mean([p[i] for p in all_probs], axis=0) for i in range(len(examples))]
    arr = np.asarray(per_model)
    return {"models": per_model, "mean": float(arr.mean()),
            "std": float(arr.std(ddof=1)) if len(arr) > 1 else 0.0,
            "ensemble": score(examples, ensemble, labels, task), "n": len(examples)}


def by_language(value) -> dict[str, Corpus]:
    """Index input corpora by their (single) language."""
    corpora = value if isinstance(value, list) else [value]
    out = {}
    for c in corpora:
        langs = c.languages
        for lang in langs:
            part = c if len(langs) == 1 else c.filter_lang(lang)
            if lang in out:
                from augkit import concat

                out[lang] = concat([out[lang], part])
            else:
                out[lang] = part
    return out
