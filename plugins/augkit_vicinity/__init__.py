"""MultiMix's vicinity generator (GEN-LM) as an augkit plugin."""
from augkit import hookimpl

from .generator import VicinityGenerator, VicinityParams
from .mlm import MaskedLM, VicinityModelError
from .report import report_sections  # noqa: F401  (the report_sections hook)


@hookimpl
def register_generators(register):
    register(VicinityGenerator)


__all__ = ["MaskedLM", "VicinityGenerator", "VicinityModelError", "VicinityParams"]
