"""Model sets: how trained models pass from one stage to the next.

A trainer stage writes ``models.json`` in its folder: the task, the label set, every model it offers
(a Hugging Face folder, relative to the stage folder, with its seed, language and scores) and which one
it selected and why. The runner hands a stage's ``model`` input as a ``ModelSet``: from a trainer stage
of the recipe, or from a model id or folder named directly (a set of one). So a ``label`` stage,
another trainer or ``augkit analyze`` can take any trained model::

    {"schema_version": 1, "task": "tagging", "labels": ["O", "B-PER", ...],
     "models": [{"name": "model-0", "path": "models/model-0", "seed": 7, "lang": null,
                 "scores": {"source_dev": 0.81}}, ...],
     "selected": "model-1", "selection": "best source_dev"}
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Iterator

from .atomic import atomic_write_json
from .errors import DataError

SCHEMA_VERSION = 1


@dataclasses.dataclass
class ModelEntry:
    """One model of a set: a name, where it is (an absolute folder, or a hub id), and what is known of it."""

    name: str
    path: str
    seed: int | None = None
    lang: str | None = None
    scores: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ModelSet:
    """The models a stage offers, with the one it selected (``selected``, a name) and why."""

    models: list[ModelEntry]
    task: str | None = None
    labels: list[str] | None = None
    selected: str | None = None
    selection: str = ""
    folder: Path | None = None

    FILE = "models.json"

    @classmethod
    def selecting_best(
        cls, entries: list[ModelEntry], score: str, *, task: str | None, labels: list[str] | None, note: str = ""
    ) -> "ModelSet":
        """A set of ``entries`` with the one of highest ``scores[score]`` selected (``"best <score><note>"``;
        the first of equals), or the first entry when none has that score (``"first"``)."""
        scored = [e for e in entries if e.scores.get(score) is not None]
        if scored:
            best = max(scored, key=lambda e: e.scores[score])
            return cls(entries, task=task, labels=labels, selected=best.name, selection=f"best {score}{note}")
        return cls(entries, task=task, labels=labels, selected=entries[0].name if entries else None, selection="first")

    def __len__(self) -> int:
        return len(self.models)

    def __iter__(self) -> Iterator[ModelEntry]:
        return iter(self.models)

    def __getitem__(self, name: str) -> ModelEntry:
        for m in self.models:
            if m.name == name:
                return m
        raise KeyError(f"no model {name!r} in this set; it has {', '.join(m.name for m in self.models)}")

    @property
    def best(self) -> ModelEntry:
        """The selected model (the first one if the set selected none)."""
        if not self.models:
            raise DataError("the model set is empty", path=str(self.folder) if self.folder else None)
        return self[self.selected] if self.selected else self.models[0]

    def for_lang(self, lang: str | None) -> list[ModelEntry]:
        return [m for m in self.models if m.lang == lang]

    # files -----------------------------------------------------------------------------------
    def write(self, folder: str | Path) -> Path:
        """Write ``models.json`` into ``folder`` (paths inside it are stored relative to it), atomically."""
        folder = Path(folder)

        def rel(p: str) -> str:
            try:
                return str(Path(p).resolve().relative_to(folder.resolve()))
            except ValueError:
                return p

        atomic_write_json(
            folder / self.FILE,
            {
                "schema_version": SCHEMA_VERSION,
                "task": self.task,
                "labels": self.labels,
                "models": [{**dataclasses.asdict(m), "path": rel(m.path)} for m in self.models],
                "selected": self.selected,
                "selection": self.selection,
            },
        )
        return folder / self.FILE

    @classmethod
    def load(cls, folder: str | Path) -> "ModelSet":
        """Read the ``models.json`` a trainer stage wrote in ``folder``; DataError if there is none or it
        does not fit the schema."""
        folder = Path(folder)
        file = folder / cls.FILE
        if not file.is_file():
            raise DataError(
                f"no model set here (no {cls.FILE}): this stage's output is not a trained model", path=str(folder)
            )
        try:
            raw = json.loads(file.read_text(encoding="utf-8"))
            if raw.get("schema_version") != SCHEMA_VERSION:
                raise ValueError(f"schema_version {raw.get('schema_version')!r}, expected {SCHEMA_VERSION}")
            models = [
                ModelEntry(**{**m, "path": str(folder / m["path"]) if not Path(m["path"]).is_absolute() else m["path"]})
                for m in raw["models"]
            ]
        except (ValueError, KeyError, TypeError) as e:
            raise DataError(f"not a valid model set: {e}", path=str(file)) from None
        return cls(models, raw.get("task"), raw.get("labels"), raw.get("selected"), raw.get("selection", ""), folder)

    @classmethod
    def of(cls, ref: Any) -> "ModelSet":
        """A ModelSet from what a ``model`` input may be: a ModelSet, a stage folder with ``models.json``,
        a model folder, or a hub id (a set of one model, task and labels read when it is loaded)."""
        if isinstance(ref, ModelSet):
            return ref
        path = Path(str(ref))
        if (path / cls.FILE).is_file():
            return cls.load(path)
        return cls([ModelEntry(name=path.name or str(ref), path=str(ref))], selection="named directly")
