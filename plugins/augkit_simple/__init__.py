"""Simple label-preserving augmenters, the baselines model-based augmentation is measured against.

* ``eda`` — EDA (Wei & Zou, EMNLP 2019) for classification and sentence pairs: synonym replacement,
  random insertion, random swap and random deletion, with EDA's α and number of outputs.
* ``dai-adel`` — Dai & Adel (COLING 2020) for tagging (NER, POS): label-wise token replacement,
  synonym replacement, mention replacement and shuffle within segments. Tags are right by construction.

Synonyms come from a dictionary the user gives (``synonyms_path``: TSV or JSON, see ``synonyms.py``) or
from WordNet through nltk when it is installed with its data. Every random choice is drawn from the
seed and the example id, so outputs do not depend on batching or on the number of processes.
"""

from augkit import hookimpl

from .dai_adel import DaiAdelGenerator
from .eda import EdaGenerator
from .synonyms import Synonyms

__all__ = ["DaiAdelGenerator", "EdaGenerator", "Synonyms"]


@hookimpl
def register_generators(register):
    register(EdaGenerator)
    register(DaiAdelGenerator)
