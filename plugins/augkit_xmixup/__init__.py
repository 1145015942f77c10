"""X-Mixup (Yang et al., ICLR 2022) as augkit components: the ``xmixup`` trainer (cross-lingual
manifold mixup for classification, tagging and QA) and the ``parallel`` data format it reads (``hf-parallel``
for translate-train pairs on the Hugging Face hub).

The mixup encoder (``XMixupModel``) is usable on its own: wrap any BERT-style Hugging Face task model
and call it with a source and a target batch."""

import importlib

from augkit import hookimpl

from .data import HubParallelReader, ParallelReader, ParallelWriter
from .report import report_sections  # noqa: F401  (the report_sections hook)
from .trainer import XMixupTrainer

# torch: loaded on first use, so registering the plugin stays light
_LAZY = {
    "load_model": ".method",
    "predict": ".method",
    "save_model": ".method",
    "XMixupModel": ".mixup",
    "attention_entropies": ".mixup",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name], __name__), name)


__all__ = [
    "XMixupModel",
    "attention_entropies",
    "XMixupTrainer",
    "ParallelReader",
    "ParallelWriter",
    "HubParallelReader",
    "load_model",
    "save_model",
    "predict",
]


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
