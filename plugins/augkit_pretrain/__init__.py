"""Pretraining: the ``mlm-pretrain`` trainer makes a small masked LM (XLM-R architecture) with its own
sentencepiece tokenizer from the text of its input corpora, or continues pretraining a given one. Later
stages take its model with ``model = "stage:<name>"`` (task models, GEN-LM's vicinity model, X-Mixup)."""

from augkit import hookimpl

from .report import report_sections  # noqa: F401  (the report_sections hook)
from .trainer import PretrainParams, PretrainTrainer, corpus_texts


@hookimpl
def register_trainers(register):
    register(PretrainTrainer)


__all__ = ["PretrainParams", "PretrainTrainer", "corpus_texts"]
