"""Training settings and batch arithmetic, without torch: ``TrainingParams`` (the settings every trainer
stage shares), ``training_steps``, ``BatchSplit``, ``largest_fitting`` and ``mixture_probabilities``.
A plugin that registers a trainer imports its parameter schema from here (through ``augkit.tasks``)
without loading torch; ``augkit.tasks.training`` does the training itself."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, ClassVar, Literal, Sequence

import numpy as np

from ..errors import RunError, did_you_mean
from ..params import Params, param


@dataclasses.dataclass
class TrainingParams(Params):
    """Training settings shared by every trainer stage (a trainer's own ``Params`` subclass this)."""

    learning_rate: float = param(3e-5, help="peak learning rate", gt=0)
    batch_size: int = param(
        4,
        help="examples per optimizer step over all processes (the papers' batch size); the same on 1 or N GPUs",
        ge=1,
        le=1 << 20,
    )
    micro_batch_size: int | Literal["auto"] = param(
        "auto",
        help="examples per forward pass on one device; accumulation makes up the rest of batch_size. "
        '"auto": the whole per-device share on CPU; on a GPU the largest that fits its memory (tried on the '
        "longest examples before training)",
        ge=1,
        le=1 << 20,
    )
    max_steps: int = param(0, help="optimizer steps per training (0: from train_epochs)", ge=0, le=10**9)
    train_epochs: float = param(1.0, help="passes over the training data when max_steps is 0", gt=0, le=10**4)
    warmup_steps: int = param(0, help="learning-rate warm-up steps", ge=0)
    warmup_ratio: float = param(
        0.0, help="learning-rate warm-up as a share of the steps (if warmup_steps is 0)", ge=0, le=1
    )
    weight_decay: float = param(0.0, ge=0)
    max_length: int = param(128, help="model input length in subwords (longer sentences are split into windows)", ge=8)
    eval_steps: int = param(0, help="evaluate on dev every this many steps (0: only at the end)", ge=0)
    max_grad_norm: float = param(1.0, gt=0)
    logging_steps: int = param(
        0, help="log the training loss every this many steps (0: about 20 times per training)", ge=0
    )
    report_to: list[str] = param(
        [], help='where transformers also sends the logs, e.g. ["tensorboard"] (default: run.log and the report only)'
    )
    trust_remote_code: bool = param(False, help="allow the model's own code to run (only if you trust it)")
    lr_scheduler_type: str = param(
        "linear",
        help="learning-rate schedule after warm-up, a transformers "
        "SchedulerType: linear, cosine, constant, polynomial, inverse_sqrt, ...",
    )
    trainer_args: dict[str, Any] = param(
        {},
        help="other transformers.TrainingArguments settings, by their own "
        "names (e.g. adam_beta2, optim, lr_scheduler_kwargs); those augkit "
        "sets from its own parameters are refused, naming the parameter",
    )

    retired: ClassVar[dict[str, str]] = {
        "keep_checkpoints": "only co-teaching keeps models it no longer needs (its earlier epochs'); set "
        "keep_checkpoints on the co-teaching stage (other trainers keep just the models they hand on)",
        "grad_accum": "batch_size is now the global batch (examples per optimizer step over all processes) and "
        "augkit works out the accumulation itself: write batch_size = your batch_size × grad_accum, "
        'and micro_batch_size = your batch_size to keep the per-device size (or leave it "auto")',
    }

    def check(self):
        if self.lr_scheduler_type != "linear":  # the library's own list (importing it loads torch)
            from transformers.trainer_utils import SchedulerType

            names = [t.value for t in SchedulerType]
            if self.lr_scheduler_type not in names:
                raise ValueError(
                    f"lr_scheduler_type: {self.lr_scheduler_type!r} is not a transformers "
                    f"schedule{did_you_mean(self.lr_scheduler_type, names)}; expected one of "
                    f"{', '.join(names)}"
                )
            if self.lr_scheduler_type == "reduce_lr_on_plateau":
                raise ValueError(
                    "lr_scheduler_type: reduce_lr_on_plateau steps on the Trainer's own evaluation, "
                    "which augkit does not use (it selects on dev itself); choose another schedule"
                )
        if self.trainer_args:
            check_trainer_args(self.trainer_args)
        if not self.report_to:
            return
        unknown = [r for r in self.report_to if r not in ("none", "all") and r not in _reporting_integrations()]
        if unknown:
            raise ValueError(
                f"report_to: {', '.join(map(repr, unknown))} is not an installed logging integration "
                f"(installed: {', '.join(_reporting_integrations()) or 'none'}); install its package "
                "(e.g. tensorboard) or leave it out"
            )


#: TrainingArguments that augkit sets itself, and where a recipe says what they should be
MANAGED_TRAINER_ARGS = {
    "learning_rate": "learning_rate",
    "max_steps": "max_steps",
    "num_train_epochs": "train_epochs",
    "per_device_train_batch_size": "batch_size and micro_batch_size",
    "gradient_accumulation_steps": "batch_size and micro_batch_size (augkit works out the accumulation)",
    "warmup_steps": "warmup_steps",
    "warmup_ratio": "warmup_ratio",
    "weight_decay": "weight_decay",
    "max_grad_norm": "max_grad_norm",
    "lr_scheduler_type": "lr_scheduler_type",
    "logging_steps": "logging_steps",
    "report_to": "report_to",
    "seed": "the run's seed ([run] seed)",
    "data_seed": "the run's seed ([run] seed)",
    "bf16": "[run] precision",
    "fp16": "[run] precision",
    "use_cpu": "[run] device",
    "no_cuda": "[run] device",
    "output_dir": "the run folder (-o)",
    "run_name": "the stage and model names",
    "save_strategy": "keep_checkpoints (augkit saves the selected models itself)",
    "eval_strategy": "eval_steps (augkit evaluates on dev itself)",
    "logging_strategy": "logging_steps",
    "disable_tqdm": "augkit's own progress display",
    "dataloader_num_workers": "nothing (augkit feeds batches itself)",
}


def check_trainer_args(trainer_args: dict[str, Any]) -> None:
    """``trainer_args`` names only ``transformers.TrainingArguments`` fields augkit leaves to the user, with
    values TrainingArguments accepts (it is built once, on the CPU, to check them)."""
    from transformers import TrainingArguments

    fields = {f.name: f.type for f in dataclasses.fields(TrainingArguments) if f.init}
    simple = {"float": (int, float), "int": (int,), "bool": (bool,), "str": (str,)}
    problems = []
    for key, value in trainer_args.items():
        kind = getattr(fields.get(key), "__name__", fields.get(key))
        if key in MANAGED_TRAINER_ARGS:
            problems.append(f"trainer_args.{key}: augkit sets it; use {MANAGED_TRAINER_ARGS[key]}")
        elif key not in fields:
            problems.append(
                f"trainer_args.{key}: not a transformers.TrainingArguments field{did_you_mean(key, fields)}"
            )
        elif kind in simple and (not isinstance(value, simple[kind]) or (kind != "bool" and isinstance(value, bool))):
            problems.append(f"trainer_args.{key}: expected {kind}, got {value!r}")
    if problems:
        raise ValueError("; ".join(problems))
    import tempfile

    try:
        with tempfile.TemporaryDirectory() as scratch:
            TrainingArguments(output_dir=scratch, use_cpu=True, report_to=[], **trainer_args)
    except (TypeError, ValueError) as e:
        raise ValueError(f"trainer_args: transformers refuses them: {e}") from None


def _reporting_integrations() -> list[str]:
    from transformers.integrations import get_available_reporting_integrations

    return list(get_available_reporting_integrations())


def training_steps(params: TrainingParams, n_examples: int) -> int:
    """Optimizer steps of one training: ``max_steps``, or ``train_epochs`` passes over ``n_examples`` at
    ``batch_size`` examples per step (the global batch: the same count on any number of processes)."""
    return params.max_steps or max(1, math.ceil(params.train_epochs * n_examples / params.batch_size))


@dataclasses.dataclass(frozen=True)
class BatchSplit:
    """How one optimizer step's ``batch_size`` examples are spread: over ``processes`` processes, each
    running ``accumulation`` forward/backward passes of at most ``micro_batch`` examples. The step batch is
    cut into ``processes × accumulation`` near-equal pieces (sizes differ by at most one); the loss weights
    each piece by its share of the step's items, so the split never changes what a step computes."""

    batch_size: int
    processes: int
    micro_batch: int
    accumulation: int

    @classmethod
    def of(cls, batch_size: int, micro_batch: int, processes: int) -> "BatchSplit":
        """The fewest accumulation passes that keep every piece within ``micro_batch`` examples."""
        if batch_size < processes:
            raise RunError(
                f"batch_size = {batch_size} is smaller than the {processes} processes training "
                "together; every process needs at least one example per optimizer step"
            )
        share = -(-batch_size // processes)
        accumulation = -(-share // max(1, min(micro_batch, share)))
        return cls(batch_size, processes, -(-share // accumulation), accumulation)

    @property
    def pieces(self) -> int:
        return self.processes * self.accumulation

    def to_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def largest_fitting(limit: int, fits: Callable[[int], bool]) -> int:
    """The largest micro-batch among ``limit``, ⌈limit/2⌉, ⌈limit/4⌉ … 1 for which ``fits(m)`` holds (each
    halving doubles the accumulation), or 0 if not even one example fits."""
    accumulation = 1
    while True:
        m = -(-limit // accumulation)
        if fits(m):
            return m
        if m == 1:
            return 0
        accumulation *= 2


def mixture_probabilities(sizes: Sequence[int], alpha: float) -> np.ndarray:
    """p_i = f_i^α / Σ_j f_j^α with f_i = n_i / Σ n (empty datasets get 0)."""
    n = np.asarray(sizes, dtype=np.float64)
    if n.sum() == 0:
        return np.zeros_like(n)
    f = n / n.sum()
    w = np.where(f > 0, f**alpha, 0.0)
    return w / w.sum()
