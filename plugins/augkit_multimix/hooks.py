"""The confidence penalty (Pereyra et al., 2017) used in MultiMix's warm-up: L = CE − β·H̄."""

from __future__ import annotations

import dataclasses
from typing import Literal

from augkit import Params, TrainerHook, param


@dataclasses.dataclass
class ConfidencePenaltyParams(Params):
    beta: float = param(1.0, help="β: weight of the entropy bonus", ge=0)
    average: Literal["labelled", "all_tokens"] = param(
        "labelled", help="average the entropy over labelled positions, or over every non-pad subword (authors' code)"
    )


class ConfidencePenalty(TrainerHook):
    """Subtracts β times the mean entropy of the predicted label distributions from the loss."""

    name = "confidence-penalty"
    Params = ConfidencePenaltyParams
    params: ConfidencePenaltyParams

    def extra_loss(self, *, model, inputs, outputs, labels):
        import torch

        logits = outputs.logits.float()
        logp = torch.log_softmax(logits, dim=-1)
        entropy = -(logp.exp() * logp).sum(-1)
        if entropy.dim() == 1:  # sentence classification: one distribution per example
            h = entropy.mean()
        elif self.params.average == "labelled" and labels is not None:
            mask = labels != -100
            h = entropy[mask].mean() if mask.any() else entropy.sum() * 0
        else:
            mask = inputs["attention_mask"].bool()
            h = entropy[mask].mean()
        return -self.params.beta * h
