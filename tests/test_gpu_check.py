"""benchmarks/gpu_check.sh is ready for the first GPU it meets: its dry mode runs every step on CPU at
tiny sizes (GEN-LM against the reference loop, an X-Mixup step against plain fine-tuning for
classification and QA, the tiny recipes in bf16, a torchrun launch with the collectives, and the full-shape
script with micro_batch_size = "auto") and writes the one JSON the real run writes."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import ROOT


def test_gpu_check_dry_run_runs_every_step_and_writes_its_json(tmp_path):
    out = tmp_path / "gpu_check.json"
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--dry-run", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHON": sys.executable})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    result = json.loads(out.read_text())
    assert result["dry_run"] is True and result["ok"] is True and result["device"] == "cpu"
    assert set(result["steps"]) == {"gen_lm", "xmixup_step", "tiny_bf16", "torchrun_nccl", "auto_batch",
                                     "translate"}
    for name, step in result["steps"].items():
        assert step["ok"] and step["exit"] == 0 and step["command"], name
    assert any("RESULT speedup" in line for line in result["steps"]["gen_lm"]["figures"])
    assert any("time ratio" in line for line in result["steps"]["xmixup_step"]["figures"])
    assert any("speed-up of (a) over (b)" in line for line in result["steps"]["translate"]["figures"])
    assert any("collectives ok: backend gloo" in line for line in result["steps"]["torchrun_nccl"]["figures"])
    records = result["steps"]["auto_batch"]["records"]
    assert records[0]["recipe"] == "xmixup_mlqa" and records[0]["code"] == 0
    trainings = [b for s in records[0]["stages"] for b in s["batches"]]
    assert trainings and all(b["micro"] >= 1 and b["accumulation"] >= 1 for b in trainings)
