"""Giving augmented examples their labels: a task model (a labeler), or an explicit policy for replaced words.

A generator that replaces words (GEN-LM) cannot know the tags of the words it put in, so its tagging
outputs are unlabelled (``tags == []``) and carry ``orig_tags``, ``replaced`` and ``meta["changed"]``. In a
recipe, a labeler stage labels them. Used on its own (``augkit augment``, ``augkit.augment``), the user
chooses one of:

* ``label_with=MODEL`` — a task model labels them (all words, or with the generator's ``relabel =
  "masked"`` only the replaced ones);
* ``replaced_tags=`` a policy for the words a generator changed (untouched words keep their tags):

  - ``"keep"``: the source word's tag (MultiMix's label-preservation assumption);
  - ``"unknown"``: ``UNKNOWN_TAG`` (``"_"``): written to the file, ignored by training;
  - ``"drop"``: leave out a sentence in which a word inside an entity (tag other than ``O``) changed; the
    others keep their tags (a changed ``O`` word stays ``O``);
  - ``"none"``: leave the new sentences untagged (for a labeler later; JSON Lines keeps the provenance).

Sentence pairs keep their source's label (label preservation) unless a labeler relabels them.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from .components import Labeler
from .data import UNKNOWN_TAG, Corpus, Example
from .errors import DataError, ParamError

REPLACED_TAG_POLICIES = ("keep", "unknown", "drop", "none")


def default_labeler() -> str:
    """The labeler to use when none is named: the one installed labeler that declares itself the default
    (``Labeler.default = True``), else the only labeler installed; a PluginError says what to name."""
    from .errors import PluginError
    from .plugins import get_plugin_manager

    labelers = get_plugin_manager().components("labeler")
    claims = [r for r in labelers if issubclass(r.cls, Labeler) and r.cls.default]
    if len(claims) == 1:
        return claims[0].qualified
    if not claims and len(labelers) == 1:
        return labelers[0].qualified
    if not labelers:
        raise PluginError(
            "no labeler is installed (the multimix plugin brings one); install one or give tags "
            "another way (replaced_tags)"
        )
    among = claims or labelers
    raise PluginError(
        f"{'several labelers claim to be the default' if claims else 'no labeler is the default'}: "
        f"name one ({', '.join(r.qualified for r in among)}), e.g. --labeler {among[0].qualified}"
    )


def check_policy(policy: str | None, where: str = "replaced_tags") -> None:
    if policy is not None and policy not in REPLACED_TAG_POLICIES:
        raise ParamError(f"{where}: expected one of {', '.join(REPLACED_TAG_POLICIES)}, got {policy!r}")


def changed_positions(ex: Example) -> list[int]:
    """The positions whose word a generator actually changed (``meta["changed"]``; else ``replaced``)."""
    changed = ex.meta.get("changed")
    return list(changed) if changed is not None else list(ex.replaced)


def needs_tags(ex: Example) -> bool:
    """A tagging example a generator left untagged although its source was tagged."""
    return ex.type == "tagging" and not ex.tags and bool(ex.orig_tags)


def tag_replaced(examples: Iterable[Example], policy: str, stats: dict[str, int] | None = None) -> Iterator[Example]:
    """Apply a ``replaced_tags`` policy (see the module docstring) to the examples that need tags; the
    others pass unchanged. ``stats`` counts ``dropped_changed_entity``."""
    check_policy(policy)
    for ex in examples:
        if policy == "none" or not needs_tags(ex):
            yield ex
            continue
        if len(ex.orig_tags) != len(ex.tokens):
            raise DataError(
                f"example {ex.id!r}: {len(ex.tokens)} words but {len(ex.orig_tags)} original tags, so "
                f"replaced_tags={policy!r} cannot carry tags over word by word; label it with a task "
                "model instead (label_with / --label-with)"
            )
        changed = set(changed_positions(ex))
        tags = list(ex.orig_tags)
        if policy == "unknown":
            tags = [UNKNOWN_TAG if i in changed else t for i, t in enumerate(tags)]
        elif policy == "drop" and any(tags[i] != "O" for i in changed):
            if stats is not None:
                stats["dropped_changed_entity"] = stats.get("dropped_changed_entity", 0) + 1
            continue
        yield ex.replace(tags=tags, meta={**ex.meta, "tags_from": f"replaced_tags={policy}"})


def load_labelling_model(ref: Any, types: Iterable[str], device: str = "cpu"):
    """The task model ``ref`` names (a model folder, hub id, or a trainer stage's folder: its selected
    model), loaded and checked against the example types it is to label. DataError when it does not fit."""
    from .model_sets import ModelSet
    from .tasks import load_task_model

    path = ModelSet.of(ref).best.path
    tm = load_task_model(path, device=device)
    wrong = sorted(t for t in set(types) if t != tm.task)
    if wrong:
        raise DataError(f"this is a {tm.task} model; it cannot label {wrong[0]} examples", path=str(ref))
    return tm


def label_examples(
    examples: Iterable[Example] | Corpus,
    model: Any,
    *,
    labeler: str | None = None,
    device: str = "cpu",
    **labeler_params,
) -> Corpus:
    """Label ``examples`` with the labeler named ``labeler`` (default: ``default_labeler()``) and ``model``
    (a loaded task model, a model folder or id, or a trainer stage folder); returns the labelled corpus
    (``probs`` included)."""
    from .environment import pick_device
    from .plugins import resolve

    device = pick_device(device)
    corpus = examples if isinstance(examples, Corpus) else Corpus.from_examples(list(examples))
    if not len(corpus):
        return corpus
    if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        model = load_labelling_model(model, corpus.types, device=device)
    return resolve("labeler", labeler or default_labeler(), "labeler")(**labeler_params).label(corpus, model)


#: what a reader records about the file an example came from, which new examples take from their source:
#: ``extra`` (columns augkit has no field for, e.g. a CSV's other columns), ``columns`` (the names the
#: fields were read from) and ``header`` (the file's columns in order), so a writer can use them again
INHERITED_META = ("extra", "columns", "header")


def inherit_extra(examples: Iterable[Example], sources: dict[str, Example]) -> Iterator[Example]:
    """New examples take their source's ``INHERITED_META`` entries unless they have their own."""
    for ex in examples:
        src = sources.get(ex.source_id) if ex.source_id is not None else None
        if src is not None:
            taken = {k: src.meta[k] for k in INHERITED_META if k in src.meta and k not in ex.meta}
            if taken:
                ex = ex.replace(meta={**ex.meta, **taken})
        yield ex


def finish_augmented(
    new: Iterable[Example] | Corpus,
    *,
    label_with: Any = None,
    replaced_tags: str | None = None,
    labeler: str | None = None,
    device: str = "cpu",
    labeler_params: dict | None = None,
    stats: dict[str, int] | None = None,
) -> list[Example]:
    """New examples with their labels: from ``label_with`` (a task model, through ``labeler``) if given,
    else by the ``replaced_tags`` policy (examples that need no tags pass unchanged)."""
    if label_with is not None:
        return list(label_examples(new, label_with, labeler=labeler, device=device, **(labeler_params or {})))
    if replaced_tags is not None:
        return list(tag_replaced(new, replaced_tags, stats))
    return list(new)
