"""The ``mlm-pretrain`` trainer: masked-LM pretraining with transformers' ``Trainer`` and
``DataCollatorForLanguageModeling`` on the text of every input corpus (all languages together).

Without ``model`` it first trains a sentencepiece (unigram) tokenizer on the same text and starts from
random weights of the size its parameters give; with ``model`` it continues that model's pretraining.
A share of the sentences (``held_out``) is kept aside and the stage reports the masked-word accuracy and
loss on it, before and after training, with a fixed mask. Writes ``models/mlm/`` (a Hugging Face folder:
safetensors weights, tokenizer), ``train_report.json`` and ``models.json`` (task ``"mlm"``).
"""

from __future__ import annotations

import dataclasses
import random
import shutil
from typing import Iterable

from augkit import (
    DataError,
    Example,
    InputSpec,
    ModelEntry,
    ModelRef,
    ModelSet,
    Trainer,
    atomic_dir,
    atomic_write_json,
    build_tiny_xlmr,
    load_pretrained,
    param,
    resolve_model,
    tasks,  # its training and inference names load torch on first use
)
from augkit.tasks import TrainingParams, check_max_length


@dataclasses.dataclass
class PretrainParams(TrainingParams):
    model: ModelRef | None = param(
        None,
        help="continue pretraining this masked LM (and keep its tokenizer); "
        "default: a new model and tokenizer trained on the input text",
    )
    vocab_size: int = param(1000, ge=50, help="sentencepiece vocabulary of a new tokenizer")
    hidden_size: int = param(64, ge=8, help="width of a new model")
    num_layers: int = param(2, ge=1, help="transformer layers of a new model")
    num_heads: int = param(2, ge=1, help="attention heads of a new model (hidden_size must divide by it)")
    intermediate_size: int = param(256, ge=8, help="feed-forward width of a new model")
    mlm_probability: float = param(0.15, gt=0, lt=1, help="share of the subwords masked (80/10/10 as in BERT)")
    held_out: float = param(0.05, ge=0, lt=0.5, help="share of the sentences kept aside for the masked-word accuracy")
    learning_rate: float = param(1e-3, gt=0, help="peak learning rate (linear schedule)")
    batch_size: int = param(32, ge=1, le=1 << 20, help="sentences per optimizer step over all processes")
    max_length: int = param(64, ge=8, help="subwords per sentence (longer ones are cut)")
    warmup_ratio: float = param(0.05, ge=0, le=1, help="learning-rate warm-up as a share of the steps")

    def check(self):
        super().check()
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size: {self.hidden_size} does not divide by num_heads = {self.num_heads}")
        check_max_length(self.model, self.max_length)


def corpus_texts(examples: Iterable[Example]) -> Iterable[str]:
    """The sentences of examples of any type (a pair gives both texts, QA its question and context)."""
    for ex in examples:
        if ex.type == "tagging":
            parts = [" ".join(ex.tokens)]
        elif ex.type == "pair":
            parts = [ex.text_a or "", ex.text_b or ""]
        else:
            parts = [ex.question or "", ex.context or ""]
        yield from (p for p in parts if p and p.strip())


def masked_accuracy(
    model, tokenizer, texts: list[str], *, probability: float, max_length: int, seed: int, batch_size: int = 64
) -> dict[str, float]:
    """Masked-word accuracy and mean loss on ``texts`` with a fixed random mask (the same before and after
    training, so the two numbers compare)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    model.eval()
    device = next(model.parameters()).device
    correct = total = 0
    loss_sum = 0.0
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            enc = tokenizer(
                texts[start : start + batch_size],
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
                return_special_tokens_mask=True,
            )
            ids = enc["input_ids"]
            maskable = (enc["special_tokens_mask"] == 0) & (enc["attention_mask"] == 1)
            chosen = maskable & (torch.rand(ids.shape, generator=gen) < probability)
            if not chosen.any():
                continue
            inputs = ids.masked_fill(chosen, tokenizer.mask_token_id)
            labels = ids.masked_fill(~chosen, -100)
            out = model(
                input_ids=inputs.to(device), attention_mask=enc["attention_mask"].to(device), labels=labels.to(device)
            )
            n = int(chosen.sum())
            loss_sum += float(out.loss) * n
            correct += int((out.logits.argmax(-1).cpu()[chosen] == ids[chosen]).sum())
            total += n
    return {
        "masked_accuracy": correct / total if total else 0.0,
        "loss": loss_sum / total if total else 0.0,
        "masked": total,
    }


class PretrainTrainer(Trainer):
    """Masked-LM pretraining (transformers' Trainer) of a new small model or a given one on the input text."""

    name = "mlm-pretrain"
    Params = PretrainParams
    params: PretrainParams
    example_types = ("tagging", "pair", "qa")
    inputs = {"corpus": InputSpec("corpus", many=True, help="text of every language to pretrain on (any example type)")}

    def estimate(self, est):
        """``augkit plan``: masked-LM training on every sentence of the inputs (a new model of the size the
        parameters give, or ``model``), ``held_out`` kept aside."""
        from augkit.costs import DataSize, Models, ModelShape, StageCost, checkpoint_bytes, training_work

        p = self.params
        shape = (
            est.model(p.model)
            if p.model
            else ModelShape(
                p.num_layers, p.hidden_size, p.num_heads, p.intermediate_size, p.vocab_size, p.max_length + 2
            )
        )
        if shape is None:
            return None
        size = est.size("corpus")
        texts = 2 if size.kind in ("pair", "qa") else 1
        sentences = DataSize(int(size.examples * texts * (1 - p.held_out)), size.words / texts)
        work = training_work("mlm", shape, est.hw, p, sentences)
        return StageCost(
            examples=sentences.examples, work=[work], models=Models(shape, 1), disk_bytes=checkpoint_bytes(shape)
        )

    def run_stage(self, ctx):
        from transformers import AutoModelForMaskedLM
        from transformers.utils import logging as hf_logging

        from augkit.tasks import load_tokenizer

        p = self.params
        hf_logging.disable_progress_bar()  # augkit shows its own progress
        folder = ctx.out_dir / "models" / "mlm"
        done = ctx.out_dir / "train_report.json"
        report = tasks.finished_report(done)
        if report is None:
            corpora = ctx.inputs["corpus"]
            texts = [t for c in corpora for t in corpus_texts(c)]
            languages = sorted({ex.lang for c in corpora for ex in c})
            if len(texts) < 10:
                raise DataError(f"inputs.corpus: {len(texts)} sentences of text; pretraining needs at least 10")
            rng = random.Random(ctx.seed)
            rng.shuffle(texts)
            n_held = int(len(texts) * p.held_out)
            held, train = texts[:n_held], texts[n_held:]
            init = ctx.out_dir / "init"
            if p.model is None:  # a sentencepiece tokenizer on the training text, random weights
                source = str(
                    build_tiny_xlmr(
                        init,
                        train,
                        hidden=p.hidden_size,
                        layers=p.num_layers,
                        heads=p.num_heads,
                        ffn=p.intermediate_size,
                        vocab_size=p.vocab_size,
                        max_positions=p.max_length + 2,
                        seed=ctx.seed,
                    )
                )
            else:
                source = resolve_model(p.model)
            tokenizer = load_tokenizer(source, trust_remote_code=p.trust_remote_code)
            model = load_pretrained(
                AutoModelForMaskedLM,
                source,
                ref=p.model or source,
                what="a masked LM",
                trust_remote_code=p.trust_remote_code,
            ).to(ctx.device)
            check = dict(probability=p.mlm_probability, max_length=p.max_length, seed=ctx.seed)
            before = masked_accuracy(model, tokenizer, held, **check) if held else None
            history: list = []
            report = tasks.train_masked_lm(
                model,
                tokenizer,
                train,
                p,
                mlm_probability=p.mlm_probability,
                seed=ctx.seed,
                ctx=ctx,
                hooks=self.hooks,
                history=history,
                output_dir=ctx.out_dir / "logs" if p.report_to else None,
            )
            after = masked_accuracy(model, tokenizer, held, **check) if held else None
            backend = getattr(tokenizer, "backend_tokenizer", None)
            if backend is not None:  # the padding/truncation of the calls above would be saved as defaults
                backend.no_padding()
                backend.no_truncation()
            with atomic_dir(folder) as tmp:
                model.save_pretrained(str(tmp))
                tokenizer.save_pretrained(str(tmp))
            shutil.rmtree(init, ignore_errors=True)
            report.update(
                {
                    "sentences": len(train),
                    "held_out": len(held),
                    "languages": languages,
                    "vocab_size": len(tokenizer),
                    "parameters": sum(x.numel() for x in model.parameters()),
                    "held_out_before": before,
                    "held_out_after": after,
                    "log": history,
                    "started_from": p.model or "random weights",
                }
            )
            atomic_write_json(done, report)
            ctx.log.info(
                "pretrained a masked LM on %d sentences (%s): masked-word accuracy %s",
                len(train),
                ", ".join(languages),
                f"{after['masked_accuracy']:.3f}" if after else "-",
            )
        scores = (
            {"masked_accuracy": report["held_out_after"]["masked_accuracy"]} if report.get("held_out_after") else {}
        )
        ModelSet(
            [ModelEntry("mlm", str(folder), seed=ctx.seed, scores=scores)],
            task="mlm",
            selected="mlm",
            selection="the only model",
        ).write(ctx.out_dir)
        stats = {"sentences": report["sentences"], "steps": report["steps"], "vocab_size": report["vocab_size"]}
        for when in ("before", "after"):
            if report.get(f"held_out_{when}"):
                stats[f"masked_accuracy_{when}"] = round(report[f"held_out_{when}"]["masked_accuracy"], 4)
        return stats
