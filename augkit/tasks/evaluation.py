"""Evaluation of several models per language, and the data checks a trainer makes before training."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..data import Corpus, Example, concat
from ..errors import DataError
from ..scores import mean_std
from .metrics import score
from .task_models import TaskModel


def check_labels(corpora: dict[str, Sequence[Example]], labels: list[str], task: str) -> None:
    """Gold labels outside the label set are an error before any training starts (DataError naming
    the set, the example and the label)."""
    if task == "qa":
        return
    known = set(labels)
    for name, examples in corpora.items():
        for ex in examples:
            bad = (
                [t for t in ex.tags if t not in known]
                if task == "tagging"
                else ([ex.label] if ex.label is not None and ex.label not in known else [])
            )
            if bad:
                raise DataError(
                    f"{name}: example {ex.id!r} has label {bad[0]!r}, which is not in the label set "
                    f"({', '.join(labels)}); set the stage's `labels` or fix the data"
                )


def require_labelled(name: str, examples: Sequence[Example]) -> None:
    """Every example of a set used for training, model selection or testing has gold labels."""
    if not examples:
        raise DataError(f"{name}: no examples")
    unlabelled = sum(not ex.is_labelled for ex in examples)
    if unlabelled == len(examples):
        raise DataError(
            f"{name}: no example has gold labels, but this set is used for model selection or "
            "testing; give it labelled data (drop_labels is only for training text)"
        )
    if unlabelled:
        raise DataError(f"{name}: {unlabelled} of {len(examples)} examples have no gold labels")


def evaluate_models(models: Sequence[TaskModel], examples: Sequence[Example], max_length: int = 512) -> dict:
    """Each model's score, their mean ± sample std, and the ensemble's score (the mean of the models'
    probabilities; for QA, the best single model stands in for it)."""
    from .inference import evaluate, predict_probs  # torch: loaded on use, so importing augkit.tasks stays light

    per_model, all_probs = [], []
    task, labels = models[0].task, models[0].labels
    for tm in models:
        if task == "qa":
            per_model.append(evaluate(tm, examples, max_length=max_length))
            continue
        probs = predict_probs(tm, examples, max_length=max_length)
        all_probs.append(probs)
        per_model.append(score(examples, probs, labels, task))
    arr = np.asarray(per_model)
    if task == "qa":
        ensemble = float(arr.max())
    else:
        ensemble = score(
            examples, [np.mean([p[i] for p in all_probs], axis=0) for i in range(len(examples))], labels, task
        )
    mean, std = mean_std(per_model)
    return {"models": per_model, "mean": mean, "std": std, "ensemble": ensemble, "n": len(examples)}


def by_language(value: Corpus | Sequence[Corpus]) -> dict[str, Corpus]:
    """Input corpora indexed by language (a corpus holding several languages is split)."""
    corpora: list[Corpus] = [value] if isinstance(value, Corpus) else list(value)
    out: dict[str, Corpus] = {}
    for c in corpora:
        langs = c.languages
        for lang in langs:
            part = c if len(langs) == 1 else c.filter_lang(lang)
            out[lang] = concat([out[lang], part]) if lang in out else part
    return out
