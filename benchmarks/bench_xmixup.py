"""Cost of one X-Mixup training step against one plain fine-tuning step, side by side in one run.

    python benchmarks/bench_xmixup.py                              # XLM-R-shaped small model, CPU
    python benchmarks/bench_xmixup.py --task tagging --mixup-layer 2
    python benchmarks/bench_xmixup.py --large --device cuda        # XLM-R-large shape, bf16 (GPU only)

Model: XLM-R-shaped, random weights, vocabulary 250,002 (hidden 256, 4 layers, 4 heads, FFN 1024; or the
XLM-R-large shape with --large: hidden 1024, 24 layers, 16 heads, FFN 4096). One batch of ``--batch``
pairs, source and target of ``--length`` tokens (real lengths vary a little, with padding).

A step = forward, loss, backward and AdamW update, through the same loss function the trainer uses:
plain = the model on the target batch with its task loss; X-Mixup = both streams, mixup at the given
layer, α-weighted task losses, MSE and (classification) KL. Steps alternate between the two so
drift in machine speed hits both alike; the medians are compared. The method's floor is about
2.0–2.1×: two streams plus one extra attention sub-layer. Memory: on CUDA the peak allocated memory
of a step; on CPU the bytes autograd saves for the backward pass (activations), the part that grows
with the method.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from augkit_xmixup import XMixupModel  # noqa: E402
from augkit_xmixup.method import Settings, compute_loss  # noqa: E402


def build_model(task: str, large: bool, n_labels: int):
    from transformers import (XLMRobertaConfig, XLMRobertaForQuestionAnswering, XLMRobertaForSequenceClassification,
                              XLMRobertaForTokenClassification)

    shape = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096) if large \
        else dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024)
    config = XLMRobertaConfig(vocab_size=250_002, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1,
                              num_labels=n_labels, **shape)
    cls = {"pair": XLMRobertaForSequenceClassification, "tagging": XLMRobertaForTokenClassification,
           "qa": XLMRobertaForQuestionAnswering}[task]
    torch.manual_seed(0)
    return cls(config)


def make_batch(task: str, batch: int, length: int, n_labels: int, device, seed: int = 0):
    g = torch.Generator().manual_seed(seed)

    def stream():
        lengths = torch.randint(int(length * 0.8), length + 1, (batch,), generator=g)
        width = int(lengths.max())
        ids = torch.full((batch, width), 1, dtype=torch.long)
        mask = torch.zeros((batch, width), dtype=torch.long)
        for r, n in enumerate(lengths.tolist()):
            ids[r, :n] = torch.randint(5, 250_000, (n,), generator=g)
            mask[r, :n] = 1
        return {"input_ids": ids, "attention_mask": mask}, lengths

    (src, ls), (tgt, lt) = stream(), stream()
    if task == "pair":
        labels = torch.randint(0, n_labels, (batch,), generator=g)
        src["labels"], tgt["labels"] = labels, labels.clone()
    elif task == "tagging":
        src["labels"] = torch.randint(0, n_labels, src["input_ids"].shape, generator=g).masked_fill(src["attention_mask"] == 0, -100)
        soft = torch.softmax(torch.randn((*tgt["input_ids"].shape, n_labels), generator=g), -1)
        tgt_soft = soft * tgt["attention_mask"].unsqueeze(-1)
    else:
        for side, lengths in ((src, ls), (tgt, lt)):
            side["start_positions"] = torch.randint(1, int(lengths.min()) // 2, (batch,), generator=g)
            side["end_positions"] = side["start_positions"] + 3
    out = {"source": src, "target": tgt, "has_back": torch.zeros(batch, dtype=torch.bool)}
    if task == "tagging":
        out["soft"] = tgt_soft
    return _to(out, device)


def _to(x, device):
    if isinstance(x, dict):
        return {k: _to(v, device) for k, v in x.items()}
    return x.to(device)


def plain_loss(model, batch, task):
    """Plain fine-tuning on the target batch (gold labels; soft labels for tagging)."""
    tgt = batch["target"]
    inputs = {k: v for k, v in tgt.items() if k in ("input_ids", "attention_mask")}
    out = model(**inputs)
    if task == "pair":
        return F.cross_entropy(out.logits.float(), tgt["labels"])
    if task == "qa":
        return (F.cross_entropy(out.start_logits.float(), tgt["start_positions"]) +
                F.cross_entropy(out.end_logits.float(), tgt["end_positions"])) / 2
    logp = F.log_softmax(out.logits.float(), -1)
    soft = batch["soft"]
    return -(soft * logp).sum(-1).sum() / tgt["attention_mask"].sum()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", choices=["pair", "tagging", "qa"], default="pair")
    ap.add_argument("--large", action="store_true", help="XLM-R-large shape (bf16 on GPU)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--length", type=int, default=128)
    ap.add_argument("--mixup-layer", type=int, default=1)
    ap.add_argument("--steps", type=int, default=6, help="timed steps of each kind (after 2 warm-up steps)")
    args = ap.parse_args()
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    dtype = torch.bfloat16 if args.large and cuda else None
    n_labels = {"pair": 3, "tagging": 7, "qa": 2}[args.task]  # QA: start and end logits
    torch.set_num_threads(torch.get_num_threads())

    model = build_model(args.task, args.large, n_labels).to(device).train()
    xm = XMixupModel(model, args.mixup_layer).to(device).train()
    settings = Settings(task=args.task, alpha={"pair": 0.4, "tagging": 0.8, "qa": 0.2}[args.task])
    opt = torch.optim.AdamW(xm.parameters(), lr=1e-5)
    batch = make_batch(args.task, args.batch, args.length, n_labels, device)
    use_real = torch.ones(args.batch, dtype=torch.bool, device=device)

    def step(kind):
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = plain_loss(model, batch, args.task) if kind == "plain" else \
                compute_loss(xm, batch, settings, use_real)[0]
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    def timed(kind):
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        step(kind)
        if cuda:
            torch.cuda.synchronize()
        return time.perf_counter() - t

    def memory(kind):
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            before = torch.cuda.memory_allocated()
            step(kind)
            torch.cuda.synchronize()
            return torch.cuda.max_memory_allocated() - before
        saved = [0]

        def pack(t):
            saved[0] += t.numel() * t.element_size()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            step(kind)
        return saved[0]

    for _ in range(2):
        step("plain")
        step("xmixup")
    times = {"plain": [], "xmixup": []}
    for _ in range(args.steps):
        for kind in ("plain", "xmixup"):
            times[kind].append(timed(kind))
    mem = {kind: memory(kind) for kind in ("plain", "xmixup")}
    shape = "XLM-R-large shape" if args.large else "XLM-R-shaped small (hidden 256, 4 layers)"
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"model: {shape}, task {args.task}, batch {args.batch} x ~{args.length} tokens, mixup layer "
          f"{args.mixup_layer}, device {args.device}{', bf16' if dtype else ''}, threads {torch.get_num_threads()}")
    print(f"plain fine-tuning step : {med['plain'] * 1000:8.1f} ms (median of {args.steps})")
    print(f"X-Mixup step           : {med['xmixup'] * 1000:8.1f} ms (median of {args.steps})")
    print(f"time ratio             : {med['xmixup'] / med['plain']:.2f}x   (target <= 2.2x)")
    what = "peak allocated" if cuda else "saved for backward"
    print(f"memory ({what}): plain {mem['plain'] / 2**20:.1f} MiB, X-Mixup {mem['xmixup'] / 2**20:.1f} MiB, "
          f"ratio {mem['xmixup'] / max(mem['plain'], 1):.2f}x")


if __name__ == "__main__":
    main()
