"""The demo's gains over several seeds: per seed, across seeds, and where their spread comes from.

    for s in 1 2 3 4 5; do OMP_NUM_THREADS=1 augkit run recipes/demo.toml -o runs/seed$s --set run.seed=$s; done
    python benchmarks/demo_seeds.py runs/seed1 runs/seed2 runs/seed3 runs/seed4 runs/seed5 [--markdown]

Reads each run's `compare` stages (`stages/*/comparison.json`: every model's target-language score per
arm, and the gains the recipe names) and prints, for every gain:

* per seed: the gain of the averages and whether it was clear on that seed (gain > the larger std over
  the arm's models, the compare stage's rule);
* across seeds: mean ± std of the per-seed gains, and on how many seeds it was clear;
* its standard error over seeds (std / sqrt(seeds); the two arms of a seed share its pretrained model,
  so the gain is paired by seed), so a gain that is small against the spread of single models but steady
  can be told from one that is noise;
* model pairs won: model k of the method against model k of the baseline in the same run (the demo's
  arms give model k the same seed, and MultiMix's co-teaching starts from zero-shot model k);

and, for every arm, where its spread comes from: the std between the models of one seed (pooled) against
the std of the seed means.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path


def load(folders: list[Path]) -> dict[str, list[dict]]:
    """{comparison title: [comparison of each run, in the order given]}"""
    out: dict[str, list[dict]] = {}
    for folder in folders:
        files = sorted(folder.glob("stages/*/comparison.json"))
        if not files:
            raise SystemExit(f"{folder}: no stages/*/comparison.json (not a finished demo run folder?)")
        for f in files:
            data = json.loads(f.read_text())
            out.setdefault(data["title"], []).append({**data, "run": folder.name})
    for title, runs in out.items():
        if len(runs) != len(folders):
            raise SystemExit(f"{title}: found in {len(runs)} of {len(folders)} runs")
    return out


def _std(xs: list[float]) -> float:
    return statistics.stdev(xs) if len(xs) > 1 else 0.0


def summarise(runs: list[dict]) -> tuple[list[dict], list[dict]]:
    gains = []
    for g in runs[0]["gains"]:
        method, baseline = g["method"], g["baseline"]
        per_seed = [next(x for x in r["gains"] if x["method"] == method and x["baseline"] == baseline) for r in runs]
        values = [100 * x["gap"] for x in per_seed]
        pairs = [(a, b) for r in runs for a, b in zip(r["arms"][method]["average"]["models"],
                                                      r["arms"][baseline]["average"]["models"])]
        gains.append({"gain": f"{method} over {baseline}", "per_seed": values,
                      "clear": [bool(x["clear"]) for x in per_seed], "mean": statistics.fmean(values),
                      "std": _std(values), "se": _std(values) / math.sqrt(len(values)),
                      "pairs_won": sum(a > b for a, b in pairs), "pairs": len(pairs)})
    arms = []
    for arm in runs[0]["arms"]:
        seeds = [r["arms"][arm]["average"]["models"] for r in runs]
        within = math.sqrt(statistics.fmean([_std(s) ** 2 for s in seeds]))
        between = _std([statistics.fmean(s) for s in seeds])
        everything = [m for s in seeds for m in s]
        arms.append({"arm": arm, "mean": 100 * statistics.fmean(everything), "model_std": 100 * _std(everything),
                     "within_seed": 100 * within, "between_seeds": 100 * between,
                     "lowest": 100 * min(everything), "highest": 100 * max(everything)})
    return gains, arms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path, help="finished demo run folders, one per seed")
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    everything = {}
    for title, runs in load(args.runs).items():
        gains, arms = summarise(runs)
        everything[title] = {"runs": [r["run"] for r in runs], "gains": gains, "arms": arms}
        names = [r["run"] for r in runs]
        print(f"\n{title} ({runs[0]['metric']} x 100, average over {', '.join(runs[0]['languages'])}; runs: "
              f"{', '.join(names)})")
        if args.markdown:
            print("\n| gain of the average | " + " | ".join(names) + " | mean ± std | clear on | s.e. | model pairs won |")
            print("|---" * (len(names) + 5) + "|")
        for g in gains:
            cells = [f"{v:+.1f}{'' if c else ' (n)'}" for v, c in zip(g["per_seed"], g["clear"])]
            summary = [f"{g['mean']:+.1f} ± {g['std']:.1f}", f"{sum(g['clear'])} of {len(cells)}",
                       f"s.e. {g['se']:.1f}", f"{g['pairs_won']}/{g['pairs']} pairs"]
            print(("| " + " | ".join([g["gain"], *cells, *summary]) + " |") if args.markdown else
                  f"  {g['gain']:40} " + " ".join(f"{c:>9}" for c in cells) + "   " + "   ".join(summary))
        if args.markdown:
            print("\n| arm | mean | std over all models | std within a seed | std of seed means | lowest | highest |")
            print("|---|---|---|---|---|---|---|")
        else:
            print(f"  {'arm':24} {'mean':>6} {'std all':>8} {'within':>7} {'between':>8} {'lowest':>7} {'highest':>8}")
        for a in arms:
            cells = [f"{a['mean']:.1f}", f"{a['model_std']:.1f}", f"{a['within_seed']:.1f}", f"{a['between_seeds']:.1f}",
                     f"{a['lowest']:.1f}", f"{a['highest']:.1f}"]
            print(("| " + " | ".join([a["arm"], *cells]) + " |") if args.markdown else
                  f"  {a['arm']:24} " + " ".join(f"{c:>7}" for c in cells))
    if not args.markdown:
        print("\n(n): not clear on that seed (gain <= the larger std over the arm's models)")
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1))


if __name__ == "__main__":
    main()
