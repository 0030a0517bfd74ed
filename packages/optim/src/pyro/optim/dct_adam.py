"""``DCTAdam``: ClippedAdam with a second Adam in the frequency domain for time series
parameters."""
from __future__ import annotations

from typing import Any

import torch
from torch.optim.optimizer import ParamsT

from pyro.ops.tensor_utils import dct, idct

from .clipped_adam import adam_direction, check_adam_args, clip_gradient
from .per_parameter import PerParameterOptimizer


def _subsample_mask(p: torch.Tensor) -> torch.Tensor | None:
    """The boolean mask of the elements of ``p`` present in the current subsample, from
    the attribute ``p._pyro_subsample`` (a dict ``dim -> index tensor``)."""
    subsample = getattr(p, "_pyro_subsample", None)
    if not subsample:
        return None
    mask = torch.ones_like(p, dtype=torch.bool)
    for dim, index in subsample.items():
        keep = torch.zeros(p.size(dim), dtype=torch.bool, device=p.device)
        keep[torch.as_tensor(index, device=p.device)] = True
        shape = [1] * p.dim()
        shape[dim] = p.size(dim)
        mask = mask & keep.reshape(shape)
    return mask


class DCTAdam(PerParameterOptimizer):
    """EXPERIMENTAL: :class:`~pyro.optim.clipped_adam.ClippedAdam` that, for parameters
    marked with an attribute ``p._pyro_dct_dim`` (a time dimension), also runs Adam on
    the orthonormal discrete cosine transform of the gradient along that dim.

    For such a parameter the clipped gradient ``g`` is extended to ``[g, dct(g)]`` along
    the time dim, Adam's moments are kept for both halves, and the step is
    ``lr * (d_time + idct(d_freq))`` where ``d`` is Adam's bias-corrected direction of
    each half. Slow seasonal or trend components, spread over many time steps, get their
    own adaptive step size in the frequency domain. Other parameters are updated exactly
    as by ClippedAdam.

    With ``subsample_aware=True``, a parameter with an attribute ``p._pyro_subsample``
    (a dict ``dim -> indices`` of the elements in the current mini-batch) updates the
    moments and the value only of those elements (with per-element step counts for the
    bias correction), so elements outside the batch are not decayed toward zero.

    :param params: iterable of parameters to optimize or dicts defining parameter groups.
    :param lr: learning rate (default 1e-3).
    :param betas: coefficients of the running averages of the gradient and its square
        (default (0.9, 0.999)).
    :param eps: term added to the denominator for numerical stability (default 1e-8).
    :param clip_norm: largest L2 norm of a parameter's gradient (default 10.0).
    :param lrd: factor by which the learning rate decays after every step (default 1.0).
    :param subsample_aware: update statistics only for the elements in a subsample
        (default False).
    :raises ValueError: as ClippedAdam for invalid arguments.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        clip_norm: float = 10.0,
        lrd: float = 1.0,
        subsample_aware: bool = False,
    ) -> None:
        check_adam_args("DCTAdam", lr, betas, eps, clip_norm, lrd)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, clip_norm=clip_norm, lrd=lrd,
                        subsample_aware=bool(subsample_aware))
        super().__init__(params, defaults)

    def _step_param(self, group: dict[str, Any], p: torch.Tensor) -> None:
        grad = clip_gradient(p, group["clip_norm"], "DCTAdam")
        mask = _subsample_mask(p) if group["subsample_aware"] else None
        dim = getattr(p, "_pyro_dct_dim", None)
        if dim is None or p.dim() == 0:
            p.sub_(adam_direction(self.state[p], grad, group, mask), alpha=group["lr"])
            return
        dim = dim % p.dim()
        n = p.size(dim)
        extended = torch.cat([grad, dct(grad, dim=dim)], dim)
        if mask is not None:
            mask = torch.cat([mask, mask], dim)
        direction = adam_direction(self.state[p], extended, group, mask)
        time, freq = direction.split(n, dim)
        p.sub_(time + idct(freq, dim=dim), alpha=group["lr"])
