"""Sample selection (spec: "Single-model distillation" and "Agreement / co-guessing").

Each filter works on corpora a labeller produced (examples carry ``probs`` and pseudo labels) and is
usable on its own: ``ConfidenceDistiller(eta=0.8).filter(corpus)``.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Literal

import numpy as np

from augkit import Corpus, Filter, FilterResult, Params, param


def _require_probs(corpus: Corpus, who: str) -> list:
    probs = corpus.dataset["probs"]
    missing = [corpus.dataset[i]["id"] for i, p in enumerate(probs) if p is None]
    if missing:
        from augkit import DataError

        raise DataError(f"{who}: {len(missing)} examples carry no label distribution (e.g. {missing[0]!r}); "
                        "run a labeller first")
    return probs


def confidence(probs) -> np.ndarray:
    """Eq. 2: max_c p_c for a sentence; the mean over words of max_c p_c(x_t) for tokens."""
    return np.array([float(np.mean(np.max(np.asarray(p, dtype=np.float64), axis=1))) if len(p) else 0.0 for p in probs])


def self_loss(probs) -> np.ndarray:
    """Cross-entropy of each example against its own pseudo label (mean over words for tokens)."""
    out = []
    for p in probs:
        p = np.asarray(p, dtype=np.float64)
        out.append(float(np.mean(-np.log(np.clip(p.max(axis=1), 1e-12, 1.0)))) if len(p) else 0.0)
    return np.array(out)


@dataclasses.dataclass
class ConfidenceParams(Params):
    eta: float = param(0.8, help="η: keep the top floor(N·η) examples by confidence", gt=0, le=1)


class ConfidenceDistiller(Filter):
    """Keeps the floor(N·η) most confident examples (ties broken by example id), in corpus order."""

    name = "confidence"
    Params = ConfidenceParams

    def filter(self, corpus: Corpus) -> FilterResult:
        scores = confidence(_require_probs(corpus, self.display_name()))
        ids = corpus.dataset["id"]
        n_keep = math.floor(len(corpus) * self.params.eta)
        ranked = sorted(range(len(corpus)), key=lambda i: (-scores[i], ids[i]))
        keep = sorted(ranked[:n_keep])
        notes = [] if n_keep else [f"η={self.params.eta} keeps nothing of {len(corpus)} examples"]
        return FilterResult(corpus.select(keep), len(keep), len(corpus), notes)


@dataclasses.dataclass
class GMMParams(Params):
    n_components: int = param(2, help="Gaussian components", ge=2)
    covariance_type: Literal["full", "tied", "diag", "spherical"] = "full"
    posterior_threshold: float = param(0.5, help="keep examples whose posterior for the low-loss component exceeds this",
                                       ge=0, lt=1)
    seed: int = param(0, help="random state of the mixture fit")


class GMMDistiller(Filter):
    """Fits a Gaussian mixture to the per-example self-loss and keeps examples that probably belong to the
    component with the smallest mean loss. Too few examples or distinct losses: keeps all, with a note."""

    name = "gmm"
    Params = GMMParams

    def filter(self, corpus: Corpus) -> FilterResult:
        from sklearn.mixture import GaussianMixture

        p = self.params
        losses = self_loss(_require_probs(corpus, self.display_name()))
        distinct = len(np.unique(np.round(losses, 12)))
        if len(losses) < 2 * p.n_components or distinct < p.n_components:
            note = (f"GMM not fitted: {len(losses)} examples with {distinct} distinct losses "
                    f"(need at least {2 * p.n_components} and {p.n_components}); kept all")
            return FilterResult(corpus, len(corpus), len(corpus), [note])
        gmm = GaussianMixture(n_components=p.n_components, covariance_type=p.covariance_type, random_state=p.seed)
        x = losses.reshape(-1, 1)
        gmm.fit(x)
        good = int(np.argmin(gmm.means_.ravel()))
        keep = np.nonzero(gmm.predict_proba(x)[:, good] > p.posterior_threshold)[0].tolist()
        return FilterResult(corpus.select(keep), len(keep), len(corpus),
                            [f"low-loss component mean {float(gmm.means_.ravel()[good]):.4f}"])


class AgreementFilter(Filter):
    """Co-guessing: keeps the examples selected by both peers whose labels are identical (the whole
    word-level tag sequence for tokens, the class for pairs); the agreed label is the training label.
    The result keeps the first corpus's examples (its probabilities)."""

    name = "agreement"
    n_inputs = 2

    def filter(self, first: Corpus, second: Corpus) -> FilterResult:
        other = {}
        for row in second.dataset.select_columns(["id", "type", "tags", "label"]):
            other[row["id"]] = tuple(row["tags"]) if row["type"] == "tagging" else row["label"]
        keep = []
        for i, row in enumerate(first.dataset.select_columns(["id", "type", "tags", "label"])):
            mine = tuple(row["tags"]) if row["type"] == "tagging" else row["label"]
            if row["id"] in other and other[row["id"]] == mine:
                keep.append(i)
        notes = [] if keep else [f"the peers agree on none of {len(first)}/{len(second)} selected examples"]
        return FilterResult(first.select(keep), len(keep), len(first), notes)
