"""`augkit analyze cka`: how close a model puts parallel source and target sentences, layer by layer.

For every language and every layer (the embeddings are layer 0), the mean-pooled representations of the
source sentences and of their translations are compared with linear CKA (``cka.py``), in one streaming
pass: memory does not grow with the number of sentences. The pass also keeps each language's centroid
(mean representation) at every layer and a fixed-size random sample of sentences for the scatter plot
of X-Mixup's Figure 1.

Outputs (``write_outputs``): ``cka.json``, ``cka.csv`` (language, layer, cka, sentences), the heatmap
``cka_heatmap.png`` (languages × layers), ``centroids_pca.png`` (the language centroids in a 2-D PCA; with
two or more languages, as one language's two centroids make no plane) and
``scatter.png`` (sampled source and target sentences in a 2-D PCA, one layer).
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from augkit import DataError, Example, ModelSet, atomic_write_bytes, atomic_write_json, atomic_write_text

from .cka import StreamingCKA


@dataclasses.dataclass
class CkaResult:
    """CKA per language and layer, with the centroids and the scatter sample (see the module docstring)."""

    model: str
    languages: list[str]
    n_layers: int
    cka: dict[str, list[float]]
    sentences: dict[str, int]
    source_centroids: dict[str, np.ndarray]  # language -> [layers, d]
    target_centroids: dict[str, np.ndarray]
    plot_layer: int
    sample_source: dict[str, np.ndarray]  # language -> [k, d] at plot_layer
    sample_target: dict[str, np.ndarray]

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "languages": self.languages,
            "layers": list(range(self.n_layers)),
            "cka": self.cka,
            "sentences": self.sentences,
            "plot_layer": self.plot_layer,
            "mean_over_layers": {l: float(np.nanmean(v)) for l, v in self.cka.items()},
        }


def _side(ex: Example, side: str) -> Example:
    if side == "target":
        return ex
    src = (ex.meta.get("parallel") or {}).get("source")
    if not src:
        raise DataError(f"example {ex.id!r} carries no source side (read parallel data with the `parallel` format)")
    return Example(
        id=ex.id,
        type=ex.type,
        **{k: v for k, v in src.items() if k in ("tokens", "text_a", "text_b", "question", "context")},
    )


def _encode(tokenizer, examples: list[Example], max_length: int):
    kind = examples[0].type
    kw = dict(truncation=True, max_length=max_length, padding=True, return_tensors="pt")
    if kind == "tagging":
        return tokenizer([ex.tokens for ex in examples], is_split_into_words=True, **kw)
    if kind == "qa":
        return tokenizer([ex.question for ex in examples], [ex.context for ex in examples], **kw)
    if all(ex.text_b is None for ex in examples):
        return tokenizer([ex.text_a for ex in examples], **kw)
    return tokenizer([ex.text_a for ex in examples], [ex.text_b or "" for ex in examples], **kw)


def pooled_layers(model, tokenizer, examples: list[Example], max_length: int, device) -> list:
    """Mean-pooled representations (over real tokens) of every layer: a list of [n, d] tensors."""
    import torch

    batch = {k: v.to(device) for k, v in _encode(tokenizer, examples, max_length).items()}
    with torch.no_grad():
        out = model(**batch, output_hidden_states=True)
    mask = batch["attention_mask"].unsqueeze(-1).to(out.hidden_states[0].dtype)
    return [(h * mask).sum(1) / mask.sum(1).clamp(min=1) for h in out.hidden_states]


def load_encoder(ref: str, device: str = "cpu", trust_remote_code: bool = False):
    """(encoder, tokenizer) from a model folder or id, a task model (its encoder), or a trainer stage folder."""
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    from augkit import load_pretrained, resolve_model
    from augkit.tasks import load_tokenizer

    path = resolve_model(ModelSet.of(ref).best.path)
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # a task model's head and an MLM's LM head are expected leftovers
    try:
        model = load_pretrained(AutoModel, path, ref=ref, what="an encoder", trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as e:
        raise DataError(f"cannot load an encoder: {str(e).splitlines()[0]}", path=str(ref)) from None
    finally:
        hf_logging.set_verbosity(level)
    return model.to(device).eval(), load_tokenizer(path, trust_remote_code=trust_remote_code)


def analyze_cka(
    model_ref: str,
    data: dict[str, Iterable[Example]],
    *,
    batch_size: int = 32,
    max_length: int = 128,
    device: str = "cpu",
    plot_layer: int | None = None,
    scatter_samples: int = 200,
    seed: int = 0,
    progress=None,
) -> CkaResult:
    """CKA between source and target sides of ``data`` (language → parallel examples: target examples
    carrying their source in ``meta["parallel"]``, as the ``parallel`` reader gives them)."""
    model, tokenizer = load_encoder(model_ref, device)
    n_layers = model.config.num_hidden_layers + 1
    dim = model.config.hidden_size
    layer = n_layers - 1 if plot_layer is None else plot_layer
    if not 0 <= layer < n_layers:
        raise DataError(f"layer {plot_layer}: the model has layers 0 (embeddings) to {n_layers - 1}")
    result = CkaResult(str(model_ref), [], n_layers, {}, {}, {}, {}, layer, {}, {})
    for lang, examples in data.items():
        acc = [StreamingCKA(dim, device=device) for _ in range(n_layers)]
        rng = random.Random(f"{seed}|{lang}")
        sample_s: list[np.ndarray] = []
        sample_t: list[np.ndarray] = []
        seen = 0
        batch: list[Example] = []

        def flush():
            nonlocal seen
            xs = pooled_layers(model, tokenizer, [_side(ex, "source") for ex in batch], max_length, device)
            ys = pooled_layers(model, tokenizer, [_side(ex, "target") for ex in batch], max_length, device)
            for a, x, y in zip(acc, xs, ys):
                a.update(x, y)
            xs_l, ys_l = xs[layer].float().cpu().numpy(), ys[layer].float().cpu().numpy()
            for i in range(len(batch)):  # reservoir sampling: a fixed-size uniform sample of the sentences
                seen += 1
                if len(sample_s) < scatter_samples:
                    sample_s.append(xs_l[i])
                    sample_t.append(ys_l[i])
                else:
                    j = rng.randrange(seen)
                    if j < scatter_samples:
                        sample_s[j], sample_t[j] = xs_l[i], ys_l[i]
            batch.clear()

        for ex in examples:
            batch.append(ex)
            if len(batch) == batch_size:
                flush()
                if progress is not None:
                    progress(lang, seen)
        if batch:
            flush()
        if seen < 2:
            raise DataError(f"language {lang!r}: CKA needs at least 2 parallel sentences, got {seen}")
        result.languages.append(lang)
        result.cka[lang] = [a.value() for a in acc]
        result.sentences[lang] = seen
        result.source_centroids[lang] = np.stack([a.mean_x for a in acc])
        result.target_centroids[lang] = np.stack([a.mean_y for a in acc])
        result.sample_source[lang] = np.stack(sample_s)
        result.sample_target[lang] = np.stack(sample_t)
    return result


def _pca2(points: np.ndarray) -> np.ndarray:
    centred = points - points.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    comps = vt[:2] if vt.shape[0] >= 2 else np.vstack([vt, np.zeros_like(vt)])[:2]
    return centred @ comps.T


def write_outputs(result: CkaResult, out_dir: str | Path) -> dict[str, Path]:
    """Write the CSV, the three plots and then the JSON into ``out_dir``; return their paths by name."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "json": out / "cka.json",
        "csv": out / "cka.csv",
        "heatmap": out / "cka_heatmap.png",
        "centroids": out / "centroids_pca.png",
        "scatter": out / "scatter.png",
    }
    lines = ["language,layer,cka,sentences"] + [
        f"{l},{k},{v:.6f},{result.sentences[l]}" for l in result.languages for k, v in enumerate(result.cka[l])
    ]
    atomic_write_text(files["csv"], "\n".join(lines) + "\n")

    def save(fig, path):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        atomic_write_bytes(path, buf.getvalue())

    values = np.array([result.cka[l] for l in result.languages])
    fig, ax = plt.subplots(figsize=(1.2 + 0.45 * result.n_layers, 0.9 + 0.4 * len(result.languages)))
    im = ax.imshow(values, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(result.n_layers), [str(k) for k in range(result.n_layers)])
    ax.set_yticks(range(len(result.languages)), result.languages)
    ax.set_xlabel("layer (0 = embeddings)")
    ax.set_title("linear CKA, source vs target")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            ax.text(
                j,
                i,
                f"{values[i, j]:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if values[i, j] < 0.6 else "black",
            )
    fig.colorbar(im, ax=ax, fraction=0.03)
    save(fig, files["heatmap"])

    k = result.plot_layer
    if len(result.languages) < 2:  # two centroids: a PCA plane through two points shows nothing
        del files["centroids"]
    else:
        names = [f"{l} (source)" for l in result.languages] + list(result.languages)
        cents = np.stack(
            [result.source_centroids[l][k] for l in result.languages]
            + [result.target_centroids[l][k] for l in result.languages]
        )
        xy = _pca2(cents)
        fig, ax = plt.subplots(figsize=(5, 4))
        n = len(result.languages)
        ax.scatter(xy[:n, 0], xy[:n, 1], marker="s", c="gray", label="source side")
        ax.scatter(xy[n:, 0], xy[n:, 1], marker="o", c=[f"C{i}" for i in range(n)], label="target side")
        for (x, y), name in zip(xy, names):
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.set_title(f"language centroids, layer {k} (PCA)")
        ax.legend(fontsize=8)
        save(fig, files["centroids"])

    pts = np.concatenate(
        [result.sample_source[l] for l in result.languages] + [result.sample_target[l] for l in result.languages]
    )
    xy = _pca2(pts)
    fig, ax = plt.subplots(figsize=(5, 4))
    start = 0
    sizes = [len(result.sample_source[l]) for l in result.languages]
    for m in sizes:
        ax.scatter(
            xy[start : start + m, 0],
            xy[start : start + m, 1],
            s=8,
            c="gray",
            alpha=0.5,
            label="source" if start == 0 else None,
        )
        start += m
    for i, (l, m) in enumerate(zip(result.languages, sizes)):
        ax.scatter(xy[start : start + m, 0], xy[start : start + m, 1], s=8, c=f"C{i}", alpha=0.7, label=l)
        start += m
    ax.set_title(f"sentence representations, layer {k} (PCA)")
    ax.legend(fontsize=8, markerscale=2)
    save(fig, files["scatter"])
    atomic_write_json(files["json"], result.to_json())  # last: its presence means the results are complete
    return files


def cka_table(result: CkaResult):
    """A rich Table: one row per language, one column per layer, and the mean."""
    from rich.table import Table

    table = Table(title=f"linear CKA, source vs target ({result.model})")
    table.add_column("language")
    table.add_column("n", justify="right")
    for k in range(result.n_layers):
        table.add_column(f"L{k}", justify="right")
    table.add_column("mean", justify="right")
    for l in result.languages:
        vals = result.cka[l]
        table.add_row(l, str(result.sentences[l]), *[f"{v:.3f}" for v in vals], f"{np.nanmean(vals):.3f}")
    return table


def register_analyze_command(subparsers) -> None:
    p = subparsers.add_parser("analyze", help="analyses of models on data (cka)")
    sub = p.add_subparsers(dest="analysis", metavar="ANALYSIS", required=True)
    c = sub.add_parser(
        "cka",
        help="linear CKA between parallel source and target sentences, per layer and language",
        description=__doc__.split("\n\n")[0],
    )
    c.add_argument("--model", required=True, help="model folder or id, task model, or a trainer stage folder")
    c.add_argument(
        "--data",
        action="append",
        required=True,
        metavar="LANG=FILE",
        help="parallel data of one target language (repeatable); read with --format",
    )
    c.add_argument("--format", default="parallel", help="reader for the data (default: parallel)")
    c.add_argument("--read-opt", action="append", default=[], metavar="KEY=VALUE", help="reader option")
    c.add_argument("-o", "--output-dir", required=True, help="folder for cka.json, cka.csv and the plots")
    c.add_argument("--batch-size", type=int, default=32)
    c.add_argument("--max-length", type=int, default=128)
    c.add_argument("--layer", type=int, help="layer of the centroid and scatter plots (default: the last)")
    c.add_argument("--scatter-samples", type=int, default=200, help="sentences per language in the scatter plot")
    c.add_argument("--device", default="auto")
    c.add_argument("--seed", type=int, default=0)
    c.set_defaults(func=_cmd_cka)


def _cmd_cka(args) -> int:
    from rich.console import Console

    import augkit

    opts = augkit.parse_options(args.read_opt, "--read-opt")
    data: dict[str, Iterable[Example]] = {}
    for item in args.data:
        lang, sep, path = item.partition("=")
        if not sep or not lang or not path:
            raise DataError(f"--data {item}: expected LANG=FILE, e.g. de=dev.de-en.tsv")
        reader = augkit.resolve("reader", args.format)(**opts)
        data[lang] = reader.read(path, lang=lang)
    result = analyze_cka(
        args.model,
        data,
        batch_size=args.batch_size,
        max_length=args.max_length,
        device=augkit.pick_device(args.device),
        plot_layer=args.layer,
        scatter_samples=args.scatter_samples,
        seed=args.seed,
    )
    files = write_outputs(result, args.output_dir)
    console = Console(highlight=False, soft_wrap=True)
    console.print(cka_table(result))
    console.print(f"wrote {', '.join(str(f) for f in files.values())}", markup=False)
    return 0
