"""Training task models with transformers' ``Trainer`` (so ``torchrun``/``accelerate launch`` give
data parallelism): the one place where augkit's trainers get their training settings, precision and
device handling, trainer hooks, dev-based model selection, progress, loss logging and the replica check.

* ``TrainingParams``: the training settings every trainer stage shares (a ``Params`` schema).
* ``build_trainer``: a ``transformers.Trainer`` for any model and loss (X-Mixup brings its own loss),
  with the stage's hooks (extra loss terms and callbacks), precision and device, a progress display
  and loss logging (``run.log``, the report, and any ``report_to`` target).
* ``DevSelection``: keeps the weights with the best dev score (the starting model a candidate).
* ``run_training``: trains, checks that data-parallel replicas agree, restores the selected weights.
* ``train_model``: all of the above for a task model on a mixture of datasets with balanced sampling
  (f_i = n_i/Σn, p_i = f_i^α/Σ f_j^α, one dataset per batch).
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import math
import random
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import torch

from ..data import Example
from ..errors import RunError
from .encoding import collate, encode
from .settings import (
    BatchSplit,
    TrainingParams,
    largest_fitting,
    mixture_probabilities,  # noqa: F401 (re-exported)
    training_steps,
)

if TYPE_CHECKING:
    from .task_models import TaskModel


class BalancedBatchSampler(torch.utils.data.Sampler):
    """This process's micro-batches (lists of indices into the concatenation of ``sizes``-long datasets)
    for ``n_steps`` optimizer steps.

    Each step draws ``batch_size`` examples (the global batch) from one dataset, chosen by the balanced
    multinomial, and cuts them into ``world_size × grad_accum`` near-equal pieces; process ``rank`` takes
    pieces ``rank·grad_accum`` … ``rank·grad_accum + grad_accum − 1`` as its micro-batches. The draws depend
    on the seed only, so every step trains on the same examples however many processes share it and
    however each splits its share (see ``BatchSplit``). ``split()`` sets the process layout after
    construction (``build_trainer`` does, once it knows the micro-batch size)."""

    def __init__(
        self,
        sizes: Sequence[int],
        batch_size: int,
        alpha: float,
        n_steps: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        grad_accum: int = 1,
    ):
        self.sizes, self.batch_size, self.n_steps, self.seed = list(sizes), batch_size, n_steps, seed
        self.split(rank, world_size, grad_accum)
        self.p = mixture_probabilities(self.sizes, alpha)
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(int)

    def split(self, rank: int, world_size: int, grad_accum: int) -> None:
        self.rank, self.world_size, self.grad_accum = rank, world_size, grad_accum

    def __len__(self):
        return self.n_steps * self.grad_accum

    def __iter__(self):
        first = self.rank * self.grad_accum
        for batch in self.step_batches():
            pieces = np.array_split(np.asarray(batch), self.world_size * self.grad_accum)
            for micro in pieces[first : first + self.grad_accum]:
                yield micro.tolist()

    def step_batches(self):
        """Every optimizer step's whole batch (all processes' examples), in order."""
        rng = random.Random(self.seed)
        nprng = np.random.default_rng(self.seed)
        pools = [[] for _ in self.sizes]
        pieces = self.world_size * self.grad_accum
        for _ in range(self.n_steps):
            d = int(nprng.choice(len(self.sizes), p=self.p))
            # no example twice in a step, unless the dataset is smaller than the step's pieces
            want = max(min(self.batch_size, self.sizes[d]), pieces)
            batch = []
            while len(batch) < want:
                if not pools[d]:
                    pools[d] = list(range(self.sizes[d]))
                    rng.shuffle(pools[d])
                batch.append(int(self.offsets[d]) + pools[d].pop())
            yield batch


class FeatureDataset(torch.utils.data.Dataset):
    """A list of encoded features as a torch Dataset (the Trainer's ``train_dataset``)."""

    def __init__(self, features: Sequence[Any]):
        self.features = features

    def __len__(self):
        return len(self.features)

    def __getitem__(self, i):
        return self.features[i]


def feature_collator(pad_id: int) -> Callable[[list], dict]:
    """The Trainer's ``data_collator`` for features with training targets."""
    return functools.partial(collate, pad_id=pad_id, with_labels=True)


def precision_flags(precision: str, device: str) -> dict[str, Any]:
    """``bf16``/``fp16`` for TrainingArguments from ``run.precision``: "auto" is bf16 on a GPU that has it
    (fp16 on one that does not) and fp32 on CPU; "bf16" also works on CPU (autocast); "fp16" needs CUDA."""
    cuda = str(device).startswith("cuda")
    if precision == "auto":
        if not cuda:
            return {"bf16": False, "fp16": False}
        bf16 = torch.cuda.is_bf16_supported()
        return {"bf16": bf16, "fp16": not bf16}
    if precision == "fp16" and not cuda:
        raise RunError('run.precision = "fp16" needs a CUDA device; use "bf16" or "fp32" on CPU')
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


@functools.lru_cache(maxsize=None)
def _trainer_class():
    from transformers import Trainer

    class AugkitTrainer(Trainer):
        """transformers' Trainer plus augkit's trainer hooks, an optional batch sampler, an optional
        loss function, and the loss terms logged beside the loss."""

        def __init__(self, *args, augkit_hooks=(), batch_sampler=None, loss_fn=None, **kwargs):
            super().__init__(*args, **kwargs)
            self.augkit_hooks = list(augkit_hooks)
            self.augkit_batch_sampler = batch_sampler
            self.augkit_loss_fn = loss_fn
            self._terms: dict[str, list[float]] = {}
            self._step_items: float | None = None
            # augkit normalises each micro-batch's loss by the whole optimizer step itself (compute_loss),
            # so the Trainer must not divide by the accumulation steps again. Its own rule for that changed
            # between versions; a compute_loss_func set (never called: compute_loss is augkit's) reads
            # "already scaled" in all of them, and loss_is_scaled_for_ga says it where it exists.
            self.compute_loss_func = _already_scaled
            self.loss_is_scaled_for_ga = True

        def get_batch_samples(self, epoch_iterator, num_batches, *args, **kwargs):
            batches, n_items = super().get_batch_samples(epoch_iterator, num_batches, *args, **kwargs)
            total = float(sum(_items(b) for b in batches))
            if self.args.world_size > 1:  # the step's items on every process
                import torch.distributed as dist

                t = torch.tensor(
                    [total], dtype=torch.float64, device=self.args.device if dist.get_backend() == "nccl" else "cpu"
                )
                dist.all_reduce(t)
                total = float(t.item())
            self._step_items = total
            return batches, n_items

        def get_train_dataloader(self):
            if self.augkit_batch_sampler is None:  # a Trainer built by hand, not by build_trainer
                return super().get_train_dataloader()
            # the sampler shards its batches across processes itself (accelerate's re-sharding would
            # assume equal-size batches); the Trainer moves each batch to the device
            return torch.utils.data.DataLoader(
                self.train_dataset,
                batch_sampler=self.augkit_batch_sampler,
                collate_fn=self.data_collator,
                num_workers=0,
            )

        def floating_point_ops(self, inputs):
            return 0  # augkit does not report FLOs; the default walks every parameter on every step

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.get("labels")
            if self.augkit_loss_fn is not None:
                loss, outputs, terms = self.augkit_loss_fn(model, inputs)
            else:
                outputs = model(**inputs)
                loss, terms = outputs.loss, {}
            for name, value in terms.items():
                self._terms.setdefault(name, []).append(float(value))
            for hook in self.augkit_hooks:
                extra = hook.extra_loss(model=model, inputs=inputs, outputs=outputs, labels=labels)
                if extra is not None:
                    loss = loss + extra
                    self._terms.setdefault(hook.display_name(), []).append(float(extra.detach()))
            if model.training and self._step_items:
                # the loss is a mean over this micro-batch's items; weighted by its share of the step's items
                # (× processes, whose gradients DDP averages) the micro-batches sum to the step's mean
                loss = loss * (_items(inputs) * self.args.world_size / self._step_items)
            return (loss, outputs) if return_outputs else loss

        def log(self, logs, start_time=None):
            if "loss" in logs and self._terms:
                logs = {**logs, **{k: sum(v) / len(v) for k, v in self._terms.items()}}
                self._terms = {}
            super().log(logs, start_time)

    return AugkitTrainer


def _already_scaled(*args, **kwargs):  # see AugkitTrainer.__init__
    raise RuntimeError("augkit computes the loss in AugkitTrainer.compute_loss")


def _items(batch) -> int:
    """What a micro-batch's loss is a mean over: its labelled positions (tokens for tagging and masked-LM,
    examples for classification), else its examples (QA, X-Mixup's items)."""
    labels = batch.get("labels") if isinstance(batch, dict) else None
    if torch.is_tensor(labels):
        return int(labels.ne(-100).sum())
    for value in batch.values() if isinstance(batch, dict) else []:
        if torch.is_tensor(value) and value.dim() >= 1:
            return int(value.shape[0])
        if isinstance(value, dict):
            return _items(value)
    return 1


def _training_log_callback(name: str, log, bar, history: list):
    from transformers import TrainerCallback

    class TrainingLog(TrainerCallback):
        """Loss (and loss terms) into the history, run.log and the progress display."""

        def on_log(self, args, state, control, logs=None, **kw):
            if not logs or "loss" not in logs:
                return
            entry = {
                "step": state.global_step,
                **{k: float(v) for k, v in logs.items() if isinstance(v, (int, float)) and k != "epoch"},
            }
            history.append(entry)
            if state.is_world_process_zero:
                terms = ", ".join(f"{k} {v:.4g}" for k, v in entry.items() if k != "step")
                log.info("train %s step %d/%d: %s", name, state.global_step, state.max_steps, terms)
            if bar is not None:
                bar.note = f"loss {entry['loss']:.4f}"

        def on_step_end(self, args, state, control, **kw):
            if bar is not None:
                bar.advance(1)

    return TrainingLog()


def build_trainer(
    model,
    params: TrainingParams,
    *,
    train_dataset,
    data_collator,
    steps: int,
    seed: int,
    name: str = "model",
    ctx=None,
    hooks: Sequence[Any] = (),
    loss_fn=None,
    batch_sampler=None,
    callbacks: Sequence[Any] = (),
    output_dir: str | Path | None = None,
    history: list | None = None,
):
    """A ``transformers.Trainer`` for ``model`` under augkit's conventions.

    ``params`` gives the optimisation settings; ``ctx`` (a StageContext) the device, precision, log and
    progress display (without it: CPU or the model's device, "auto" precision, no display). ``hooks``
    are the stage's TrainerHooks: their ``extra_loss`` is added to the loss and logged under their name,
    their ``callbacks()`` are attached. ``loss_fn(model, inputs) -> (loss, outputs, terms)`` replaces
    the model's own loss (``terms``: named floats logged beside it). Logged losses go to ``history``.
    ``output_dir``: where ``report_to`` targets write (TensorBoard event files); nothing else is saved
    there. Returns the Trainer; train it with ``run_training``.

    Batches: ``params.batch_size`` examples per optimizer step over all processes, split by ``BatchSplit``
    into this process's micro-batches of at most ``params.micro_batch_size`` ("auto": see
    ``fit_micro_batch``). ``batch_sampler`` (a ``BalancedBatchSampler``, or anything with its ``split``)
    chooses each step's examples; without one, every step takes the next ``batch_size`` examples of a
    seeded shuffle of ``train_dataset``. ``trainer.augkit_split`` is the split used."""
    import logging

    from transformers import TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    from .. import distributed

    device = ctx.device if ctx is not None else str(next(model.parameters()).device)
    precision = ctx.precision if ctx is not None else "auto"
    distributed.ensure_process_group(device)
    cuda = str(device).startswith("cuda")
    if cuda and ":" in str(device) and distributed.world_size() == 1:
        torch.cuda.set_device(torch.device(device))  # the Trainer trains on the current CUDA device
    log = ctx.log if ctx is not None else logging.getLogger("augkit.train")
    world = distributed.world_size()
    auto = params.micro_batch_size == "auto"
    split = BatchSplit.of(params.batch_size, params.batch_size if auto else int(params.micro_batch_size), world)
    if batch_sampler is None:
        batch_sampler = BalancedBatchSampler([len(train_dataset)], params.batch_size, 1.0, steps, seed)
    batch_sampler.split(distributed.rank(), world, split.accumulation)
    report_to = [r for r in params.report_to if r != "none"]
    scratch = None if output_dir is not None else tempfile.TemporaryDirectory(prefix="augkit-train-")
    args = TrainingArguments(
        output_dir=str(output_dir if scratch is None else scratch.name),
        max_steps=steps,
        learning_rate=params.learning_rate,
        per_device_train_batch_size=split.micro_batch,
        gradient_accumulation_steps=split.accumulation,
        warmup_steps=params.warmup_steps or int(params.warmup_ratio * steps),
        weight_decay=params.weight_decay,
        max_grad_norm=params.max_grad_norm,
        lr_scheduler_type=params.lr_scheduler_type,
        seed=seed % (2**31),
        data_seed=seed % (2**31),
        report_to=report_to,
        run_name=name,
        save_strategy="no",
        eval_strategy="no",
        logging_strategy="steps",
        logging_steps=params.logging_steps or max(1, steps // 20),
        disable_tqdm=True,
        use_cpu=not cuda,
        dataloader_num_workers=0,
        **precision_flags(precision, device),
        **params.trainer_args,
    )
    history = history if history is not None else []
    bar = (
        ctx.progress.bar(f"train {name}", steps, "steps")
        if ctx is not None and ctx.progress is not None and distributed.is_main()
        else None
    )
    trainer = _trainer_class()(
        model=model,
        args=args,
        train_dataset=train_dataset,
        data_collator=data_collator,
        callbacks=[
            _training_log_callback(name, log, bar, history),
            *callbacks,
            *(cb for hook in hooks for cb in hook.callbacks()),
        ],
        augkit_hooks=hooks,
        batch_sampler=batch_sampler,
        loss_fn=loss_fn,
    )
    trainer.remove_callback(PrinterCallback)  # losses go to run.log through augkit's own callback
    trainer.augkit_scratch = scratch  # removed by run_training
    if auto and cuda:
        micro = fit_micro_batch(trainer, split.micro_batch)
        split = BatchSplit.of(params.batch_size, micro, world)
        batch_sampler.split(distributed.rank(), world, split.accumulation)
        args.per_device_train_batch_size, args.gradient_accumulation_steps = split.micro_batch, split.accumulation
    trainer.augkit_split = split
    if split.accumulation > 1 or world > 1:
        log.info(
            "train %s: batch %d = %d process(es) × %d pass(es) of ≤ %d examples",
            name,
            split.batch_size,
            split.processes,
            split.accumulation,
            split.micro_batch,
        )
    trainer.augkit_progress_bar = bar
    return trainer


def _feature_size(feature: Any) -> int:
    """How big one training item is (summed lengths of the sequences it holds): what the memory probe
    sorts by to find the longest items."""
    if torch.is_tensor(feature) or isinstance(feature, np.ndarray):
        return int(feature.shape[0]) if feature.ndim else 0
    if isinstance(feature, dict):
        return sum(_feature_size(v) for v in feature.values())
    if dataclasses.is_dataclass(feature):
        return sum(_feature_size(getattr(feature, f.name)) for f in dataclasses.fields(feature))
    if isinstance(feature, (list, tuple)):
        if feature and all(isinstance(v, (int, float)) for v in feature[:8]):
            return len(feature)
        return sum(_feature_size(v) for v in feature)
    return 0


def longest_items(dataset, sample: int = 4096) -> list[int]:
    """Indices of ``dataset``'s items, longest first (of a random ``sample`` of them in a large dataset)."""
    indices = range(len(dataset)) if len(dataset) <= sample else random.Random(0).sample(range(len(dataset)), sample)
    return sorted(indices, key=lambda i: (-_feature_size(dataset[i]), i))


def fit_micro_batch(trainer, share: int, *, headroom: float = 0.92) -> int:
    """``micro_batch_size = "auto"`` on a GPU: the largest micro-batch (``share``, then halves) whose
    forward and backward pass over the longest training items, with room kept for AdamW's two moments
    (and DDP's gradient buckets), peaks under ``headroom`` of the device's memory. Tried on every process; all use the
    smallest answer.
    RunError if not even one item fits."""
    from .. import distributed

    model, device = trainer.model, trainer.args.device
    dataset = trainer.train_dataset
    longest = longest_items(dataset)
    total = torch.cuda.get_device_properties(device).total_memory
    trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
    # AdamW's exp_avg and exp_avg_sq in fp32, and with several processes DDP's gradient buckets (fp32)
    reserved = trained * (8 + (4 if distributed.world_size() > 1 else 0))

    def fits(m: int) -> bool:
        reserve = loss = None
        try:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
            reserve = torch.empty(reserved, dtype=torch.uint8, device=device)
            inputs = trainer._prepare_inputs(trainer.data_collator([dataset[i] for i in longest[:m]]))
            model.train()
            with trainer.accelerator.autocast():
                loss = trainer.compute_loss(model, inputs)
            loss.backward()
            return torch.cuda.max_memory_allocated(device) <= headroom * total
        except torch.cuda.OutOfMemoryError:
            return False
        finally:
            del reserve, loss
            model.zero_grad(set_to_none=True)
            trainer._terms = {}
            torch.cuda.empty_cache()

    micro = min(distributed.all_gather(largest_fitting(min(share, len(longest)), fits)))
    if micro == 0:
        raise RunError(
            f"one training example of the longest length does not fit on {device} "
            f"({total / 2**30:.0f} GiB) with the model and its optimizer state; lower max_length, "
            "use a GPU with more memory, or a smaller model"
        )
    return micro


class DevSelection:
    """Model selection on dev: ``score_fn(model) -> float`` runs every ``eval_steps`` steps and at the
    end of training (on rank 0, shared with every process so all keep the same weights); the best
    weights are kept in memory. With ``start_score`` (or ``start_is_candidate``) the starting model
    competes too. ``restore(model)`` loads the selected weights."""

    def __init__(self, score_fn: Callable[[Any], float], eval_steps: int = 0):
        self.score_fn, self.eval_steps = score_fn, eval_steps
        self.best: float = -math.inf
        self.best_step: int | None = None
        self.weights: dict[str, Any] | None = None
        self.history: list[dict] = []

    def consider(self, model, step: int, score: float | None = None) -> float:
        from .. import distributed

        if score is None:
            score = distributed.broadcast(self.score_fn(model) if distributed.is_main() else 0.0)
        self.history.append({"step": step, "dev": score})
        if score > self.best:
            self.best, self.best_step = score, step
            self.weights = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        model.train()
        return score

    def callback(self):
        from transformers import TrainerCallback

        selection = self

        class Select(TrainerCallback):
            def on_step_end(self, args, st, control, model=None, **kw):
                if (
                    selection.eval_steps
                    and st.global_step % selection.eval_steps == 0
                    and st.global_step < st.max_steps
                ):
                    selection.consider(model, st.global_step)

            def on_train_end(self, args, st, control, model=None, **kw):
                selection.consider(model, st.global_step)

        return Select()

    def restore(self, model) -> None:
        if self.weights is not None:
            model.load_state_dict(self.weights)


def run_training(trainer, selection: DevSelection | None = None) -> dict:
    """Train; check that data-parallel replicas ended identical; restore the selected weights. Returns
    ``{"steps", "processes", "best_dev", "best_step", "kept_start_model", "history"}`` (dev entries)."""
    from .. import distributed

    if selection is not None:
        trainer.add_callback(selection.callback())
    gc.collect()  # an earlier training's leftovers (reference cycles through its Trainer) go before this one starts
    # the Trainer calls gc.collect(); freezing what exists now keeps that from scanning every encoded
    # feature on each call
    gc.freeze()
    try:
        trainer.train()
    finally:
        gc.unfreeze()
        _release_training_state(trainer)
        bar = getattr(trainer, "augkit_progress_bar", None)
        if bar is not None:
            bar.close()
        scratch = getattr(trainer, "augkit_scratch", None)
        if scratch is not None:
            scratch.cleanup()
    model = trainer.model
    report: dict[str, Any] = {"steps": trainer.state.global_step, "processes": distributed.world_size()}
    split = getattr(trainer, "augkit_split", None)
    if split is not None:
        report["batch"] = split.to_dict()
    if distributed.world_size() > 1:
        check_replicas(model)
    if selection is not None:
        selection.restore(model)
        selection.weights = None  # the kept copy (a model's size, in host memory) is in the model now
        report.update(
            {
                "best_dev": selection.best,
                "best_step": selection.best_step,
                "kept_start_model": selection.best_step == 0,
                "history": selection.history,
            }
        )
    trainer.model = trainer.model_wrapped = None  # whatever still holds the Trainer no longer holds the model
    return report


def _release_training_state(trainer) -> None:
    """Free what only training needed — the optimizer's state (twice the weights for AdamW), the scheduler,
    the data-parallel wrapper and its gradient buckets, accelerate's references — when training ends, not
    whenever the garbage collector reaches the trainer's reference cycles: a stage's next model trains in
    that memory (on a GPU, the difference between fitting and not). The model itself is kept."""
    trainer.accelerator.free_memory()
    trainer.optimizer = trainer.lr_scheduler = None
    trainer.callback_handler.optimizer = trainer.callback_handler.lr_scheduler = None
    trainer.model_wrapped = trainer.model
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def finished_report(path: str | Path) -> dict | None:
    """The report a training wrote at ``path`` when it finished (a resumed stage skips that training),
    read on rank 0 and shared with every process; None if it has not finished."""
    import json

    from .. import distributed

    path = Path(path)
    return distributed.broadcast(json.loads(path.read_text()) if distributed.is_main() and path.exists() else None)


def check_replicas(model) -> None:
    """Data-parallel replicas end training bit-identical; anything else means the processes did not
    train together (a launch or backend problem), which must not pass silently (RunError)."""
    from .. import distributed

    with torch.no_grad():
        checksum = float(sum(p.detach().double().sum().item() for p in model.parameters()))
    sums = distributed.all_gather(checksum)
    if len(set(sums)) > 1:
        raise RunError(
            f"the {len(sums)} processes ended training with different weights (checksums {sums}); "
            "they did not train data-parallel"
        )


def train_model(
    tm: TaskModel,
    datasets: Sequence[Sequence[Example] | Sequence[Any]],
    params: TrainingParams,
    *,
    seed: int,
    alpha: float = 0.7,
    dev: Sequence[Example] | None = None,
    dev_features=None,
    start_is_candidate: bool = False,
    start_score: float | None = None,
    hooks: Sequence[Any] = (),
    ctx=None,
    name: str = "model",
    stats: dict | None = None,
) -> dict:
    """Train ``tm`` in place on the mixture ``datasets`` (each a list of Examples, or of features
    already encoded with their training targets) with balanced sampling; return a report.

    Empty datasets are left out of the mixture; if all are empty the model is left as it is. With
    ``dev``, the weights with the best dev score are restored at the end (``dev_features``: its
    encoding, if kept; ``start_score``: the starting model's dev score, if known). Under ``torchrun``/
    ``accelerate launch`` every process calls this with the same arguments: the Trainer trains
    data-parallel (``batch_size`` examples per optimizer step over all processes, the same steps over the
    same examples as one process), dev scores come from rank 0."""
    from .. import distributed
    from .inference import evaluate

    distributed.ensure_process_group(ctx.device if ctx is not None else "cpu")
    label_index = tm.label_index
    feats = [
        list(d)
        if d and not isinstance(d[0], Example)
        else _encode_targets(list(d), tm, params.max_length, label_index, stats)
        for d in datasets
    ]
    feats = [[f for f in fs if f.has_target] for fs in feats]
    sizes = [len(f) for f in feats]
    report: dict[str, Any] = {"mixture_sizes": sizes, "steps": 0, "history": [], "kept_start_model": False, "log": []}
    selection = None
    if dev is not None:
        if dev_features is None and tm.task != "qa":
            dev_features = encode(list(dev), tm.tokenizer, tm.task, params.max_length, None)
        selection = DevSelection(
            lambda m: evaluate(tm, dev, max_length=params.max_length, features=dev_features), params.eval_steps
        )
        if start_is_candidate:
            selection.consider(tm.model, 0, start_score)
    if sum(sizes) == 0:
        report.update(
            {
                "skipped": "no training examples in the mixture",
                "kept_start_model": True,
                "history": selection.history if selection else [],
                "best_dev": selection.best if selection else None,
            }
        )
        return report
    steps = training_steps(params, sum(sizes))
    sampler = BalancedBatchSampler(sizes, params.batch_size, alpha, steps, seed)
    output_dir = Path(ctx.out_dir) / "logs" / name if ctx is not None and params.report_to else None
    trainer = build_trainer(
        tm.model,
        params,
        train_dataset=FeatureDataset([f for fs in feats for f in fs]),
        data_collator=feature_collator(tm.tokenizer.pad_token_id),
        steps=steps,
        seed=seed,
        name=name,
        ctx=ctx,
        hooks=hooks,
        batch_sampler=sampler,
        output_dir=output_dir,
        history=report["log"],
    )
    report.update(run_training(trainer, selection))
    return report


def _encode_targets(examples, tm: TaskModel, max_length: int, label_index, stats):
    if tm.task == "qa":
        from .qa import encode_qa

        return encode_qa(examples, tm.tokenizer, max_length, with_answers=True, stats=stats)
    return encode(examples, tm.tokenizer, tm.task, max_length, label_index, stats)
