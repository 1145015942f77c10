"""The ``compare`` analyzer: target-language scores of several trainer stages side by side.

Inputs: ``stages``, the trainer stages to compare (each writes ``scores.json``, ``augkit.StageScores``:
per arm and language, one score per model). The table has one row per arm (zero-shot, MultiMix,
translate-train, X-Mixup, or whatever a third-party trainer reports), one column per language and one
for the average over languages, each as mean ± std over the arm's models (each model trained with its
own seed). ``gains`` names method/baseline pairs; each gain is the difference of the two averages,
against the larger of their spreads (std over models). Writes ``comparison.json``.
"""

from __future__ import annotations

import dataclasses
import statistics

from augkit import Analyzer, DataError, InputSpec, Params, StageScores, atomic_write_json, mean_std, param

#: gains shown when the recipe names none: every pair whose two arms are both present
DEFAULT_GAINS = ("MultiMix - zero-shot", "X-Mixup - translate-train")


@dataclasses.dataclass
class CompareParams(Params):
    title: str = param("", help="what is compared (a task name: the report section's title)")
    gains: list[str] | None = param(
        None,
        help='method/baseline pairs written "METHOD - BASELINE" (default: '
        + ", ".join(f'"{g}"' for g in DEFAULT_GAINS)
        + " where present)",
    )
    arm_names: dict[str, str] = param(
        {},
        help='new names for arms, by stage ("STAGE" for a stage with one arm, '
        '"STAGE:ARM" otherwise), e.g. two co-teaching stages that both '
        'report "MultiMix": { ner_multimix_simple = "MultiMix, Dai & Adel" }',
    )

    def check(self):
        for g in self.gains or []:
            if len([s for s in g.split(" - ") if s.strip()]) != 2:
                raise ValueError(f'gains: {g!r} is not "METHOD - BASELINE"')


def _mean_std(values: list[float]) -> dict:
    mean, std = mean_std(values)
    return {"mean": mean, "std": std, "n": len(values)}


def compare(
    scores: dict[str, StageScores], gains: list[str] | None = None, arm_names: dict[str, str] | None = None
) -> dict:
    """The comparison of stages' scores (``{stage name: StageScores}``): arms with per-language and average
    mean ± std, and the gains of the named method/baseline pairs. ``arm_names`` renames arms: by
    ``"STAGE:ARM"``, or by ``"STAGE"`` for a stage that reports one arm."""
    arm_names = arm_names or {}
    unknown = [k for k in arm_names if k.split(":", 1)[0] not in scores]
    if unknown:
        raise DataError(f"params.arm_names: {unknown[0]!r} names no compared stage (stages: {', '.join(scores)})")
    metrics = sorted({s.metric for s in scores.values()})
    if len(metrics) > 1:
        raise DataError(
            "inputs.stages: the stages report different metrics ("
            + ", ".join(f"{name}: {s.metric}" for name, s in scores.items())
            + "); compare stages of one task"
        )
    arms: dict[str, dict] = {}
    for stage, s in scores.items():
        for arm, langs in s.arms.items():
            arm = arm_names.get(f"{stage}:{arm}") or (arm_names.get(stage) if len(s.arms) == 1 else None) or arm
            if arm in arms:
                raise DataError(
                    f"inputs.stages: arm {arm!r} is reported by both {arms[arm]['stage']!r} and "
                    f"{stage!r}; name one with params.arm_names"
                )
            sizes = {len(v) for v in langs.values()}
            per_model = (
                [statistics.mean(v[k] for v in langs.values()) for k in range(sizes.pop())]
                if len(sizes) == 1
                else [statistics.mean(v) for v in langs.values()]
            )
            arms[arm] = {
                "stage": stage,
                "languages": {
                    lang: {"models": v, **_mean_std(v), **({"examples": s.sizes[lang]} if lang in s.sizes else {})}
                    for lang, v in langs.items()
                },
                "average": {"models": per_model, **_mean_std(per_model)},
            }
    languages = sorted({lang for a in arms.values() for lang in a["languages"]})
    explicit = gains is not None
    out_gains = []
    for g in gains if gains is not None else DEFAULT_GAINS:
        method, base = (x.strip() for x in g.split(" - "))
        missing = [a for a in (method, base) if a not in arms]
        if missing:
            if explicit:
                raise DataError(
                    f"params.gains: {g!r}: no stage reports {', '.join(map(repr, missing))}; the arms are "
                    + ", ".join(map(repr, arms))
                )
            continue
        a, b = arms[method]["average"], arms[base]["average"]
        gap, spread = a["mean"] - b["mean"], max(a["std"], b["std"])
        out_gains.append({"method": method, "baseline": base, "gap": gap, "spread": spread, "clear": gap > spread})
    return {"metric": metrics[0] if metrics else "", "languages": languages, "arms": arms, "gains": out_gains}


class CompareAnalyzer(Analyzer):
    """Target-language scores of trainer stages side by side (mean ± std over models), with the gains of
    each method over its baseline."""

    name = "compare"
    Params = CompareParams
    params: CompareParams
    inputs = {
        "stages": InputSpec(
            "model", many=True, help="trainer stages that write scores.json (warm-up, co-teaching, X-Mixup, ...)"
        )
    }

    def run_stage(self, ctx):
        sets = ctx.inputs["stages"]
        scores = {}
        for ms in sets:
            if ms.folder is None:
                raise DataError(
                    "inputs.stages: a model named directly has no scores; name trainer stages of the recipe"
                )
            s = StageScores.read(ms.folder)
            if s is None:
                raise DataError(
                    f"inputs.stages: stage {ms.folder.name!r} wrote no {StageScores.FILE} (its trainer "
                    "reports no target-language test scores: give it test data)"
                )
            scores[ms.folder.name.split("-", 1)[-1]] = s
        result = {"title": self.params.title, **compare(scores, self.params.gains, self.params.arm_names)}
        atomic_write_json(ctx.out_dir / "comparison.json", result)
        stats = {f"{arm}_average": round(a["average"]["mean"], 4) for arm, a in result["arms"].items()}
        stats.update({f"gain_{g['method']}": round(g["gap"], 4) for g in result["gains"]})
        return stats
