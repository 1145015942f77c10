"""MultiMix's vicinity generator (GEN-LM) as an augkit plugin."""

import importlib

from augkit import hookimpl

from .generator import VicinityGenerator, VicinityParams
from .report import report_sections  # noqa: F401  (the report_sections hook)

_LAZY = {"MaskedLM": ".mlm", "VicinityModelError": ".mlm"}  # torch: loaded on first use


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name], __name__), name)


@hookimpl
def register_generators(register):
    register(VicinityGenerator)


__all__ = ["MaskedLM", "VicinityGenerator", "VicinityModelError", "VicinityParams"]
