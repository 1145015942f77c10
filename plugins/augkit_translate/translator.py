"""A sequence-to-sequence translation model behind one call: ``Translator.translate(texts, source, target)``.

Inputs are sorted by length and cut into batches whose padded size stays within a token budget, so a
batch holds sentences of similar length (little padding) and as many as fit; the outputs come back in
input order. Greedy and beam search run batched; sampling draws each text with its own seed (from the
run's seed and the text's key), so what a text becomes does not depend on the other texts — the
generator contract.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Sequence

from augkit import DataError, derive_seed, isolated_rng, load_pretrained, resolve_model, resolved_precision
from augkit.tasks import budget_chunks

from .codes import LanguageError, plan_languages


class Translator:
    def __init__(self, ref: str, *, device: str = "cpu", precision: str = "auto", trust_remote_code: bool = False):
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.ref = str(ref)
        path = resolve_model(ref)
        if Path(path).is_dir() and not (Path(path) / "config.json").exists():
            raise DataError(
                "not a model folder: expected config.json (a Hugging Face translation model)", path=str(ref)
            )
        with isolated_rng(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*sacremoses.*")
            try:
                self.tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
            except (OSError, ValueError, KeyError) as e:
                raise DataError(
                    f"cannot load the tokenizer: {type(e).__name__}: {str(e).splitlines()[0]}", path=str(ref)
                ) from None
            self.model = load_pretrained(
                AutoModelForSeq2SeqLM, path, ref=ref, what="a translation model", trust_remote_code=trust_remote_code
            )
        if not self.model.config.is_encoder_decoder:
            raise DataError("not a sequence-to-sequence (encoder-decoder) translation model", path=str(ref))
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(resolved_precision(precision, device))
        self.model = self.model.to(device=device, dtype=dtype).eval()
        self.device = device
        self.max_source = min(
            int(getattr(self.tokenizer, "model_max_length", 512) or 512),
            int(getattr(self.model.config, "max_position_embeddings", 512) or 512),
        )

    def translate(
        self,
        texts: Sequence[str],
        source: str,
        target: str,
        *,
        keys: Sequence[str],
        seed: int,
        decoding: str = "greedy",
        num_beams: int = 4,
        top_p: float = 0.9,
        temperature: float = 1.0,
        max_new_tokens: int = 256,
        max_tokens_per_batch: int = 4096,
    ) -> list[str]:
        """``texts`` from ``source`` into ``target``, in order; ``keys`` name each text for its sampling seed."""
        import torch

        try:
            how = plan_languages(self.tokenizer, self.ref, source, target)
        except LanguageError as e:
            raise DataError(str(e), path=self.ref) from None
        if how["src_lang"] is not None:
            self.tokenizer.src_lang = how["src_lang"]
        encoded = [
            self.tokenizer(how["prefix"] + t, truncation=True, max_length=self.max_source)["input_ids"] for t in texts
        ]
        gen: dict[str, Any] = {"max_new_tokens": max_new_tokens}
        if how["forced_bos"] is not None:
            gen["forced_bos_token_id"] = self.tokenizer.convert_tokens_to_ids(how["forced_bos"])
        if decoding == "beam":
            gen.update(num_beams=num_beams, do_sample=False)
        elif decoding == "sample":
            gen.update(do_sample=True, top_p=top_p, temperature=temperature, num_beams=1)
        else:
            gen.update(num_beams=1, do_sample=False)
        out: list[str | None] = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(encoded[i]))
        lengths = [len(encoded[i]) for i in order]
        chunks = (
            [(s, s + 1) for s in range(len(order))]
            if decoding == "sample"
            else budget_chunks(lengths, max_tokens_per_batch)
        )
        pad = self.tokenizer.pad_token_id
        with torch.inference_mode():
            for start, end in chunks:
                rows = order[start:end]
                width = max(len(encoded[i]) for i in rows)
                ids = torch.full((len(rows), width), pad, dtype=torch.long)
                mask = torch.zeros((len(rows), width), dtype=torch.long)
                for r, i in enumerate(rows):
                    ids[r, : len(encoded[i])] = torch.tensor(encoded[i])
                    mask[r, : len(encoded[i])] = 1
                if decoding == "sample":
                    with isolated_rng(derive_seed(seed, keys[rows[0]], target)):
                        result = self.model.generate(
                            input_ids=ids.to(self.device), attention_mask=mask.to(self.device), **gen
                        )
                else:
                    result = self.model.generate(
                        input_ids=ids.to(self.device), attention_mask=mask.to(self.device), **gen
                    )
                for i, text in zip(rows, self.tokenizer.batch_decode(result, skip_special_tokens=True)):
                    out[i] = text.strip()
        return [t or "" for t in out]
