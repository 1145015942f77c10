"""How close `augkit plan`'s time estimate comes to a real run on this machine's CPU.

    python benchmarks/bench_plan.py [--out DIR]

Runs the tiny MultiMix recipe (one co-teaching epoch) and the tiny X-Mixup recipe, then prints, for the
warm-up and X-Mixup trainings, the planned optimizer steps beside the steps run, and the planned seconds
(the trainings and their dev evaluations) beside the seconds run.log reports, with their ratio. The
target is a ratio between 0.5 and 2 on an idle machine (timing is measured here, not in the test suite:
the suite's tests check the step counts, which do not depend on load).
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = {
    "multimix": ("multimix_xner_tiny.toml", "warmup", ["stages.coteach.params.epochs=1", "stages.coteach.params.eta=[0.8]",
                                                        "stages.coteach.params.mixtures=[['source', 'target']]"]),
    "xmixup": ("xmixup_xnli_tiny.toml", "xmixup", []),
}


def planned(recipe: Path, sets: list[str], stage: str) -> dict:
    from augkit.costs import cpu_hardware
    from augkit.planning import plan_recipe
    from augkit.recipe import load_recipe

    plan = load_recipe(recipe, sets)
    result = json.loads(json.dumps(plan_recipe(plan, cpu_hardware(plan.run.precision)).to_dict(), default=str))
    return next(s for s in result["stages"] if s["stage"] == stage)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="where the runs go (default: a temporary folder)")
    args = ap.parse_args()
    base = Path(args.out or tempfile.mkdtemp(prefix="augkit-bench-plan-"))
    print(f"{'stage':10} {'steps plan':>10} {'steps run':>10} {'plan s':>8} {'run s':>8} {'plan/run':>9}")
    for name, (recipe_name, stage, sets) in RUNS.items():
        recipe, out = ROOT / "recipes" / recipe_name, base / name
        argv = [a for s in sets for a in ("--set", s)]
        subprocess.run([sys.executable, "-m", "augkit", "run", str(recipe), "-o", str(out), "--force", *argv],
                       check=True, capture_output=True)
        plan = planned(recipe, sets, stage)
        folder = next((out / "stages").glob(f"*-{stage}"))
        steps = [json.loads(p.read_text())["steps"] for p in sorted(folder.rglob("train_report.json"))]
        work = plan["work"]
        trainings = [i for i, w in enumerate(work) if w["steps"]]
        plan_s = sum(w["seconds"] for i, w in enumerate(work) if i in trainings or (i - 1) in trainings)
        ran = [float(s) for s in re.findall(r"done, \d+ steps in ([\d.]+)s", (out / "run.log").read_text())]
        ran_s = sum(ran[: len(trainings)])
        print(f"{stage:10} {plan['steps']:>10} {sum(steps):>10} {plan_s:>8.2f} {ran_s:>8.2f} {plan_s / ran_s:>9.2f}")


if __name__ == "__main__":
    main()
