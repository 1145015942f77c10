"""The shared task layer: task models and everything a trainer needs around them.

Any trainer (MultiMix's, X-Mixup's, a third party's) is written on these names alone:

* models — ``TaskModel``, ``load_task_model``, ``load_tokenizer``, ``task_of`` (token classification,
  sentence-pair classification and extractive QA on any Hugging Face encoder; saved in HF layout with
  safetensors, labels in ``config.id2label``);
* encoding — ``Feature``, ``encode``, ``encode_words``, ``encode_pairs``, ``QAFeature``, ``encode_qa``,
  ``collate``, ``pad_batch``, ``budget_chunks``;
* inference and metrics — ``predict_flat``, ``predict_flat_sharded``, ``predict_probs``,
  ``predict_answers``, ``evaluate``, ``span_f1``, ``squad_f1_em``, ``score``;
* evaluation — ``evaluate_models`` (each model, mean ± std, ensemble), ``by_language``,
  ``check_labels``, ``require_labelled``;
* training — ``TrainingParams``, ``train_model``, ``build_trainer``, ``run_training``, ``DevSelection``,
  ``BalancedBatchSampler``, ``BatchSplit``, ``fit_micro_batch``, ``largest_fitting``,
  ``mixture_probabilities``, ``training_steps``, ``FeatureDataset``,
  ``feature_collator``, ``precision_flags``, ``check_replicas``, ``finished_report``;
  ``train_masked_lm`` (masked-LM training on plain text);
* seed ensembles — ``EnsembleParams``, ``SeedEnsembleTrainer``, ``Trained`` (n models from one encoder
  with different seeds, resumed member by member, kept as a model set); ``check_max_length`` (an input
  length the model cannot read refused from its configuration);
* model artefacts — ``ModelSet``, ``ModelEntry`` (``models.json``; see ``augkit.model_sets``);
* tags — ``repair_iob``.

Names load on first use (PEP 562), so importing ``augkit.tasks`` — to subclass ``TrainingParams`` in a
plugin's parameter schema, say — costs nothing: torch and transformers load with the first name that
needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# name -> the submodule that defines it
_WHERE = {
    **dict.fromkeys(["ModelEntry", "ModelSet"], "augkit.model_sets"),
    **dict.fromkeys(
        ["Feature", "budget_chunks", "collate", "encode", "encode_pairs", "encode_words", "pad_batch"], ".encoding"
    ),
    **dict.fromkeys(["by_language", "check_labels", "evaluate_models", "require_labelled"], ".evaluation"),
    **dict.fromkeys(
        ["evaluate", "predict_answers", "predict_flat", "predict_flat_sharded", "predict_probs"], ".inference"
    ),
    **dict.fromkeys(["score", "span_f1", "squad_f1_em"], ".metrics"),
    **dict.fromkeys(
        ["TASKS", "TaskModel", "load_task_model", "load_tokenizer", "saved_task", "task_of"], ".task_models"
    ),
    **dict.fromkeys(["QAFeature", "best_spans", "encode_qa"], ".qa"),
    "repair_iob": ".tags",
    **dict.fromkeys(
        ["EnsembleParams", "SeedEnsembleTrainer", "Trained", "check_max_length", "usable_positions"], ".ensemble"
    ),
    "train_masked_lm": ".mlm",
    **dict.fromkeys(
        ["BatchSplit", "TrainingParams", "largest_fitting", "mixture_probabilities", "training_steps"], ".settings"
    ),
    **dict.fromkeys(
        [
            "BalancedBatchSampler",
            "DevSelection",
            "FeatureDataset",
            "build_trainer",
            "check_replicas",
            "feature_collator",
            "finished_report",
            "fit_micro_batch",
            "precision_flags",
            "run_training",
            "train_model",
        ],
        ".training",
    ),
}

__all__ = list(_WHERE)


def __getattr__(name: str):
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'augkit.tasks' has no attribute {name!r}")
    value = getattr(importlib.import_module(where, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


if TYPE_CHECKING:  # what type checkers and editors see
    from ..model_sets import ModelEntry, ModelSet
    from .encoding import Feature, budget_chunks, collate, encode, encode_pairs, encode_words, pad_batch
    from .ensemble import EnsembleParams, SeedEnsembleTrainer, Trained, check_max_length, usable_positions
    from .evaluation import by_language, check_labels, evaluate_models, require_labelled
    from .inference import evaluate, predict_answers, predict_flat, predict_flat_sharded, predict_probs
    from .metrics import score, span_f1, squad_f1_em
    from .mlm import train_masked_lm
    from .qa import QAFeature, best_spans, encode_qa
    from .settings import BatchSplit, TrainingParams, largest_fitting, mixture_probabilities, training_steps
    from .tags import repair_iob
    from .task_models import TASKS, TaskModel, load_task_model, load_tokenizer, saved_task, task_of
    from .training import (
        BalancedBatchSampler,
        DevSelection,
        FeatureDataset,
        build_trainer,
        check_replicas,
        feature_collator,
        finished_report,
        fit_micro_batch,
        precision_flags,
        run_training,
        train_model,
    )
