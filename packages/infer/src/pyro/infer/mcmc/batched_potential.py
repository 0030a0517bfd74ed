"""The potential energy of ``C`` chains in one model run (``chain_method="vectorized"``).

Each latent value gets a leading chain dimension placed left of the model's plate
dimensions (at dim ``-(max_plate_nesting + 1)`` of its batch shape), so a model written
with ``pyro.plate`` for every batch dimension broadcasts over chains unchanged; log
densities are summed per chain. When the model does not broadcast that way,
``torch.func.vmap`` of the one-chain potential is tried. Either is used only after it
reproduces the one-chain potential chain by chain.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from .potential import LogJointMessenger, ModelPotential, value_and_grad

__all__ = ["BatchedModelPotential", "max_batch_dims", "vectorize_potential"]


class _BatchedLogJointMessenger(LogJointMessenger):
    """Substitutes chain-batched latent values; sums log densities per chain."""

    def __init__(self, max_plate_nesting: int) -> None:
        super().__init__()
        self.max_plate_nesting = max_plate_nesting

    def _reduce(self, msg, log_prob: torch.Tensor) -> torch.Tensor:
        extra = log_prob.dim() - self.max_plate_nesting
        if extra > 1:
            raise ValueError(
                f"chain_method='vectorized': the log density of site {msg['name']!r} has "
                f"shape {tuple(log_prob.shape)}, more batch dims than max_plate_nesting="
                f"{self.max_plate_nesting} plus the chain dim; declare every batch dim with "
                f"pyro.plate (or .to_event()), or pass a larger max_plate_nesting")
        if extra == 1:
            return log_prob.reshape(log_prob.size(0), -1).sum(-1)
        return log_prob.sum()


class BatchedModelPotential:
    """Potential energies of ``C`` flat points in one model run: ``(C, D) -> (C,)``.

    :param ModelPotential single: the one-chain potential (layout and model).
    :param list batch_dims: ``len(fn.batch_shape)`` of each latent site.
    :param int max_plate_nesting: number of batch dims the model uses (plates).
    """

    def __init__(self, single: ModelPotential, batch_dims: list[int],
                 max_plate_nesting: int) -> None:
        self.single = single
        self._plan = [(s.name, s.unconstrained_shape, s.shape, s.transform,
                       (1,) * (max_plate_nesting - nb)) for s, nb in zip(single.sites, batch_dims)]
        self._messenger = _BatchedLogJointMessenger(max_plate_nesting)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        c = z.size(0)
        values = {}
        log_det = None
        for (name, ushape, shape, t, pad), u in zip(self._plan,
                                                     z.split(self.single.sizes, dim=-1)):
            u = u.reshape((c,) + ushape)
            if t is None:
                x = u
            else:
                x = t(u)
                ld = t.log_abs_det_jacobian(u, x).reshape(c, -1).sum(-1)
                log_det = ld if log_det is None else log_det + ld
            values[name] = x.reshape((c,) + pad + shape)
        s = self.single
        log_joint = self._messenger.log_joint_of(s.model, s.model_args, s.model_kwargs, values)
        if log_joint is None:
            log_joint = z.new_zeros(c)
        pe = -log_joint if log_det is None else -(log_joint + log_det)
        return pe.expand(c) if pe.dim() < 1 or pe.size(0) != c else pe


def _vmapped(single: ModelPotential) -> Callable[[torch.Tensor], torch.Tensor]:
    from torch.func import vmap

    return vmap(single.potential)


def _agrees(batched: Callable, single: ModelPotential, z: torch.Tensor) -> bool:
    """Whether ``batched(z)`` and its gradient match ``single`` chain by chain."""
    try:
        pe, grad = value_and_grad(batched, z)
    except Exception:  # a model that does not broadcast over chains
        return False
    if pe.shape != z.shape[:1] or grad.shape != z.shape:
        return False
    for c in range(z.size(0)):
        pe_c, grad_c = value_and_grad(single.potential, z[c])
        if not torch.allclose(pe[c], pe_c, rtol=1e-4, atol=1e-4):
            return False
        gscale = float(grad_c.abs().max()) if grad_c.numel() else 0.0
        if not torch.allclose(grad[c], grad_c, rtol=1e-3, atol=1e-4 * max(gscale, 1.0)):
            return False
    return True


def max_batch_dims(trace) -> int:
    """The number of batch dims the sample sites of ``trace`` use (plates included)."""
    dims = 0
    for site in trace.nodes.values():
        if site["type"] == "sample":
            dims = max(dims, len(getattr(site["fn"], "batch_shape", ())))
            for frame in site["cond_indep_stack"]:
                if frame.dim is not None:
                    dims = max(dims, -frame.dim)
    return dims


def vectorize_potential(single: ModelPotential, trace, z0: torch.Tensor,
                        max_plate_nesting: int | None = None
                        ) -> Callable[[torch.Tensor], torch.Tensor]:
    """The cheapest ``(C, D) -> (C,)`` potential that reproduces ``single`` at points near
    ``z0`` ``(C, D)``: plate-dim broadcasting first, then ``torch.func.vmap``.

    :raises ValueError: if neither reproduces the model's potential (e.g. Python control
        flow on latent values), saying what to use instead.
    """
    mpn = max(max_batch_dims(trace), max_plate_nesting or 0)
    batch_dims = [len(trace.nodes[s.name]["fn"].batch_shape) for s in single.sites]
    check = z0 + 0.01 * torch.randn_like(z0)
    candidates: list[Callable[[], Callable[[torch.Tensor], torch.Tensor]]] = [
        lambda: BatchedModelPotential(single, batch_dims, mpn), lambda: _vmapped(single)]
    for make in candidates:
        try:
            batched = make()
        except Exception:
            continue
        if _agrees(batched, single, check):
            return batched
    raise ValueError(
        "chain_method='vectorized': the model could not be evaluated for all chains at once "
        "(neither broadcasting latent values over a leading chain dim nor torch.func.vmap "
        "reproduces its log density; Python control flow on latent values prevents both). "
        "Use chain_method='sequential' or 'parallel'.")
