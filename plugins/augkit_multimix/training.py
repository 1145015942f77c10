"""Training one task model with transformers' Trainer (so torchrun/accelerate give multi-GPU for free).

* ``BalancedBatchSampler``: across the datasets of a mixture, f_i = n_i/Σn, p_i = f_i^α/Σ f_j^α, one
  dataset per batch; examples within a dataset are drawn without replacement, reshuffled when used up.
* ``HookedTrainer``: adds every TrainerHook's ``extra_loss`` to the model's loss.
* model selection: the dev score is computed every ``eval_steps`` and at the end; the best weights are
  kept (the starting model competes too when ``start_is_candidate``).
"""
from __future__ import annotations

import dataclasses
import functools
import gc
import math
import random
import tempfile
from typing import Sequence

import numpy as np
import torch

from augkit import Example

from .inference import evaluate
from .tasks import Feature, encode, pad_batch


@dataclasses.dataclass
class TrainSettings:
    learning_rate: float
    batch_size: int
    grad_accum: int = 1
    max_steps: int = 0            # 0: one pass over the mixture (epochs × Σn / (batch × accum))
    epochs: float = 1.0
    warmup_steps: int = 0
    warmup_ratio: float = 0.0
    weight_decay: float = 0.0
    max_length: int = 128
    eval_steps: int = 0           # 0: evaluate only at the end
    alpha: float = 0.7
    max_grad_norm: float = 1.0
    adam_epsilon: float = 1e-8


def mixture_probabilities(sizes: Sequence[int], alpha: float) -> np.ndarray:
    """p_i = f_i^α / Σ_j f_j^α with f_i = n_i / Σ n (empty datasets get 0)."""
    sizes = np.asarray(sizes, dtype=np.float64)
    if sizes.sum() == 0:
        return np.zeros_like(sizes)
    f = sizes / sizes.sum()
    w = np.where(f > 0, f ** alpha, 0.0)
    return w / w.sum()


class BalancedBatchSampler(torch.utils.data.Sampler):
    """Yields ``n_batches`` lists of indices into the concatenation of ``sizes``-long datasets.

    With ``world_size`` processes, one sequence of ``n_batches * world_size`` batches is drawn (the same
    on every process) and process ``rank`` takes every ``world_size``-th batch from ``rank`` on: each
    optimizer step sees ``world_size`` different batches, as data-parallel training expects."""

    def __init__(self, sizes: Sequence[int], batch_size: int, alpha: float, n_batches: int, seed: int,
                 rank: int = 0, world_size: int = 1):
        self.sizes, self.batch_size, self.n_batches, self.seed = list(sizes), batch_size, n_batches, seed
        self.rank, self.world_size = rank, world_size
        self.p = mixture_probabilities(self.sizes, alpha)
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(int)

    def __len__(self):
        return self.n_batches

    def __iter__(self):
        for k, batch in enumerate(self._all_batches()):
            if k % self.world_size == self.rank:
                yield batch

    def _all_batches(self):
        rng = random.Random(self.seed)
        nprng = np.random.default_rng(self.seed)
        pools = [[] for _ in self.sizes]
        for _ in range(self.n_batches * self.world_size):
            d = int(nprng.choice(len(self.sizes), p=self.p))
            batch = []
            while len(batch) < min(self.batch_size, self.sizes[d]):
                if not pools[d]:
                    pools[d] = list(range(self.sizes[d]))
                    rng.shuffle(pools[d])
                batch.append(int(self.offsets[d]) + pools[d].pop())
            yield batch


class _FeatureDataset(torch.utils.data.Dataset):
    def __init__(self, features: list[Feature]):
        self.features = features

    def __len__(self):
        return len(self.features)

    def __getitem__(self, i):
        return self.features[i]


def _collator(pad_id: int):
    def collate(features: list[Feature]):
        ids, mask = pad_batch([f.input_ids for f in features], pad_id)
        if features[0].pair:  # sentence pairs: one class per example
            labels = torch.tensor([int(f.labels[0]) for f in features], dtype=torch.long)
        else:
            labels = torch.from_numpy(pad_batch([f.labels for f in features], -100)[0])
        batch = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask.astype(np.int64)),
                 "labels": labels}
        if features[0].token_type_ids is not None:
            batch["token_type_ids"] = torch.from_numpy(pad_batch([f.token_type_ids for f in features], 0)[0])
        return batch

    return collate


@functools.lru_cache(maxsize=None)
def _make_trainer_class():
    from transformers import Trainer

    class HookedTrainer(Trainer):
        """transformers' Trainer with augkit trainer hooks and the balanced mixture sampler."""

        def __init__(self, *args, augkit_hooks=(), batch_sampler=None, **kwargs):
            super().__init__(*args, **kwargs)
            self.augkit_hooks = list(augkit_hooks)
            self.augkit_batch_sampler = batch_sampler

        def get_train_dataloader(self):
            # the sampler shards its batches across processes itself (accelerate's re-sharding would
            # assume equal-size batches); the Trainer moves each batch to the device
            return torch.utils.data.DataLoader(self.train_dataset, batch_sampler=self.augkit_batch_sampler,
                                               collate_fn=self.data_collator, num_workers=0)

        def floating_point_ops(self, inputs):
            return 0  # augkit does not report FLOs; the default walks every parameter on every step

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.get("labels")
            outputs = model(**inputs)
            loss = outputs.loss
            for hook in self.augkit_hooks:
                extra = hook.extra_loss(model=model, inputs=inputs, outputs=outputs, labels=labels)
                if extra is not None:
                    loss = loss + extra
            return (loss, outputs) if return_outputs else loss

    return HookedTrainer


def _dev_score(model, tokenizer, dev, labels, task, max_length, dev_features) -> float:
    """The dev score, computed on rank 0 and shared, so every process makes the same selection."""
    from augkit import distributed

    score = evaluate(model, tokenizer, dev, labels, task, max_length, features=dev_features) \
        if distributed.is_main() else None
    return distributed.broadcast(score)


def _selection_callback(tokenizer, dev, dev_features, labels, task, max_length, eval_steps, state):
    from transformers import TrainerCallback

    class Select(TrainerCallback):
        def _check(self, model, step):
            score = _dev_score(model, tokenizer, dev, labels, task, max_length, dev_features)
            state["history"].append({"step": step, "dev": score})
            if score > state["best"]:
                state["best"], state["best_step"] = score, step
                state["weights"] = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            model.train()

        def on_step_end(self, args, st, control, model=None, **kw):
            if eval_steps and st.global_step % eval_steps == 0 and st.global_step < st.max_steps:
                self._check(model, st.global_step)

        def on_train_end(self, args, st, control, model=None, **kw):
            self._check(model, st.global_step)

    return Select()


def train_model(model, tokenizer, task: str, labels: list[str], datasets: Sequence[Sequence[Example] | Sequence[Feature]],
                settings: TrainSettings, *, seed: int, dev: Sequence[Example] | None = None,
                start_is_candidate: bool = False, hooks=(), device: str = "cpu", stats: dict | None = None,
                dev_features=None, start_score: float | None = None) -> dict:
    """Train ``model`` in place on the mixture ``datasets``; return a report (steps, dev history, best).

    Empty datasets are left out of the mixture; if all are empty the model is left as it is.
    With ``dev``, the weights with the best dev score are restored at the end (``dev_features``: its
    encoding, when the caller keeps one; ``start_score``: the starting model's dev score, if known).

    Under ``torchrun``/``accelerate launch`` every process calls this with the same arguments: the
    Trainer trains data-parallel (``batch_size`` per process), dev scores come from rank 0.
    """
    from transformers import TrainingArguments

    from augkit import distributed

    distributed.ensure_process_group(device)

    label_index = {l: i for i, l in enumerate(labels)}
    # a dataset is a list of Examples, or of Features already encoded with their training targets
    feats = [list(d) if d and isinstance(d[0], Feature) else
             encode(list(d), tokenizer, task, settings.max_length, label_index, stats) for d in datasets]
    feats = [[f for f in fs if f.labels is not None] for fs in feats]
    sizes = [len(f) for f in feats]
    report = {"mixture_sizes": sizes, "steps": 0, "history": [], "kept_start_model": False}
    state = {"best": -math.inf, "best_step": None, "weights": None, "history": report["history"]}
    if dev is not None and dev_features is None:
        dev_features = encode(list(dev), tokenizer, task, settings.max_length, None)
    if dev is not None and start_is_candidate:
        state["best"] = start_score if start_score is not None else \
            _dev_score(model, tokenizer, dev, labels, task, settings.max_length, dev_features)
        state["best_step"] = 0
        state["weights"] = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        report["history"].append({"step": 0, "dev": state["best"]})
    if sum(sizes) == 0:
        report["skipped"] = "no training examples in the mixture"
        report["kept_start_model"] = True
        report["best_dev"] = None if dev is None else state["best"]
        return report
    per_step = settings.batch_size * settings.grad_accum
    steps = settings.max_steps or max(1, math.ceil(settings.epochs * sum(sizes) / per_step))
    sampler = BalancedBatchSampler(sizes, settings.batch_size, settings.alpha, steps * settings.grad_accum, seed,
                                   rank=distributed.rank(), world_size=distributed.world_size())
    all_features = [f for fs in feats for f in fs]
    use_cuda = str(device).startswith("cuda")
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(
            output_dir=tmp, max_steps=steps, learning_rate=settings.learning_rate,
            per_device_train_batch_size=settings.batch_size, gradient_accumulation_steps=settings.grad_accum,
            warmup_steps=settings.warmup_steps or int(settings.warmup_ratio * steps), weight_decay=settings.weight_decay,
            max_grad_norm=settings.max_grad_norm, adam_epsilon=settings.adam_epsilon, lr_scheduler_type="linear",
            seed=seed % (2**31), data_seed=seed % (2**31), report_to=[], save_strategy="no", eval_strategy="no",
            logging_strategy="no", disable_tqdm=True, use_cpu=not use_cuda, bf16=use_cuda and torch.cuda.is_bf16_supported(),
            dataloader_num_workers=0)
        callbacks = [_selection_callback(tokenizer, dev, dev_features, labels, task, settings.max_length,
                                         settings.eval_steps, state)] \
            if dev is not None else []
        trainer = _make_trainer_class()(model=model, args=args, train_dataset=_FeatureDataset(all_features),
                                        data_collator=_collator(tokenizer.pad_token_id), callbacks=callbacks,
                                        augkit_hooks=hooks, batch_sampler=sampler)
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)  # augkit reports through its own stage stats
        # the Trainer calls gc.collect(); freezing what exists now keeps that from scanning every
        # encoded feature on each call
        gc.freeze()
        try:
            trainer.train()
        finally:
            gc.unfreeze()
    report["steps"] = steps
    report["processes"] = distributed.world_size()
    if distributed.world_size() > 1:
        _check_replicas(model)
    if dev is not None:
        model.load_state_dict(state["weights"])
        report["best_dev"], report["best_step"] = state["best"], state["best_step"]
        report["kept_start_model"] = state["best_step"] == 0
    return report


def _check_replicas(model) -> None:
    """Data-parallel replicas end training bit-identical; anything else means the processes did not
    train together (a launch or backend problem), which must not pass silently."""
    from augkit import RunError, distributed

    with torch.no_grad():
        checksum = float(sum(p.detach().double().sum().item() for p in model.parameters()))
    sums = distributed.all_gather(checksum)
    if len(set(sums)) > 1:
        raise RunError(f"the {len(sums)} processes ended training with different weights (checksums {sums}); "
                       "they did not train data-parallel")
