"""X-Mixup (Yang et al., ICLR 2022) as augkit components: the ``xmixup`` trainer (cross-lingual
manifold mixup for classification, tagging and QA) and the ``parallel`` data format it reads (``hf-parallel``
for translate-train pairs on the Hugging Face hub).

The mixup encoder (``XMixupModel``) is usable on its own: wrap any BERT-style Hugging Face task model
and call it with a source and a target batch."""
from augkit import hookimpl

from .data import HubParallelReader, ParallelReader, ParallelWriter
from .method import load_model, predict, save_model
from .mixup import XMixupModel, attention_entropies
from .report import report_sections  # noqa: F401  (the report_sections hook)
from .trainer import XMixupTrainer

__all__ = ["XMixupModel", "attention_entropies", "XMixupTrainer", "ParallelReader", "ParallelWriter", "HubParallelReader", "load_model", "save_model",
           "predict"]


@hookimpl
def register_trainers(register):
    register(XMixupTrainer)


@hookimpl
def register_readers(register):
    register(ParallelReader)
    register(HubParallelReader)


@hookimpl
def register_writers(register):
    register(ParallelWriter)


@hookimpl
def register_commands(subparsers):
    from .prepare import register_command

    register_command(subparsers)
