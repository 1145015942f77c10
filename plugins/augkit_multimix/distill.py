"""Sample selection: single-model distillation by confidence (Eq. 2) or by a GMM over per-example loss, and
co-guessing agreement between peers (Bari et al., UXLA, §3.3 and Algorithm 1).

Each filter works on corpora a labeler produced (examples carry ``probs`` and pseudo labels) and is
usable on its own: ``ConfidenceDistiller(eta=0.8).filter(corpus)``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import numpy as np

from augkit import Corpus, Distiller, Filter, FilterResult, Params, param


def probs_arrays(corpus: Corpus, who: str) -> tuple[np.ndarray, np.ndarray]:
    """(rows ``[n_rows, n_labels]``, rows per example) from the corpus's ``probs`` column, without
    building Python objects per example."""
    col = corpus.table().column("probs").combine_chunks()
    if col.null_count:
        from augkit import DataError

        raise DataError(f"{who}: {col.null_count} examples carry no label distribution; run a labeler first")
    counts = col.value_lengths().to_numpy(zero_copy_only=False).astype(np.int64)
    inner = col.flatten()
    if len(inner) == 0:
        return np.zeros((0, 1), dtype=np.float32), counts
    n_labels = int(inner.value_lengths()[0].as_py())
    return inner.flatten().to_numpy(zero_copy_only=False).reshape(-1, n_labels), counts


def _per_example_mean(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    owner = np.repeat(np.arange(len(counts)), counts)
    sums = np.bincount(owner, weights=values.astype(np.float64), minlength=len(counts))
    return np.divide(sums, counts, out=np.zeros(len(counts)), where=counts > 0)


def confidence(probs) -> np.ndarray:
    """Eq. 2: max_c p_c for a sentence; the mean over words of max_c p_c(x_t) for tokens.
    ``probs``: a labelled Corpus, or a list of per-example ``[n_rows, n_labels]`` arrays."""
    rows, counts = probs_arrays(probs, "confidence") if isinstance(probs, Corpus) else _stack(probs)
    return _per_example_mean(rows.max(axis=1) if len(rows) else rows.ravel(), counts)


def self_loss(probs) -> np.ndarray:
    """Cross-entropy of each example against the label it carries (mean over words for tokens).

    For a Corpus whose label set is known, that is the example's own tags or class, which may differ from
    the most probable one when ``repair_iob`` or GEN-LM's ``relabel = "masked"`` changed it; a word tagged
    ``_`` (unknown) or with a tag outside the label set counts with its most probable label. For a list of
    per-example ``[n_rows, n_labels]`` arrays (no labels), the most probable label: −log max p."""
    rows, counts = probs_arrays(probs, "self-loss") if isinstance(probs, Corpus) else _stack(probs)
    if not len(rows):
        return _per_example_mean(rows.ravel(), counts)
    picked = rows.max(axis=1)
    if isinstance(probs, Corpus) and probs.labels:
        carried = _carried_label_rows(probs, counts)
        known = carried >= 0
        picked = np.where(known, rows[np.arange(len(rows)), np.where(known, carried, 0)], picked)
    return _per_example_mean(-np.log(np.clip(picked, 1e-12, 1.0)), counts)


def _carried_label_rows(corpus: Corpus, counts: np.ndarray) -> np.ndarray:
    """Per probability row, the index of the label its example carries (-1 when unknown): a tagging
    example's tags word by word, a pair's class once."""
    table = corpus.table()
    index = {label: i for i, label in enumerate(corpus.labels or [])}
    out = []
    for typ, tags, label, n in zip(
        table.column("type").to_pylist(),
        table.column("tags").to_pylist(),
        table.column("label").to_pylist(),
        counts.tolist(),
    ):
        carried = [index.get(t, -1) for t in tags] if typ == "tagging" else [index.get(label, -1)]
        out.extend(carried if len(carried) == n else [-1] * n)  # rows and labels out of step: most probable
    return np.asarray(out, dtype=np.int64)


def _stack(probs) -> tuple[np.ndarray, np.ndarray]:
    arrays = [np.asarray(p, dtype=np.float64).reshape(-1, np.shape(p)[-1] if len(p) else 1) for p in probs]
    counts = np.array([len(a) for a in arrays], dtype=np.int64)
    return (np.concatenate(arrays) if arrays else np.zeros((0, 1))), counts


@dataclasses.dataclass
class ConfidenceParams(Params):
    eta: float = param(0.8, help="η: keep the top floor(N·η) examples by confidence", gt=0, le=1)


class ConfidenceDistiller(Distiller):
    """Keeps the floor(N·η) most confident examples (ties broken by example id), in corpus order."""

    name = "confidence"
    Params = ConfidenceParams
    params: ConfidenceParams
    threshold = "eta"

    def filter(self, corpus: Corpus) -> FilterResult:  # type: ignore[override]  # n_inputs = 1
        scores = confidence(corpus)
        ids = np.asarray(corpus.table().column("id").to_pylist(), dtype=str)
        n_keep = math.floor(len(corpus) * self.params.eta)
        ranked = np.lexsort((ids, -scores)) if len(ids) else np.zeros(0, dtype=np.int64)  # by score, then id
        keep = np.sort(ranked[:n_keep]).tolist()
        notes = [] if n_keep else [f"η={self.params.eta} keeps nothing of {len(corpus)} examples"]
        return FilterResult(corpus.select(keep), len(keep), len(corpus), notes)


@dataclasses.dataclass
class GMMParams(Params):
    n_components: int = param(2, help="Gaussian components", ge=2)
    covariance_type: Literal["full", "tied", "diag", "spherical"] = "full"
    posterior_threshold: float = param(
        0.5, help="keep examples whose posterior for the low-loss component exceeds this", ge=0, lt=1
    )
    seed: int = param(0, help="random state of the mixture fit")


class GMMDistiller(Distiller):
    """Fits a Gaussian mixture to the per-example self-loss and keeps examples that probably belong to the
    component with the smallest mean loss. Too few examples or distinct losses: keeps all, with a note."""

    name = "gmm"
    Params = GMMParams
    params: GMMParams
    threshold = "posterior_threshold"

    def filter(self, corpus: Corpus) -> FilterResult:  # type: ignore[override]  # n_inputs = 1
        from sklearn.mixture import GaussianMixture

        p = self.params
        losses = self_loss(corpus)
        distinct = len(np.unique(np.round(losses, 12)))
        if len(losses) < 2 * p.n_components or distinct < p.n_components:
            note = (
                f"GMM not fitted: {len(losses)} examples with {distinct} distinct losses "
                f"(need at least {2 * p.n_components} and {p.n_components}); kept all"
            )
            return FilterResult(corpus, len(corpus), len(corpus), [note])
        gmm = GaussianMixture(n_components=p.n_components, covariance_type=p.covariance_type, random_state=p.seed)
        x = losses.reshape(-1, 1)
        gmm.fit(x)
        good = int(np.argmin(gmm.means_.ravel()))
        keep = np.nonzero(gmm.predict_proba(x)[:, good] > p.posterior_threshold)[0].tolist()
        return FilterResult(
            corpus.select(keep),
            len(keep),
            len(corpus),
            [f"low-loss component mean {float(gmm.means_.ravel()[good]):.4f}"],
        )


class AgreementFilter(Filter):
    """Co-guessing: keeps the examples selected by both peers whose labels are identical (the whole
    word-level tag sequence for tokens, the class for pairs); the agreed label is the training label.
    The result keeps the first corpus's examples (its probabilities)."""

    name = "agreement"
    n_inputs = 2

    def filter(self, first: Corpus, second: Corpus) -> FilterResult:  # type: ignore[override]  # n_inputs = 2
        other = dict(zip(second.table().column("id").to_pylist(), _label_keys(second)))
        keep = [
            i
            for i, (ex_id, key) in enumerate(zip(first.table().column("id").to_pylist(), _label_keys(first)))
            if other.get(ex_id, _NO_KEY) == key
        ]
        notes = [] if keep else [f"the peers agree on none of {len(first)}/{len(second)} selected examples"]
        return FilterResult(first.select(keep), len(keep), len(first), notes)


_NO_KEY = object()


def _label_keys(corpus: Corpus) -> list:
    """Per example, its whole label: the joined tag sequence (tagging) or the class (pairs)."""
    import pyarrow.compute as pc

    table = corpus.table()
    joined = pc.binary_join(table.column("tags"), "\x1f").to_pylist()
    return [
        ("t", j) if typ == "tagging" else ("p", lab)
        for typ, j, lab in zip(table.column("type").to_pylist(), joined, table.column("label").to_pylist())
    ]
