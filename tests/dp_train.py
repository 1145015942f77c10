"""One small data-parallel training, run by tests/test_data_parallel.py as a plain process, under
``torchrun --nproc-per-node 2`` and as two ``torchrun`` "nodes": a tiny tagging model (no dropout) trained
with ``train_model`` on a mixture of two datasets (balanced sampling), batch 8 as micro-batches of at most
2. Writes to OUT: ``weights.safetensors`` and ``report.json`` (rank 0) and ``seen-RANK.json`` (the
sentences of each micro-batch, in order, on every process).

    python tests/dp_train.py OUT
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from augkit import resolve_model
from augkit.distributed import rank
from augkit.tasks import TrainingParams, load_task_model, train_model

from test_accumulation import LABELS, _examples as examples  # the same tagged sentences


class Record:
    """A trainer hook that adds nothing to the loss and notes which sentences each micro-batch holds."""

    def __init__(self):
        self.seen: list[list[list[int]]] = []

    def extra_loss(self, *, model, inputs, outputs, labels):
        ids, mask = inputs["input_ids"].cpu(), inputs["attention_mask"].cpu()
        self.seen.append(sorted(row[m.bool()].tolist() for row, m in zip(ids, mask)))
        return None

    def callbacks(self):
        return []

    def display_name(self):
        return "record"


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    tm = load_task_model(resolve_model("augkit:tiny-xlmr"), "tagging", LABELS, seed=1)
    for module in tm.model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    params = TrainingParams(learning_rate=1e-3, batch_size=8, micro_batch_size=2, max_steps=6, logging_steps=1,
                            max_length=32)
    record = Record()
    report = train_model(tm, [examples(10, 0), examples(14, 3)], params, seed=7, alpha=0.5, hooks=[record])
    (out / f"seen-{rank()}.json").write_text(json.dumps(record.seen))
    if rank() == 0:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in tm.model.state_dict().items()}, str(out / "weights.safetensors"))
        (out / "report.json").write_text(json.dumps({k: report[k] for k in ("steps", "processes", "batch", "log")}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
