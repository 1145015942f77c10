"""Analyses of models on data: linear CKA between parallel source and target representations per layer
and language, language centroids and the sentence scatter of X-Mixup's Figure 1 (`augkit analyze cka`)."""
from augkit import hookimpl

from .analyze import CkaResult, analyze_cka, cka_table, register_analyze_command, write_outputs
from .cka import StreamingCKA, linear_cka


@hookimpl
def register_commands(subparsers):
    register_analyze_command(subparsers)


__all__ = ["CkaResult", "StreamingCKA", "analyze_cka", "cka_table", "linear_cka", "write_outputs"]
