"""augkit's built-in data formats: CoNLL, CoNLL-U, JSON Lines, TSV sentence pairs, CSV, plain text (one
sentence per line), SQuAD JSON, and Hugging Face datasets (hub ids, local data files, saved folders). A plugin like
any other: it only uses augkit's public API."""

from augkit import hookimpl

from .conll import ConllReader, ConllWriter
from .conllu import ConlluReader, ConlluWriter
from .csv_format import CsvReader, CsvWriter
from .hf import HFReader
from .jsonl import JsonlReader, JsonlWriter
from .squad import SquadReader, SquadWriter
from .text import TextReader, TextWriter
from .tsv import TsvPairReader, TsvPairWriter


@hookimpl
def register_readers(register):
    for cls in (ConllReader, ConlluReader, JsonlReader, TsvPairReader, CsvReader, TextReader, SquadReader, HFReader):
        register(cls)


@hookimpl
def register_writers(register):
    for cls in (ConllWriter, ConlluWriter, JsonlWriter, TsvPairWriter, CsvWriter, TextWriter, SquadWriter):
        register(cls)
