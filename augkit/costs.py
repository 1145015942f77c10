"""What a stage will cost before it runs: FLOPs, memory per device, time, disk — the arithmetic behind
``augkit plan`` and the estimates components give (``Component.estimate``).

Transformer encoders only (BERT, RoBERTa, XLM-R shapes). The memory of training is weights, gradients
and AdamW's two moments (fp32, as the Trainer keeps them under mixed precision), DDP's gradient buckets
with several processes, and the activations autograd saves for the backward pass. The activation
coefficients per token and layer were fitted on this code's models (fp32, training mode, dropout on:
``tests/test_costs.py`` re-measures them): about 45·h + 9.7·f bytes, plus 12·a·s bytes for attention
scores (softmax output, dropout mask and output) where the attention matrix is materialised (CPU; on a GPU
PyTorch's fused attention keeps no s × s matrix). In bf16/fp16 the saved tensors are half the size.
FLOPs count the matrix multiplications: 2 per parameter-token of the layers plus 4·s·h per token and
layer for attention; a training step is three forwards' worth (backward = 2 forwards).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

#: per-token, per-layer bytes autograd saves in fp32 (fitted; see the module docstring)
ACT_H, ACT_F, ACT_ATTENTION = 45.0, 9.7, 12.2
#: per-token bytes outside the layers (embeddings, their layer norm and dropout), per unit of hidden size
ACT_EMBED = 16.5


@dataclasses.dataclass(frozen=True)
class GPU:
    name: str
    bf16_tflops: float  # dense peak, no sparsity
    memory_gib: float
    bandwidth_tbs: float  # memory bandwidth, TB/s
    bf16: bool = True  # False: fp16 tensor cores only (V100, T4)


#: common GPUs: dense bf16 (fp16 where there is no bf16) tensor-core peak, memory and memory bandwidth, from
#: the vendors' data sheets
GPUS = {
    g.name: g
    for g in (
        GPU("h100", 989.0, 80, 3.35),
        GPU("h100-pcie", 756.0, 80, 2.0),
        GPU("h200", 989.0, 141, 4.8),
        GPU("a100", 312.0, 80, 2.0),
        GPU("a100-40gb", 312.0, 40, 1.555),
        GPU("l40s", 362.0, 48, 0.864),
        GPU("l4", 121.0, 24, 0.3),
        GPU("a10", 125.0, 24, 0.6),
        GPU("v100", 125.0, 32, 0.9, bf16=False),
        GPU("t4", 65.0, 16, 0.32, bf16=False),
    )
}
DEFAULT_UTILISATION = 0.40
#: what a step costs besides its FLOPs (not yet measured on a GPU; benchmarks/gpu_check.sh will): AdamW
#: reads and writes about 36 bytes per parameter per optimizer step (weights, gradient, two moments, the
#: norm for clipping, zeroing), and a forward+backward of a small micro-batch is bound by kernel launches,
#: about 0.3 ms per layer on a GPU; on a CPU the Trainer's own work adds about 15 ms per optimizer step and
#: 5 ms per layer and pass (a micro-batch's forward and backward, per stream; measured with the tiny recipes), at
#: about 10 GB/s of memory traffic
OPTIMIZER_BYTES_PER_PARAM = 36
GPU_LAYER_SECONDS, CPU_LAYER_SECONDS, CPU_STEP_SECONDS, CPU_BANDWIDTH = 3e-4, 5e-3, 1.5e-2, 10e9
#: a training's forward and backward reach this share of the CPU's plain matrix-multiply rate (measured: an
#: X-Mixup step of XLM-R large's shape at batch 8 on 2 cores, benchmarks/full_shape.py)
CPU_EFFICIENCY = 0.4


@dataclasses.dataclass(frozen=True)
class ModelShape:
    """An encoder's shape: what its cost depends on."""

    layers: int
    hidden: int
    heads: int
    ffn: int
    vocab: int
    positions: int = 514

    @property
    def layer_params(self) -> int:
        h, f = self.hidden, self.ffn
        return 4 * h * h + 4 * h + 2 * h * f + f + h + 4 * h

    @property
    def params(self) -> int:
        """Parameters of the encoder with its embeddings (a task head adds little)."""
        return (self.vocab + self.positions + 1) * self.hidden + 2 * self.hidden + self.layers * self.layer_params

    def forward_flops(self, tokens: float, seq_len: float) -> float:
        """FLOPs of a forward pass over ``tokens`` tokens in sequences of ``seq_len`` (padded) tokens."""
        h, f, L = self.hidden, self.ffn, self.layers
        return tokens * L * (2 * (4 * h * h + 2 * h * f) + 4 * seq_len * h)

    def activation_bytes(
        self, batch: int, seq_len: int, *, half: bool, fused_attention: bool, checkpointing: bool = False
    ) -> float:
        """Bytes autograd keeps for the backward pass of one forward over ``batch × seq_len`` tokens."""
        scale = 0.5 if half else 1.0
        tokens = batch * seq_len
        per_layer = (
            tokens
            * (
                ACT_H * self.hidden
                + ACT_F * self.ffn
                + (0.0 if fused_attention else ACT_ATTENTION * self.heads * seq_len)
            )
            * scale
        )
        embed = tokens * ACT_EMBED * self.hidden * scale
        if checkpointing:  # each layer's input is kept; one layer's activations exist at a time
            return embed + self.layers * tokens * self.hidden * 4 * scale + per_layer
        return embed + self.layers * per_layer


KNOWN_SHAPES = {
    "xlm-roberta-large": ModelShape(24, 1024, 16, 4096, 250002, 514),
    "FacebookAI/xlm-roberta-large": ModelShape(24, 1024, 16, 4096, 250002, 514),
    "xlm-roberta-base": ModelShape(12, 768, 12, 3072, 250002, 514),
    "FacebookAI/xlm-roberta-base": ModelShape(12, 768, 12, 3072, 250002, 514),
    "bert-base-multilingual-cased": ModelShape(12, 768, 12, 3072, 119547, 512),
    "google-bert/bert-base-multilingual-cased": ModelShape(12, 768, 12, 3072, 119547, 512),
}


def model_shape(ref: str) -> ModelShape | None:
    """The shape of a model reference without loading it: a local folder's or a cached hub id's
    config.json, a built-in tiny model, or the table of common encoders; None if unknown."""
    from .pretrained import TINY, read_model_config

    ref = str(ref)
    if ref in KNOWN_SHAPES:
        return KNOWN_SHAPES[ref]
    if ref in TINY:
        t = TINY[ref]
        return ModelShape(t["layers"], t["hidden"], t["heads"], t["ffn"], 400, 130)
    config = read_model_config(ref)
    if not config or "hidden_size" not in config:
        return None
    return ModelShape(
        config["num_hidden_layers"],
        config["hidden_size"],
        config["num_attention_heads"],
        config.get("intermediate_size", 4 * config["hidden_size"]),
        config.get("vocab_size", 0),
        config.get("max_position_embeddings", 512),
    )


@dataclasses.dataclass
class Memory:
    """Peak memory of one device, by part (bytes)."""

    weights: float = 0.0
    gradients: float = 0.0
    optimizer: float = 0.0
    buckets: float = 0.0
    activations: float = 0.0

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer + self.buckets + self.activations

    def to_dict(self) -> dict[str, float]:
        return {**dataclasses.asdict(self), "total": self.total}


def training_memory(
    shape: ModelShape,
    micro_batch: int,
    seq_len: int,
    *,
    half: bool,
    fused_attention: bool,
    processes: int = 1,
    checkpointing: bool = False,
    streams: int = 1,
) -> Memory:
    """One device training ``shape`` with AdamW on micro-batches of ``micro_batch × seq_len`` tokens
    (``streams``: forwards kept at once, 2 for X-Mixup's source and target)."""
    p = shape.params
    return Memory(
        weights=4 * p,
        gradients=4 * p,
        optimizer=8 * p,
        buckets=4 * p if processes > 1 else 0,
        activations=streams
        * shape.activation_bytes(
            micro_batch, seq_len, half=half, fused_attention=fused_attention, checkpointing=checkpointing
        ),
    )


def inference_memory(shape: ModelShape, batch: int, seq_len: int, *, half: bool, logits: float = 0) -> Memory:
    """One device running forward passes only: the weights (in half precision if ``half``), one layer's
    working set for the batch, and ``logits`` output values (fp32)."""
    width = 2 if half else 4
    tokens = batch * seq_len
    working = tokens * (4 * shape.hidden + 2 * shape.ffn) * width + batch * shape.heads * seq_len * seq_len * width
    return Memory(weights=width * shape.params, activations=working + 4 * logits)


@dataclasses.dataclass
class Hardware:
    """What the plan is for: a GPU kind (or the CPU), how many per node, how many nodes, the precision."""

    gpu: GPU | None = None
    gpus: int = 1
    nodes: int = 1
    precision: str = "auto"
    utilisation: float = DEFAULT_UTILISATION
    cpu_flops: float = 0.0  # measured rate of this machine, for a CPU plan
    cpu_memory: float = math.inf  # this machine's RAM, for a CPU plan

    @property
    def processes(self) -> int:
        return self.gpus * self.nodes if self.gpu is not None else 1

    @property
    def half(self) -> bool:
        if self.precision == "fp32":
            return False
        if self.precision in ("bf16", "fp16"):
            return True
        return self.gpu is not None

    @property
    def fused_attention(self) -> bool:
        return self.gpu is not None

    @property
    def memory_bytes(self) -> float:
        return self.gpu.memory_gib * 2**30 if self.gpu is not None else self.cpu_memory

    def seconds(self, work: "Work") -> float:
        """Wall seconds of ``work``: its FLOPs spread over every device at the stated utilisation (on a CPU at
        the measured matrix-multiply rate), plus each optimizer step's update and each micro-batch's fixed
        cost (``OPTIMIZER_BYTES_PER_PARAM``, ``GPU_LAYER_SECONDS``...)."""
        micro = work.batches / self.processes
        if self.gpu is not None:
            compute = work.flops / (self.processes * self.gpu.bf16_tflops * 1e12 * self.utilisation)
            update = work.steps * work.params * OPTIMIZER_BYTES_PER_PARAM / (self.gpu.bandwidth_tbs * 1e12)
            return compute + update + micro * work.layers * GPU_LAYER_SECONDS
        compute = work.flops / max(self.cpu_flops * CPU_EFFICIENCY, 1.0)
        update = work.steps * (work.params * OPTIMIZER_BYTES_PER_PARAM / CPU_BANDWIDTH + CPU_STEP_SECONDS)
        return compute + update + micro * work.layers * CPU_LAYER_SECONDS

    def describe(self) -> str:
        if self.gpu is None:
            parts = ([f"{self.cpu_flops / 1e9:.0f} GFLOP/s measured"] if self.cpu_flops else []) + (
                [f"{self.cpu_memory / 2**30:.0f} GiB"] if math.isfinite(self.cpu_memory) else []
            )
            return "this machine's CPU" + (f" ({', '.join(parts)})" if parts else "")
        where = f"{self.gpus} × {self.gpu.name}" + (f" on {self.nodes} nodes" if self.nodes > 1 else "")
        return (
            f"{where} ({self.gpu.memory_gib:g} GiB, {self.gpu.bf16_tflops:g} TFLOP/s "
            f"{'bf16' if self.gpu.bf16 else 'fp16'} peak at {self.utilisation:.0%})"
        )


def local_hardware(precision: str = "auto", measure: bool = True) -> Hardware:
    """This machine: its first GPU when torch sees one the table knows (else the CPU; ``measure``: time
    the CPU's matrix-multiply rate, which only the time estimates need)."""
    import torch

    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0).lower()
        props = torch.cuda.get_device_properties(0)
        for key in sorted(GPUS, key=len, reverse=True):
            base = key.split("-")[0]
            if (
                base in name
                and ("pcie" in name) == ("pcie" in key)
                and (key != "a100-40gb" or props.total_memory < 50 * 2**30)
            ):
                return Hardware(GPUS[key], torch.cuda.device_count(), 1, precision)
    return cpu_hardware(precision, measure)


def cpu_hardware(precision: str = "auto", measure: bool = True) -> Hardware:
    """This machine's CPU: its measured matrix-multiply rate and its memory."""
    import psutil

    return Hardware(
        None,
        precision=precision,
        cpu_flops=measured_cpu_flops() if measure else 0.0,
        cpu_memory=float(psutil.virtual_memory().total),
    )


def measured_cpu_flops(size: int = 1024, repeats: int = 5) -> float:
    """This machine's fp32 matrix-multiply rate (FLOP/s), best of ``repeats``."""
    import time

    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * size**3 / best


@dataclasses.dataclass
class Work:
    """One homogeneous piece of a stage's compute: a training or a set of forward passes."""

    what: str
    flops: float
    tokens: float
    memory: Memory
    steps: int = 0  # optimizer steps (training)
    batches: float = 0.0  # forward (and backward) passes over all processes
    layers: int = 0  # the model's layers (a pass's fixed cost grows with them)
    params: int = 0  # parameters the optimizer updates (training)
    micro_batch: int = 0
    accumulation: int = 0
    checkpointing_memory: Memory | None = None  # the same training with gradient checkpointing
    fitting_micro: int = 0  # when it does not fit: the largest micro-batch that would


@dataclasses.dataclass
class Models:
    """What a stage that trains models hands on: their shape and how many (for later stages' estimates)."""

    shape: ModelShape | None
    count: int


@dataclasses.dataclass
class StageCost:
    """A component's estimate of one stage (``Component.estimate``)."""

    examples: int = 0
    work: list[Work] = dataclasses.field(default_factory=list)
    disk_bytes: float = 0.0
    outputs: int | None = None  # examples the stage writes (for later stages' estimates)
    models: Models | None = None  # the models the stage trains (for later stages' estimates)
    notes: list[str] = dataclasses.field(default_factory=list)
    advice: str = ""  # what would make it fit, when it does not

    @property
    def steps(self) -> int:
        return sum(w.steps for w in self.work)

    @property
    def flops(self) -> float:
        return sum(w.flops for w in self.work)

    @property
    def tokens(self) -> float:
        return sum(w.tokens for w in self.work)

    @property
    def peak(self) -> Memory:
        return max((w.memory for w in self.work), key=lambda m: m.total, default=Memory())


@dataclasses.dataclass
class DataSize:
    """What the plan knows of one data entry: examples and mean length in words (per text field summed)."""

    examples: int
    words: float
    source: str = "counted"  # "counted" from the file, "documented" by the recipe, or "unknown"
    kind: str = ""  # the examples' type: "tagging", "pair", "qa" ("" if unknown)

    def tokens(self, subwords_per_word: float = 1.4) -> float:
        return self.words * subwords_per_word + 2


def fit_training(
    shape: ModelShape,
    hw: Hardware,
    batch_size: int,
    micro: int | str,
    seq_len: int,
    streams: int = 1,
    examples: int = 0,
) -> tuple[Any, Memory, bool]:
    """The split (``BatchSplit``) a training would use on ``hw`` — ``micro_batch_size = "auto"`` halves the
    per-device share until it fits, as ``fit_micro_batch`` does — its memory per device, and whether it fits
    (92 % of the device, as the probe allows)."""
    from .tasks.training import BatchSplit, largest_fitting

    processes = hw.processes
    limit = 0.92 * hw.memory_bytes
    if examples:  # a step never holds more examples than the data has
        batch_size = max(min(batch_size, examples), processes)

    def memory(m: int, checkpointing: bool = False) -> Memory:
        return training_memory(
            shape,
            m,
            seq_len,
            half=hw.half,
            fused_attention=hw.fused_attention,
            processes=processes,
            checkpointing=checkpointing,
            streams=streams,
        )

    if micro == "auto" and hw.gpu is None:  # on a CPU "auto" is the whole share (no probe)
        split = BatchSplit.of(batch_size, batch_size, processes)
    elif micro == "auto":
        share = -(-batch_size // processes)
        m = largest_fitting(share, lambda k: memory(BatchSplit.of(batch_size, k, processes).micro_batch).total <= limit)
        split = BatchSplit.of(batch_size, max(m, 1), processes)
    else:
        split = BatchSplit.of(batch_size, int(micro), processes)
    mem = memory(split.micro_batch)
    return split, mem, mem.total <= limit


def checkpointed(shape: ModelShape, hw: Hardware, micro_batch: int, seq_len: int, streams: int = 1) -> Memory:
    """The memory of the same training with gradient checkpointing (the layers' activations recomputed)."""
    return training_memory(
        shape,
        micro_batch,
        seq_len,
        half=hw.half,
        fused_attention=hw.fused_attention,
        processes=hw.processes,
        checkpointing=True,
        streams=streams,
    )


#: a batch is padded to its longest sequence: padded length ≈ this × the mean (capped at max_length)
PADDING = 1.3
#: bytes of a saved tokenizer per vocabulary entry (XLM-R's: 17 MiB for 250,002 pieces)
TOKENIZER_BYTES_PER_PIECE = 70


def checkpoint_bytes(shape: ModelShape) -> float:
    """A saved model folder: fp32 safetensors weights and the tokenizer."""
    return 4 * shape.params + TOKENIZER_BYTES_PER_PIECE * shape.vocab


def training_work(
    what: str,
    shape: ModelShape,
    hw: Hardware,
    params: Any,
    size: DataSize,
    *,
    streams: int = 1,
    steps: int | None = None,
) -> Work:
    """One training of ``shape`` with ``params`` (a ``TrainingParams``) on ``size``: optimizer steps (as the
    trainer counts them), tokens, FLOPs (three forwards' worth per step, ``streams`` forwards each) and the
    memory of the micro-batch split ``micro_batch_size`` would choose on ``hw`` (worst case: every sequence
    ``max_length`` long). ``Work.checkpointing`` and the memory switch to gradient checkpointing when
    nothing else fits."""
    from .tasks.training import training_steps

    if steps is None:
        steps = training_steps(params, size.examples) if (size.examples or params.max_steps) else 0
    mean = min(params.max_length, size.tokens())
    padded = min(params.max_length, mean * PADDING)
    examples = steps * params.batch_size
    split, memory, fits = fit_training(
        shape, hw, params.batch_size, params.micro_batch_size, params.max_length, streams, size.examples
    )
    work = Work(
        what,
        flops=3 * streams * shape.forward_flops(examples * padded, padded),
        tokens=streams * examples * mean,
        memory=memory,
        steps=steps,
        batches=steps * split.accumulation * split.processes * streams,
        layers=shape.layers,
        params=shape.params,
        micro_batch=split.micro_batch,
        accumulation=split.accumulation,
    )
    if not fits:
        work.checkpointing_memory = checkpointed(shape, hw, split.micro_batch, params.max_length, streams)
        from .tasks.training import BatchSplit, largest_fitting

        def fits_with(m: int) -> bool:
            small = BatchSplit.of(split.batch_size, m, split.processes).micro_batch
            return (
                training_memory(
                    shape,
                    small,
                    params.max_length,
                    half=hw.half,
                    fused_attention=hw.fused_attention,
                    processes=split.processes,
                    streams=streams,
                ).total
                <= 0.92 * hw.memory_bytes
            )

        work.fitting_micro = largest_fitting(split.micro_batch, fits_with)
    return work


def inference_work(
    what: str,
    shape: ModelShape,
    hw: Hardware,
    size: DataSize,
    max_length: int,
    *,
    passes: float = 1.0,
    batch: int = 32,
    streams: int = 1,
    logits_per_token: float = 0.0,
) -> Work:
    """Forward passes over ``size`` (``passes`` times; ``streams`` forwards per example)."""
    mean = min(max_length, size.tokens())
    padded = min(max_length, mean * PADDING)
    n = size.examples * passes * streams
    return Work(
        what,
        flops=shape.forward_flops(n * padded, padded),
        tokens=n * mean,
        batches=math.ceil(size.examples * passes / batch),
        layers=shape.layers,
        memory=inference_memory(
            shape, batch * streams, max_length, half=hw.half, logits=batch * max_length * logits_per_token
        ),
    )


def training_advice(work: Work, hw: Hardware) -> str:
    """What would make a training that does not fit ``hw`` fit."""
    ck = work.checkpointing_memory
    if work.fitting_micro:
        return (
            f"micro-batch {work.micro_batch} needs {work.memory.total / 2**30:.0f} GiB; "
            f"micro_batch_size = {work.fitting_micro} fits (the global batch kept by accumulation)"
        )
    if ck is not None and ck.total <= 0.92 * hw.memory_bytes:
        return (
            f"micro-batch {work.micro_batch} still needs {work.memory.total / 2**30:.0f} GiB; gradient "
            f"checkpointing needs {ck.total / 2**30:.0f} GiB"
        )
    return f"needs {work.memory.total / 2**30:.0f} GiB per device even at micro-batch 1: a larger GPU"
