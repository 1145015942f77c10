"""Masked-LM training on plain text, on the shared Trainer path (``build_trainer`` + ``run_training``) with
transformers' ``DataCollatorForLanguageModeling`` (BERT's 80/10/10 masking). One implementation for the
``mlm-pretrain`` trainer and for the core's built-in ``augkit:tiny-xlmr-trained``."""

from __future__ import annotations

from typing import Any, Sequence

from .settings import TrainingParams, training_steps
from .training import build_trainer, run_training


def train_masked_lm(
    model,
    tokenizer,
    texts: Sequence[str],
    params: TrainingParams,
    *,
    mlm_probability: float,
    seed: int,
    name: str = "mlm",
    ctx=None,
    hooks: Sequence[Any] = (),
    history: list | None = None,
    output_dir=None,
) -> dict:
    """Train ``model`` (a masked LM) in place on ``texts``: each sentence cut to ``params.max_length``
    subwords, ``mlm_probability`` of its subwords masked afresh every time it is drawn, for
    ``training_steps(params, len(texts))`` optimizer steps of ``params.batch_size`` sentences. Returns
    ``run_training``'s report. The tokenizer is left without the padding and truncation the encoding set
    on its backend (they would be saved with it as defaults)."""
    from transformers import DataCollatorForLanguageModeling

    features = [
        {"input_ids": ids} for ids in tokenizer(list(texts), truncation=True, max_length=params.max_length)["input_ids"]
    ]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm=True, mlm_probability=mlm_probability)
    trainer = build_trainer(
        model,
        params,
        train_dataset=features,
        data_collator=collator,
        steps=training_steps(params, len(features)),
        seed=seed,
        name=name,
        ctx=ctx,
        hooks=hooks,
        history=history,
        output_dir=output_dir,
    )
    report = run_training(trainer)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        backend.no_padding()
        backend.no_truncation()
    return report
