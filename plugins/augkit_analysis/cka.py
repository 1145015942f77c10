"""Linear CKA (Kornblith et al., 2019) between paired representations, computed in one streaming pass.

With centred features X, Y (n × d): ``CKA = ‖YᵀX‖²_F / (‖XᵀX‖_F · ‖YᵀY‖_F)`` (Kornblith et al.'s
linear CKA; the X-Mixup paper's formula in §3 squares the denominator norms, a typo). Centring is done on the
accumulated sums: ``YcᵀXc = YᵀX − n·μ_y μ_xᵀ``, so a pass keeps ``n``, ``Σx``, ``Σy``, ``XᵀX``, ``YᵀY`` and
``YᵀX`` — memory of order d², whatever the number of sentences.
"""

from __future__ import annotations

import numpy as np


def linear_cka(x, y) -> float:
    """Linear CKA of two feature matrices (rows are paired examples), all at once (NumPy, float64)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"CKA needs paired rows: {x.shape[0]} and {y.shape[0]}")
    x = x - x.mean(axis=0, keepdims=True)
    y = y - y.mean(axis=0, keepdims=True)
    num = np.linalg.norm(y.T @ x) ** 2
    den = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    return float(num / den) if den > 0 else float("nan")


class StreamingCKA:
    """Linear CKA accumulated over batches of paired rows (torch tensors on any device, float64 sums).

    ``update(x, y)`` adds a batch; ``value()`` is the CKA of everything added so far; ``mean_x``/``mean_y``
    are the feature means (the language centroids)."""

    def __init__(self, dim_x: int, dim_y: int | None = None, device="cpu"):
        import torch

        dim_y = dim_x if dim_y is None else dim_y
        kw = {"dtype": torch.float64, "device": device}
        self.n = 0
        self.sum_x, self.sum_y = torch.zeros(dim_x, **kw), torch.zeros(dim_y, **kw)
        self.xx, self.yy, self.yx = (
            torch.zeros(dim_x, dim_x, **kw),
            torch.zeros(dim_y, dim_y, **kw),
            torch.zeros(dim_y, dim_x, **kw),
        )

    def update(self, x, y) -> None:
        import torch

        x = torch.as_tensor(x).to(self.xx.device, torch.float64)
        y = torch.as_tensor(y).to(self.xx.device, torch.float64)
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"CKA needs paired rows: {x.shape[0]} and {y.shape[0]}")
        self.n += x.shape[0]
        self.sum_x += x.sum(0)
        self.sum_y += y.sum(0)
        self.xx += x.T @ x
        self.yy += y.T @ y
        self.yx += y.T @ x

    @property
    def mean_x(self):
        return (self.sum_x / max(self.n, 1)).cpu().numpy()

    @property
    def mean_y(self):
        return (self.sum_y / max(self.n, 1)).cpu().numpy()

    def value(self) -> float:
        import torch

        if self.n < 2:
            return float("nan")
        mx, my = self.sum_x / self.n, self.sum_y / self.n
        cxx = self.xx - self.n * torch.outer(mx, mx)
        cyy = self.yy - self.n * torch.outer(my, my)
        cyx = self.yx - self.n * torch.outer(my, mx)
        den = torch.linalg.norm(cxx) * torch.linalg.norm(cyy)
        return float(torch.linalg.norm(cyx) ** 2 / den) if den > 0 else float("nan")

    def state_bytes(self) -> int:
        """Memory the accumulator holds (independent of how many rows were added)."""
        return sum(t.numel() * t.element_size() for t in (self.sum_x, self.sum_y, self.xx, self.yy, self.yx))
