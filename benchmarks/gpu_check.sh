#!/usr/bin/env bash
# The GPU figures in one go (about 8 minutes on one H100), written to one JSON:
#
#   bash benchmarks/gpu_check.sh [--out gpu_check.json]     # on a machine with a CUDA GPU
#   bash benchmarks/gpu_check.sh --dry-run [--out F]        # the same steps on CPU at tiny sizes (CI runs this)
#
# Steps (each under its own time limit; one that fails is recorded and the rest still run):
#   gen_lm        GEN-LM at XLM-R-large shape in bf16 against the reference loop (bench_vicinity.py --large)
#   xmixup_step   an X-Mixup training step at XLM-R-large shape in bf16 against plain fine-tuning
#                 (bench_xmixup.py --large, classification and QA at 384 tokens)
#   tiny_bf16     the tiny MultiMix and X-Mixup recipes with run.device = "cuda", run.precision = "bf16"
#   tiny_fp16     the same in fp16
#   torchrun_nccl a one-process torchrun launch: NCCL collectives through augkit.distributed, then a tiny
#                 recipe under torchrun
#   auto_batch    X-Mixup MLQA's batch (64 pairs, up to 384 tokens) at XLM-R-large shape in bf16 with
#                 micro_batch_size = "auto": the micro-batch the memory probe chose and the peak memory
#                 (benchmarks/full_shape.py --device cuda on xmixup_mlqa)
#   translate     the translate generator against a plain batched generate loop (bench_translate.py)
# The JSON holds, per step: the command, exit code, seconds and the last lines it printed; plus the GPU.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python
OUT=gpu_check.json
DRY=0
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) DRY=1 ;;
        --out) OUT="$2"; shift ;;
        *) echo "usage: $0 [--dry-run] [--out FILE]" >&2; exit 2 ;;
    esac
    shift
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false AUGKIT_NO_PROGRESS=1

if [ "$DRY" = 1 ]; then
    DEV=cpu; LARGE=""; LIMIT=300
    VIC="--sentences 24 --reference-sentences 3"
    XMX="--steps 1 --batch 2 --length 24"
    XMX_QA="--task qa --steps 1 --batch 2 --length 48"
    MM_SET="--set stages.warmup.params.max_steps=2 --set stages.coteach.params.epochs=1 --set stages.coteach.params.eta=[0.8] --set stages.coteach.params.mixtures=[['source','target']] --set stages.coteach.inputs.target=['de_train'] --set stages.coteach.inputs.target_dev=['de_dev'] --set stages.coteach.inputs.target_test=['de_test']"
    XM_SET="--set stages.xmixup.params.max_steps=2 --set stages.xmixup.params.n_models=1"
    BACKEND=gloo
    AUTO="--recipes xmixup_mlqa --examples 2 --steps 1 --n-models 1 --tiny --device cpu"
    TRANSLATE="--sentences 40 --steps 20 --repeats 1 --max-new-tokens 16"
else
    DEV=cuda; LARGE="--large"; LIMIT=150
    VIC="--sentences 2000 --reference-sentences 40"
    XMX="--steps 6 --batch 16 --length 128"
    XMX_QA="--task qa --steps 4 --batch 8 --length 384"
    MM_SET=""
    XM_SET=""
    BACKEND=nccl
    AUTO="--recipes xmixup_mlqa --examples 10 --steps 2 --n-models 1 --device cuda --precision bf16"
    TRANSLATE="--sentences 5000"
fi
export PY WORK DEV LARGE VIC XMX XMX_QA MM_SET XM_SET BACKEND AUTO TRANSLATE

gen_lm() { "$PY" benchmarks/bench_vicinity.py $LARGE --device $DEV $VIC; }
xmixup_step() {
    "$PY" benchmarks/bench_xmixup.py $LARGE --device $DEV $XMX && "$PY" benchmarks/bench_xmixup.py $LARGE --device $DEV $XMX_QA
}
tiny() {  # tiny PRECISION
    "$PY" -m augkit run recipes/multimix_xner_tiny.toml -o "$WORK/mm_$1" --set run.device=$DEV --set run.precision=$1 $MM_SET &&
    "$PY" -m augkit run recipes/xmixup_xnli_tiny.toml -o "$WORK/xm_$1" --set run.device=$DEV --set run.precision=$1 $XM_SET
}
tiny_bf16() { tiny bf16; }
tiny_fp16() { tiny fp16; }
torchrun_nccl() {
    "$PY" -m torch.distributed.run --standalone --nproc-per-node 1 benchmarks/collectives_check.py --backend $BACKEND &&
    "$PY" -m torch.distributed.run --standalone --nproc-per-node 1 -m augkit run recipes/xmixup_xnli_tiny.toml \
        -o "$WORK/xm_torchrun" --set run.device=$DEV $XM_SET
}
auto_batch() { "$PY" benchmarks/full_shape.py $AUTO --work "$WORK/full" --json "$WORK/auto_batch.json"; }
translate() { AUGKIT_CACHE="$WORK/cache" "$PY" benchmarks/bench_translate.py --device $DEV $TRANSLATE; }
export -f gen_lm xmixup_step tiny tiny_bf16 tiny_fp16 torchrun_nccl auto_batch translate

step() {  # step NAME LIMIT_S: run the function NAME under a time limit, note its exit code and time
    local name=$1 limit=$2 start=$SECONDS
    echo "== $name" >&2
    timeout "$limit" bash -c "$name" > "$WORK/$name.log" 2>&1
    local rc=$?
    echo "$name $rc $((SECONDS - start))" >> "$WORK/steps"
    declare -f "$name" > "$WORK/$name.cmd"
    tail -n 4 "$WORK/$name.log" >&2
}

step gen_lm $LIMIT
step xmixup_step $LIMIT
step tiny_bf16 $LIMIT
[ "$DRY" = 1 ] || step tiny_fp16 $LIMIT   # fp16 needs CUDA
step torchrun_nccl $LIMIT
step auto_batch $((LIMIT * 2))
step translate $LIMIT

"$PY" - "$WORK" "$OUT" "$DRY" <<'EOF'
import json, platform, sys
from pathlib import Path

work, out, dry = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1"
import torch
gpu = {"device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
       "torch": torch.__version__, "cuda": torch.version.cuda,
       "nccl": ".".join(map(str, torch.cuda.nccl.version())) if torch.cuda.is_available() else None}
steps = {}
for line in (work / "steps").read_text().splitlines():
    name, rc, secs = line.split()
    log = (work / f"{name}.log").read_text(errors="replace").splitlines()
    keys = ("RESULT", "ratio", "ms (median", "sentences/s", "GFLOP/s", "memory (", "collectives ok", "model:",
            "setup:", "error", "Error", "precision", "output:", "speed-up", "sent/s", "same as")
    steps[name] = {"ok": rc == "0", "exit": int(rc), "seconds": int(secs),
                   "command": (work / f"{name}.cmd").read_text(),
                   "figures": [line for line in log if any(k in line for k in keys)][:60], "output": log[-25:]}
auto = work / "auto_batch.json"
if auto.exists():
    steps["auto_batch"]["records"] = json.loads(auto.read_text())
result = {"dry_run": dry, "host": platform.node(), **gpu, "ok": all(s["ok"] for s in steps.values()), "steps": steps}
out.write_text(json.dumps(result, indent=1))
print(f"{out}: {'all steps ok' if result['ok'] else 'FAILED: ' + ', '.join(n for n, s in steps.items() if not s['ok'])}")
sys.exit(0 if result["ok"] else 1)
EOF
