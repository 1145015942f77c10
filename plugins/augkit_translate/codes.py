"""Language codes: a recipe's ISO 639-1 code ("de") as each family of translation model spells it.

* many-to-many models mark the language with a special token: M2M100 ``__de__``, NLLB ``deu_Latn``
  (FLORES-200 codes), mBART-50 ``de_DE``; the target's token is forced as the first generated token;
* multi-target MarianMT models (opus-mt-en-ROMANCE …) expect ``>>fr<<`` before the source text;
* single-pair MarianMT models (opus-mt-en-de) translate one pair, named in their id.
The code that a tokenizer knows is found by looking the candidates up in its vocabulary, so a model of
any of these families works without saying which it is.
"""

from __future__ import annotations

import re

# ISO 639-1 → FLORES-200 (NLLB); the languages of XTREME's tasks and the MultiMix/X-Mixup recipes
FLORES = {
    "af": "afr_Latn",
    "ar": "arb_Arab",
    "bg": "bul_Cyrl",
    "bn": "ben_Beng",
    "de": "deu_Latn",
    "el": "ell_Grek",
    "en": "eng_Latn",
    "es": "spa_Latn",
    "et": "est_Latn",
    "eu": "eus_Latn",
    "fa": "pes_Arab",
    "fi": "fin_Latn",
    "fr": "fra_Latn",
    "he": "heb_Hebr",
    "hi": "hin_Deva",
    "hu": "hun_Latn",
    "id": "ind_Latn",
    "it": "ita_Latn",
    "ja": "jpn_Jpan",
    "jv": "jav_Latn",
    "ka": "kat_Geor",
    "kk": "kaz_Cyrl",
    "ko": "kor_Hang",
    "ml": "mal_Mlym",
    "mr": "mar_Deva",
    "ms": "zsm_Latn",
    "my": "mya_Mymr",
    "nl": "nld_Latn",
    "pt": "por_Latn",
    "ru": "rus_Cyrl",
    "sw": "swh_Latn",
    "ta": "tam_Taml",
    "te": "tel_Telu",
    "th": "tha_Thai",
    "tl": "tgl_Latn",
    "tr": "tur_Latn",
    "ur": "urd_Arab",
    "vi": "vie_Latn",
    "yo": "yor_Latn",
    "zh": "zho_Hans",
}
# ISO 639-1 → mBART-50
MBART = {
    "ar": "ar_AR",
    "de": "de_DE",
    "en": "en_XX",
    "es": "es_XX",
    "et": "et_EE",
    "fi": "fi_FI",
    "fr": "fr_XX",
    "hi": "hi_IN",
    "it": "it_IT",
    "ja": "ja_XX",
    "kk": "kk_KZ",
    "ko": "ko_KR",
    "my": "my_MM",
    "nl": "nl_XX",
    "ru": "ru_RU",
    "tr": "tr_TR",
    "vi": "vi_VN",
    "zh": "zh_CN",
    "af": "af_ZA",
    "fa": "fa_IR",
    "he": "he_IL",
    "id": "id_ID",
    "ka": "ka_GE",
    "ml": "ml_IN",
    "mr": "mr_IN",
    "pt": "pt_XX",
    "sw": "sw_KE",
    "ta": "ta_IN",
    "te": "te_IN",
    "th": "th_TH",
    "tl": "tl_XX",
    "ur": "ur_PK",
}


class LanguageError(ValueError):
    pass


def language_token(tokenizer, lang: str) -> str | None:
    """The special token with which ``tokenizer``'s model marks ``lang`` (None: it marks none)."""
    vocab = tokenizer.get_vocab()
    for candidate in (f"__{lang}__", FLORES.get(lang), MBART.get(lang), f">>{lang}<<"):
        if candidate and candidate in vocab:
            return candidate
    return None


def marks_languages(tokenizer) -> bool:
    vocab = tokenizer.get_vocab()
    return any(
        re.fullmatch(r"__[a-z]{2,3}__|[a-z]{3}_[A-Z][a-z]{3}|[a-z]{2}_[A-Z]{2}|>>[a-z]{2,3}<<", t)
        for t in vocab
        if len(t) <= 10
    )


def pair_of(model_name: str) -> tuple[str, str] | None:
    """(source, target) of a single-pair MarianMT model from its id (``…opus-mt-en-de``)."""
    m = re.search(r"opus-mt-([a-z]{2,3})-([a-z]{2,3})$", model_name.rstrip("/"))
    return (m.group(1), m.group(2)) if m else None


def plan_languages(tokenizer, model_name: str, source: str, target: str) -> dict:
    """How to ask the model for ``source`` → ``target``: ``src_lang`` to set on the tokenizer, a
    ``prefix`` for the source text, a ``forced_bos`` token for generation. A pair the model does not
    cover is a LanguageError saying which it does."""
    if marks_languages(tokenizer):
        tgt = language_token(tokenizer, target)
        if tgt is None:
            raise LanguageError(
                f"{model_name} has no language token for {target!r} (looked for __{target}__, "
                f"{FLORES.get(target, '-')}, {MBART.get(target, '-')}, >>{target}<<)"
            )
        if tgt.startswith(">>"):  # multi-target Marian: the target is named in the source text
            return {"src_lang": None, "prefix": f"{tgt} ", "forced_bos": None}
        src = language_token(tokenizer, source)
        if src is None:
            raise LanguageError(f"{model_name} has no language token for the source language {source!r}")
        code = src.strip("_") if src.startswith("__") else src
        return {"src_lang": code, "prefix": "", "forced_bos": tgt}
    pair = pair_of(model_name)
    if pair is not None and pair != (source, target):
        raise LanguageError(
            f"{model_name} translates {pair[0]} → {pair[1]}, not {source} → {target}; use "
            f"opus-mt-{source}-{target} or a many-to-many model (facebook/m2m100_418M, "
            "facebook/nllb-200-distilled-600M)"
        )
    return {"src_lang": None, "prefix": "", "forced_bos": None}
