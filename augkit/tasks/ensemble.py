"""A seed ensemble: ``n_models`` task models trained alike from one pretrained encoder, each with its own
seed, kept as a model set. MultiMix's warm-up (Algorithm 1, line 1) and X-Mixup's runs (mean ± std over
seeds) are both one; a third-party trainer that trains several seeds subclasses ``SeedEnsembleTrainer``
and writes only what differs: how one member trains.

What the skeleton gives:

* ``EnsembleParams`` — ``model``, ``n_models``, ``seeds`` (checked against ``n_models``), ``labels``, on
  top of ``TrainingParams``; ``member_seeds`` derives the seeds from the run seed when none are given;
* ``train_corpus`` — a ``many=True`` input's corpora (the training data) as one corpus;
* ``train_member`` — resume-aware training of one member into ``models/<name>/``: a member whose
  ``train_report.json`` is on disk is not trained again; rank 0 saves the model, then the report;
* ``best_model_set`` — the members as a ``ModelSet`` with the best one by a named score selected.

Torch-free at import, like ``augkit.tasks.settings``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

from .. import distributed
from ..atomic import atomic_write_json
from ..components import Trainer
from ..data import Corpus, concat
from ..model_sets import ModelEntry, ModelSet
from ..params import ModelRef, param
from ..pretrained import read_model_config
from ..seeding import derive_seed
from .settings import TrainingParams


@dataclasses.dataclass
class EnsembleParams(TrainingParams):
    model: ModelRef = param("xlm-roberta-large", help="pretrained encoder: Hugging Face id or folder")
    n_models: int = param(1, help="models trained with different seeds (results: mean ± std)", ge=1, le=100)
    seeds: list[int] = param([], help="one seed per model (default: derived from the run seed)")
    labels: list[str] | None = param(None, help="the label set (default: the labels found in the training data)")

    def check(self):
        super().check()
        if self.seeds and len(self.seeds) != self.n_models:
            raise ValueError(f"seeds: expected {self.n_models} seeds (n_models), got {len(self.seeds)}")
        check_max_length(self.model, self.max_length)

    def member_seeds(self, run_seed: int) -> list[int]:
        """``seeds`` when given, else one seed per model derived from the run seed (stable across resumes)."""
        return list(self.seeds) or [derive_seed(run_seed, "model", k) % (2**31) for k in range(self.n_models)]


#: model types whose position ids start after the padding index (RoBERTa's scheme): pad_token_id + 1
#: of their position embeddings are never used by a token
_OFFSET_POSITIONS = {"roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "data2vec-text"}


def usable_positions(config: dict) -> int | None:
    """How many subwords the model reads at once (its position embeddings, less RoBERTa's offset), from its
    configuration; None when the configuration does not say."""
    positions = config.get("max_position_embeddings")
    if not isinstance(positions, int):
        return None
    if config.get("model_type") in _OFFSET_POSITIONS:
        positions -= int(config.get("pad_token_id") or 0) + 1
    return positions


def check_max_length(model: ModelRef | str | None, max_length: int) -> None:
    """Refuse (ValueError naming ``max_length``) an input length the model cannot read, before anything
    loads: read from the model's configuration, so unknown when the model is made by an earlier stage or
    is a hub id not cached here (then the run's first forward pass would say so)."""
    if not model:
        return
    usable = usable_positions(read_model_config(model) or {})
    if usable is not None and max_length > usable:
        raise ValueError(
            f"max_length: expected at most {usable} (the model {model} reads {usable} subwords at once), "
            f"got {max_length}"
        )


class Trained(NamedTuple):
    """What training one member gives ``train_member``: its report (JSON-ready) and how rank 0 saves the
    model into its folder."""

    report: dict
    save: Callable[[Path], object]


class SeedEnsembleTrainer(Trainer):
    """A trainer whose stage trains a seed ensemble (see the module's docstring). Subclasses declare
    ``Params`` as a subclass of ``EnsembleParams`` and call the helpers from ``run_stage``."""

    params: EnsembleParams

    @staticmethod
    def train_corpus(corpora: Sequence[Corpus]) -> Corpus:
        """A ``many=True`` input's corpora as one (in the order the recipe names them)."""
        return corpora[0] if len(corpora) == 1 else concat(corpora, name="+".join(c.name or "?" for c in corpora))

    @staticmethod
    def member_folder(ctx, name: str) -> Path:
        return ctx.out_dir / "models" / name

    def train_member(self, ctx, name: str, train: Callable[[], Trained]) -> dict:
        """Member ``name``'s report: read from ``models/<name>/train_report.json`` when it finished before an
        interruption, else ``train()`` (on every process), then saved by rank 0 — the model first, the report
        last, so a report on disk always means a complete model beside it."""
        folder = self.member_folder(ctx, name)
        done = folder / "train_report.json"
        from .training import finished_report  # torch: only when a member trains

        finished = finished_report(done)
        if finished is not None:
            return finished
        trained = train()
        if distributed.is_main():
            trained.save(folder)
            atomic_write_json(done, trained.report)
        return trained.report

    @staticmethod
    def best_model_set(
        ctx,
        names: Sequence[str],
        reports: dict[str, dict],
        *,
        task: str,
        labels: list[str] | None,
        score: str,
        report_key: str | None = None,
    ) -> ModelSet:
        """The members ``names`` as a model set, each with its seed and ``score`` (read from its report's
        ``report_key``, default ``score``), the best by that score selected (the first when none has one)."""
        key = report_key or score
        entries = [
            ModelEntry(
                n,
                str(SeedEnsembleTrainer.member_folder(ctx, n)),
                seed=reports[n].get("seed"),
                scores={score: reports[n][key]} if reports[n].get(key) is not None else {},
            )
            for n in names
        ]
        return ModelSet.selecting_best(entries, score, task=task, labels=labels)
