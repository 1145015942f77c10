"""Task models: a Hugging Face encoder with a token-classification, sequence-classification or
extractive-QA head, its tokenizer, its task and its label set.

A saved task model is an ordinary Hugging Face folder (``config.json``, ``model.safetensors``, the
tokenizer files): the task is read from the head's architecture (``...ForTokenClassification`` and so
on) and the label set from ``config.id2label``, so any such folder or hub id is a task model, and
augkit's own are usable with ``from_pretrained`` directly.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Sequence

from ..data import Example
from ..errors import DataError

#: the tasks augkit's task layer handles, with the example type each one trains on
TASKS = {"tagging": "tagging", "pair": "pair", "qa": "qa"}
_HEADS = {"tagging": "ForTokenClassification", "pair": "ForSequenceClassification", "qa": "ForQuestionAnswering"}


@dataclasses.dataclass
class TaskModel:
    """A model with its tokenizer, task (``"tagging"``, ``"pair"`` or ``"qa"``) and label set (the
    order of the head's outputs; empty for QA)."""

    model: Any
    tokenizer: Any
    task: str
    labels: list[str]

    @property
    def device(self):
        return next(self.model.parameters()).device

    @property
    def label_index(self) -> dict[str, int]:
        return {label: i for i, label in enumerate(self.labels)}

    def save(self, folder: str | Path) -> Path:
        """Save in Hugging Face layout (safetensors; labels in ``config.id2label``), atomically."""
        from ..atomic import atomic_dir

        folder = Path(folder)
        with atomic_dir(folder) as tmp:
            self.model.save_pretrained(str(tmp), safe_serialization=True)
            self.tokenizer.save_pretrained(str(tmp))
        return folder

    def to(self, device) -> "TaskModel":
        self.model.to(device)
        return self


def task_of(examples: Sequence[Example] | Any) -> str:
    """The task that trains on ``examples`` (a Corpus or a list of one example type)."""
    types = list(examples.types) if hasattr(examples, "types") else sorted({ex.type for ex in examples})
    if len(types) != 1:
        raise DataError(f"expected one example type, got {types or 'no examples'}")
    if types[0] not in TASKS:
        raise DataError(f"no task model handles {types[0]!r} examples")
    return types[0]


def saved_task(config) -> str | None:
    """The task of a saved model's head, from its architecture (None: no task head)."""
    for arch in getattr(config, "architectures", None) or []:
        for task, suffix in _HEADS.items():
            if arch.endswith(suffix):
                return task
    return None


def load_task_model(
    ref: str | Path,
    task: str | None = None,
    labels: Sequence[str] | None = None,
    *,
    device: str = "cpu",
    seed: int = 0,
    trust_remote_code: bool = False,
) -> TaskModel:
    """A task model from ``ref`` (a folder, a hub id, or ``augkit:tiny-*``).

    A saved task model keeps its head, task and labels (``task``/``labels``, if given, must match).
    A plain encoder gets a fresh head for ``task`` with ``labels`` (needed except for QA), initialised
    from ``seed`` alone: the global random state is neither used nor changed. Raises DataError naming
    the model when it cannot be loaded or does not fit."""
    from transformers import (
        AutoConfig,
        AutoModelForQuestionAnswering,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
    )
    from transformers.utils import logging as hf_logging

    from ..pretrained import load_pretrained, resolve_model
    from ..seeding import isolated_rng

    hf_logging.disable_progress_bar()
    path = resolve_model(str(ref))
    try:
        config = AutoConfig.from_pretrained(path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as e:
        raise DataError(f"cannot load a model config: {str(e).splitlines()[0]}", path=str(ref)) from None
    found = saved_task(config)
    if found is not None:
        if task is not None and task != found:
            raise DataError(f"this is a {found} model, a {task} model was expected", path=str(ref))
        task = found
        saved_labels = [config.id2label[i] for i in range(config.num_labels)] if task != "qa" else []
        if labels is not None and list(labels) != saved_labels:
            raise DataError(
                f"the model's labels ({', '.join(saved_labels)}) differ from the expected ({', '.join(labels)})",
                path=str(ref),
            )
        labels = saved_labels
    if task is None:
        raise DataError("a plain encoder needs a task to get a head (tagging, pair or qa)", path=str(ref))
    if task not in TASKS:
        raise DataError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}", path=str(ref))
    labels = list(labels) if labels is not None else ([] if task == "qa" else None)
    if labels is None:
        raise DataError(f"a label set is needed to give this encoder a new {task} head", path=str(ref))
    cls = {
        "tagging": AutoModelForTokenClassification,
        "pair": AutoModelForSequenceClassification,
        "qa": AutoModelForQuestionAnswering,
    }[task]
    kwargs = (
        {}
        if task == "qa"
        else dict(
            num_labels=len(labels), id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)}
        )
    )
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # a fresh task head is expected, not worth a warning table
    try:
        tokenizer = load_tokenizer(path, trust_remote_code)
        with isolated_rng(seed):  # a fresh head's initialisation is a function of ``seed`` alone
            model = load_pretrained(
                cls, path, ref=ref, what=f"a {task} model", trust_remote_code=trust_remote_code, **kwargs
            )
    except (OSError, ValueError) as e:
        raise DataError(f"cannot load a {task} model: {str(e).splitlines()[0]}", path=str(ref)) from None
    finally:
        hf_logging.set_verbosity(verbosity)
    return TaskModel(model.to(device), tokenizer, task, labels)


def load_tokenizer(ref: str | Path, trust_remote_code: bool = False):
    """The tokenizer of a model folder or id (loads no weights)."""
    from transformers import AutoTokenizer

    from ..pretrained import resolve_model

    return AutoTokenizer.from_pretrained(resolve_model(str(ref)), trust_remote_code=trust_remote_code)
