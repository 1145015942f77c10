"""Translation and back-translation over Hugging Face sequence-to-sequence MT models (MarianMT, M2M100,
NLLB, mBART-50): the ``translate``, ``backtranslate`` and
``add-back-translation`` generators. The recipe's ISO 639-1 language
codes are mapped to each model family's codes (``codes.py``); a pair a model does not cover is refused
with a message naming what it covers."""

from augkit import hookimpl

from .generators import AddBackTranslationGenerator, BacktranslateGenerator, TranslateGenerator
from .translator import Translator

__all__ = ["TranslateGenerator", "BacktranslateGenerator", "AddBackTranslationGenerator", "Translator"]


@hookimpl
def register_generators(register):
    register(TranslateGenerator)
    register(BacktranslateGenerator)
    register(AddBackTranslationGenerator)
