"""Analyses of models on data: linear CKA between parallel source and target representations per layer
and language, language centroids and the sentence scatter of X-Mixup's Figure 1: ``augkit analyze cka``
on the command line, or the ``cka`` analyzer as a recipe's ``analyze`` stage (its section lands in the
run report); the ``compare`` analyzer puts trainer stages' target-language scores side by side."""

from augkit import hookimpl

from .analyze import CkaResult, analyze_cka, cka_table, register_analyze_command, write_outputs
from .cka import StreamingCKA, linear_cka
from .compare import CompareAnalyzer, compare
from .report import report_sections  # noqa: F401  (the report_sections hook)
from .stage import CkaAnalyzer


@hookimpl
def register_commands(subparsers):
    register_analyze_command(subparsers)


@hookimpl
def register_analyzers(register):
    register(CkaAnalyzer)
    register(CompareAnalyzer)


__all__ = [
    "CkaAnalyzer",
    "CompareAnalyzer",
    "compare",
    "CkaResult",
    "StreamingCKA",
    "analyze_cka",
    "cka_table",
    "linear_cka",
    "write_outputs",
]
