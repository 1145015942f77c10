"""A small multilingual benchmark augkit builds itself (NER and NLI in an English-like source language and
target languages that differ from it in controlled ways), for demos and tests that need nothing from the
network: the ``synthetic`` reader (``benchmark.py`` documents the benchmark file)."""

from augkit import hookimpl

from .benchmark import Benchmark, load_benchmark
from .reader import SyntheticReader


@hookimpl
def register_readers(register):
    register(SyntheticReader)


__all__ = ["Benchmark", "SyntheticReader", "load_benchmark"]
