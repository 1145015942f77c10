"""Model references and tiny built-in models.

A model reference is a Hugging Face id, a local folder, or ``augkit:tiny-xlmr`` — a tiny XLM-R
(sentencepiece tokenizer + masked LM with random weights, or briefly trained with
``augkit:tiny-xlmr-trained``) built in-process from text shipped with augkit — or ``augkit:tiny-marian``,
a tiny MarianMT sequence-to-sequence model (shared sentencepiece vocabulary, random weights) for
exercising translation machinery. Tiny models are for
tests, demos and benchmarks on machines without a model hub; they are built once into
``$AUGKIT_CACHE`` (default ``~/.cache/augkit``) and reused.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

from .atomic import atomic_dir
from .errors import AugkitError

RESOURCES = Path(__file__).parent / "resources"
#: bump when the way tiny models are built changes, so cached builds of the old recipe are not reused
BUILD_VERSION = 3
TINY = {
    "augkit:tiny-xlmr": dict(hidden=64, layers=2, heads=2, ffn=128, train_steps=0),
    "augkit:tiny-xlmr-trained": dict(hidden=64, layers=2, heads=2, ffn=128, train_steps=300),
}
#: position embeddings of a tiny XLM-R (128 subwords usable: RoBERTa's positions start after the padding index)
TINY_MAX_POSITIONS = 130
#: tiny sequence-to-sequence (translation) models, built like TINY
TINY_MT = {
    "augkit:tiny-marian": dict(d_model=32, layers=1, heads=2, ffn=64),
}


def cache_dir() -> Path:
    return Path(os.environ.get("AUGKIT_CACHE", Path.home() / ".cache" / "augkit"))


def resolve_model(ref: str) -> str:
    """A loadable model id or folder for ``ref`` (building a tiny model when asked for one)."""
    if ref in TINY or ref in TINY_MT:
        shape = TINY.get(ref) or TINY_MT[ref]
        build = build_tiny_xlmr if ref in TINY else build_tiny_marian
        text = (RESOURCES / "tiny_corpus.txt").read_text(encoding="utf-8")
        key = hashlib.sha256((f"{ref}|{BUILD_VERSION}|" + repr(sorted(shape.items())) + text).encode()).hexdigest()[:12]
        folder = cache_dir() / f"{ref.split(':')[1]}-{key}"
        if not (folder / "config.json").exists():
            _build_once(ref, folder, build, text, shape)
        return str(folder)
    if ref.startswith("augkit:"):
        raise AugkitError(f"unknown built-in model {ref!r}; known: {', '.join([*TINY, *TINY_MT])}")
    return ref


def _build_once(ref: str, folder: Path, build, text: str, shape: dict) -> None:
    """Build a built-in model into the cache. Processes that need it at once (parallel runs or test
    workers sharing a cache) take turns on a lock: one builds, the others find it built."""
    from filelock import FileLock

    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if (folder / "config.json").exists():
            return
        what = (
            f"a {shape['layers']}-layer XLM-R"
            + (
                f" trained {shape['train_steps']} masked-LM steps, about 10 seconds on 2 CPU cores"
                if shape.get("train_steps")
                else ", random weights, a few seconds"
            )
            if ref in TINY
            else "a 1-layer Marian, random weights, a few seconds"
        )
        print(
            f"augkit: building the built-in model {ref} on first use ({what}); kept in {folder}",
            file=sys.stderr,
            flush=True,
        )
        start = time.perf_counter()
        build(folder, text.splitlines(), **shape)
        print(f"augkit: built {ref} in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)


def build_tiny_xlmr(
    folder: str | Path,
    lines: list[str],
    *,
    hidden: int = 64,
    layers: int = 2,
    heads: int = 2,
    ffn: int = 128,
    vocab_size: int = 400,
    max_positions: int = TINY_MAX_POSITIONS,
    train_steps: int = 0,
    seed: int = 0,
) -> Path:
    """Build a tiny XLM-R masked LM with a sentencepiece tokenizer trained on ``lines`` (atomically).

    The weights are a function of ``seed`` alone, and the global random state is left as it was
    (``isolated_rng``): building a model must not change what a run draws afterwards."""
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM, XLMRobertaTokenizer
    from transformers.utils import logging as hf_logging

    from .seeding import isolated_rng

    hf_logging.disable_progress_bar()  # augkit shows its own progress

    folder = Path(folder)
    with atomic_dir(folder) as tmp, isolated_rng(seed):
        (tmp / "sentencepiece.bpe.model").write_bytes(_sentencepiece_model(lines, vocab_size))
        tok = XLMRobertaTokenizer.from_pretrained(str(tmp))
        tok.model_max_length = max_positions - 2
        config = XLMRobertaConfig(
            vocab_size=len(tok),
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            intermediate_size=ffn,
            max_position_embeddings=max_positions,
            type_vocab_size=1,
            pad_token_id=tok.pad_token_id,
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
        )
        model = XLMRobertaForMaskedLM(config)
        if train_steps:
            _train_mlm(model, tok, lines, train_steps, seed)
        model.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
    return folder


def build_tiny_marian(
    folder: str | Path,
    lines: list[str],
    *,
    d_model: int = 32,
    layers: int = 1,
    heads: int = 2,
    ffn: int = 64,
    vocab_size: int = 300,
    max_positions: int = 128,
    seed: int = 0,
) -> Path:
    """Build a tiny MarianMT model (random weights) with one sentencepiece vocabulary, trained on
    ``lines``, for both sides (atomically; the global random state is left as it was)."""
    import json

    import sentencepiece as spm
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer
    from transformers.utils import logging as hf_logging

    from .seeding import isolated_rng

    hf_logging.disable_progress_bar()
    folder = Path(folder)
    with atomic_dir(folder) as tmp, isolated_rng(seed):
        spm_model = _sentencepiece_model(
            lines,
            vocab_size,
            unk_id=0,
            eos_id=1,
            pad_id=2,
            bos_id=-1,
            unk_piece="<unk>",
            eos_piece="</s>",
            pad_piece="<pad>",
        )
        spm_dir = tmp / ".spm"
        spm_dir.mkdir()
        for name in ("source.spm", "target.spm"):
            (spm_dir / name).write_bytes(spm_model)
        sp = spm.SentencePieceProcessor(model_proto=spm_model)
        (spm_dir / "vocab.json").write_text(json.dumps({sp.id_to_piece(i): i for i in range(sp.get_piece_size())}))
        tok = MarianTokenizer(
            vocab=str(spm_dir / "vocab.json"),
            source_spm=str(spm_dir / "source.spm"),
            target_spm=str(spm_dir / "target.spm"),
            model_max_length=max_positions,
        )
        config = MarianConfig(
            vocab_size=len(tok),
            d_model=d_model,
            encoder_layers=layers,
            decoder_layers=layers,
            encoder_attention_heads=heads,
            decoder_attention_heads=heads,
            encoder_ffn_dim=ffn,
            decoder_ffn_dim=ffn,
            max_position_embeddings=max_positions,
            pad_token_id=tok.pad_token_id,
            eos_token_id=tok.eos_token_id,
            decoder_start_token_id=tok.pad_token_id,
            forced_eos_token_id=tok.eos_token_id,
        )
        MarianMTModel(config).save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
        for f in spm_dir.iterdir():
            f.unlink()
        spm_dir.rmdir()
    return folder


def _sentencepiece_model(lines: list[str], vocab_size: int, **special) -> bytes:
    """A unigram sentencepiece model trained on ``lines`` (``special``: piece ids and names), as bytes.
    One thread keeps sentencepiece's training deterministic."""
    import io

    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        hard_vocab_limit=False,
        character_coverage=1.0,
        num_threads=1,
        minloglevel=2,
        **special,
    )
    return model.getvalue()


def _train_mlm(model, tok, lines: list[str], steps: int, seed: int) -> None:
    """A few hundred masked-LM steps so the tiny model predicts plausible words for the demo, on the
    Trainer path ``mlm-pretrain`` takes (``augkit.tasks.train_masked_lm``)."""
    from .tasks.mlm import train_masked_lm
    from .tasks.settings import TrainingParams

    params = TrainingParams(
        learning_rate=3e-3,
        batch_size=16,
        max_steps=steps,
        max_length=64,
        lr_scheduler_type="constant",
        logging_steps=steps,
    )
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the weights must not depend on the thread count of the process that built them
    try:
        train_masked_lm(model, tok, [line for line in lines if line.strip()], params, mlm_probability=0.2, seed=seed)
    finally:
        torch.set_num_threads(threads)
    model.eval()


def unsafe_weights_message(path: str | Path) -> str:
    """What to tell a user whose model file torch will not unpickle safely: why, and how to convert it."""
    folder = Path(path)
    bins = sorted(folder.glob("*.bin")) if folder.is_dir() else [folder]
    weights = bins[0] if bins else folder / "pytorch_model.bin"
    return (
        f"{weights} holds Python objects that torch.load(weights_only=True) refuses to unpickle (loading them "
        "could run code); augkit loads weights only from safetensors or plain-tensor files. If you made this "
        'file yourself and trust it, convert it once to safetensors: python -c "import torch, '
        "safetensors.torch as s; s.save_file({k: v.contiguous().clone() for k, v in torch.load("
        f"'{weights}', weights_only=False).items()}}, '{weights.parent / 'model.safetensors'}')\" and move "
        f"{weights.name} out of the folder"
    )


def load_pretrained(loader, path: str | Path, *, ref: str | Path | None = None, what: str = "model", **kwargs):
    """``loader.from_pretrained(path, **kwargs)`` with failures as one DataError naming the model
    (``ref``, default ``path``): weights torch refuses to unpickle get ``unsafe_weights_message``; a
    missing or broken file the loader's first line."""
    import pickle

    from .errors import DataError

    try:
        return loader.from_pretrained(str(path), **kwargs)
    except pickle.UnpicklingError:
        raise DataError(unsafe_weights_message(path), path=str(ref or path)) from None
    except (OSError, ValueError, KeyError, RuntimeError, EOFError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise DataError(f"cannot load {what}: {type(e).__name__}: {first}", path=str(ref or path)) from None


def read_model_config(ref: str | Path) -> dict | None:
    """A model's configuration (``config.json`` as a dict) read without loading weights or building
    anything: a local folder's file, a built-in tiny model's shape, or a hub id's cached config. None
    when it cannot be known yet (a model an earlier stage will make, a hub id not cached here)."""
    import json

    ref = str(ref)
    if ref in TINY:
        shape = TINY[ref]
        return {
            "model_type": "xlm-roberta",
            "max_position_embeddings": shape.get("max_positions", TINY_MAX_POSITIONS),
            "pad_token_id": 1,  # sentencepiece XLM-R vocabularies: <s> <pad> </s> <unk> first
            "num_hidden_layers": shape["layers"],
            "hidden_size": shape["hidden"],
            "num_attention_heads": shape["heads"],
            "intermediate_size": shape["ffn"],
        }
    if ref.startswith(("augkit:", "stage:")):
        return None
    folder = Path(ref).expanduser()
    if folder.is_dir():
        try:
            config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return config if isinstance(config, dict) else None
    try:
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(ref, local_files_only=True).to_dict()
    except Exception:  # not cached, or not a model id at all: the stage that loads it says why
        return None
