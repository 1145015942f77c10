"""Analyses of models on data: linear CKA between parallel source and target representations per layer
and language, language centroids and the sentence scatter of X-Mixup's Figure 1: ``augkit analyze cka``
on the command line, or the ``cka`` analyzer as a recipe's ``analyze`` stage (its section lands in the
run report)."""
from augkit import hookimpl

from .analyze import CkaResult, analyze_cka, cka_table, register_analyze_command, write_outputs
from .cka import StreamingCKA, linear_cka
from .report import report_sections
from .stage import CkaAnalyzer


@hookimpl
def register_commands(subparsers):
    register_analyze_command(subparsers)


@hookimpl
def register_analyzers(register):
    register(CkaAnalyzer)


__all__ = ["CkaAnalyzer", "CkaResult", "StreamingCKA", "analyze_cka", "cka_table", "linear_cka", "write_outputs"]
