"""Target-language scores in one shape every method shares, so results of different methods line up.

A trainer stage that evaluates on target-language test data also writes ``scores.json`` in its folder:
per *arm* (what was trained: a method, or the baseline it trained beside itself), per language, one
score per model::

    {"schema_version": 1, "metric": "F1", "split": "test",
     "arms": {"X-Mixup": {"xa": [0.61, 0.64, 0.60]}, "translate-train": {"xa": [0.55, 0.57, 0.58]}},
     "sizes": {"xa": 300}}

(``sizes``, optional: the examples each language was scored on.)

Scores are fractions (0..1). The ``compare`` analyzer (augkit_analysis) reads these files to put zero-shot,
MultiMix, translate-train and X-Mixup side by side; a third-party trainer that writes its own
``scores.json`` takes part in the same comparison.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

from .atomic import atomic_write_json
from .errors import DataError

SCHEMA_VERSION = 1


def mean_std(values) -> tuple[float, float]:
    """Mean and sample standard deviation (n − 1; 0 for a single value) of scores over models, as every
    report and results file gives them."""
    import statistics

    values = [float(v) for v in values]
    if not values:
        raise ValueError("mean_std of no values")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def metric_name(task: str | None) -> str:
    """The name of a task's main metric as reports show it: F1 for tagging and QA, accuracy otherwise."""
    return "F1" if task in ("tagging", "qa") else "accuracy"


@dataclasses.dataclass
class StageScores:
    """What ``scores.json`` holds: ``arms[arm][lang]`` is one score per model, in the stage's metric."""

    metric: str
    arms: dict[str, dict[str, list[float]]]
    split: str = "test"
    #: examples each language's score was computed on (optional; reports show it beside the scores)
    sizes: dict[str, int] = dataclasses.field(default_factory=dict)

    FILE = "scores.json"

    def write(self, folder: str | Path) -> Path:
        path = Path(folder) / self.FILE
        atomic_write_json(
            path,
            {
                "schema_version": SCHEMA_VERSION,
                "metric": self.metric,
                "split": self.split,
                "arms": self.arms,
                **({"sizes": self.sizes} if self.sizes else {}),
            },
        )
        return path

    @classmethod
    def read(cls, folder: str | Path) -> StageScores | None:
        """The scores a stage folder holds, or None when it wrote none (not a trainer, or not finished)."""
        path = Path(folder) / cls.FILE
        if not path.is_file():
            return None
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise DataError(f"cannot read scores: {e}", path=str(path)) from None
        if not isinstance(raw, dict) or raw.get("schema_version") != SCHEMA_VERSION:
            raise DataError(f"expected a JSON object with schema_version {SCHEMA_VERSION}", path=str(path))
        arms = raw.get("arms")
        if not isinstance(raw.get("metric"), str) or not isinstance(arms, dict):
            raise DataError("expected keys 'metric' (a string) and 'arms' (an object)", path=str(path))
        for arm, langs in arms.items():
            if not isinstance(langs, dict):
                raise DataError(f"arms.{arm}: expected an object of language -> scores", path=str(path))
            for lang, values in langs.items():
                if (
                    not isinstance(values, list)
                    or not values
                    or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)
                ):
                    raise DataError(
                        f"arms.{arm}.{lang}: expected a non-empty list of numbers (one per model)", path=str(path)
                    )
        sizes = raw.get("sizes") or {}
        if not isinstance(sizes, dict) or not all(isinstance(n, int) and n >= 0 for n in sizes.values()):
            raise DataError("sizes: expected an object of language -> number of examples", path=str(path))
        return cls(metric=raw["metric"], arms=arms, split=str(raw.get("split", "test")), sizes=sizes)
