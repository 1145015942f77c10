"""augkit's built-in data formats: CoNLL, CoNLL-U, JSON Lines, TSV sentence pairs, SQuAD JSON, and
Hugging Face datasets by name. A plugin like any other: it only uses augkit's public API."""
from augkit import hookimpl

from .conll import ConllReader, ConllWriter
from .conllu import ConlluReader, ConlluWriter
from .hf import HFReader
from .jsonl import JsonlReader, JsonlWriter
from .squad import SquadReader, SquadWriter
from .tsv import TsvPairReader, TsvPairWriter


@hookimpl
def register_readers(register):
    for cls in (ConllReader, ConlluReader, JsonlReader, TsvPairReader, SquadReader, HFReader):
        register(cls)


@hookimpl
def register_writers(register):
    for cls in (ConllWriter, ConlluWriter, JsonlWriter, TsvPairWriter, SquadWriter):
        register(cls)
