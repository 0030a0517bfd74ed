"""Multivariate normal with adaptive velocity field (AVF) pathwise gradients."""
from __future__ import annotations

import torch

from .omt_mvn import _sum_to
from .torch import MultivariateNormal
from .util import sum_leftmost

__all__ = ["AVFMultivariateNormal"]


class _AVFSample(torch.autograd.Function):
    """``x = loc + L eps``; the backward pass adds a divergence-free correction to the
    reparameterization gradient of ``L``."""

    @staticmethod
    def forward(ctx, loc, scale_tril, control_var, eps):
        z = (scale_tril @ eps.unsqueeze(-1)).squeeze(-1)
        ctx.save_for_backward(scale_tril, control_var, z, eps)
        ctx.loc_shape = loc.shape
        return loc + z

    @staticmethod
    def backward(ctx, grad):
        scale_tril, control_var, z, eps = ctx.saved_tensors
        batch_dims = scale_tril.dim() - 2

        def total(outer):
            outer = sum_leftmost(outer, outer.dim() - batch_dims - 2)
            return outer.sum_to_size(scale_tril.shape)

        # reparameterization part: d x / d L_ab = e_a eps_b
        reparam = total(grad.unsqueeze(-1) * eps.unsqueeze(-2))
        # correction from the field Sigma K z, K = C0 dL^T C1 - C1^T dL C0^T (antisymmetric)
        sigma = scale_tril @ scale_tril.transpose(-1, -2)
        w = total(z.unsqueeze(-1) * grad.unsqueeze(-2)) @ sigma
        c0, c1 = control_var[0], control_var[1]
        correction = c1 @ (w - w.transpose(-1, -2)) @ c0
        return _sum_to(grad, ctx.loc_shape), (reparam + correction).tril(), None, None


class AVFMultivariateNormal(MultivariateNormal):
    r"""Multivariate normal with adaptive velocity field (AVF) gradients [1] with respect
    to the Cholesky factor :math:`L`, controlled by ``control_var``.

    Any velocity field :math:`w` with :math:`\nabla\cdot(q w) = 0` can be added to the
    reparameterization field without biasing the gradient. For a normal, the fields
    :math:`w = \Sigma K (x - \mu)` with :math:`K` antisymmetric qualify; here, for the
    direction :math:`\dot L`, :math:`K = C_0\dot L^\top C_1 - C_1^\top\dot L C_0^\top` with
    ``control_var`` :math:`= (C_0, C_1)`, which adds
    :math:`\mathrm{tril}(C_1 (W - W^\top) C_0)`, :math:`W = (x - \mu) g^\top \Sigma`, to the
    reparameterization gradient :math:`\mathrm{tril}(g\,\epsilon^\top)`. Every
    ``control_var`` gives an unbiased gradient; a good one (e.g. tuned to minimize the
    gradient variance of a given loss) lowers the variance. ``control_var = 0`` gives the
    reparameterization gradient. ``loc``'s gradient is the usual one; no gradient flows to
    ``control_var`` through samples.

    :param loc: shape ``(D,)`` (or ``batch_shape + (D,)``).
    :param scale_tril: lower Cholesky factor, shape ``(D, D)`` (or batched).
    :param control_var: shape ``(2, D, D)``.
    :raises ValueError: if ``control_var`` does not have shape ``(2, D, D)``.

    **References**

    [1] M. Jankowiak, F. Obermeyer (2018), *Pathwise derivatives beyond the
    reparameterization trick*, ICML.
    """

    def __init__(self, loc, scale_tril, control_var) -> None:
        dim = loc.size(-1)
        if control_var.shape != (2, dim, dim):
            raise ValueError(f"AVFMultivariateNormal: control_var must have shape (2, {dim}, "
                             f"{dim}), got {tuple(control_var.shape)}")
        super().__init__(loc, scale_tril=scale_tril)
        self.control_var = control_var

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        d = self.event_shape
        return AVFMultivariateNormal(self.loc.expand(batch_shape + d),
                                     self.scale_tril.expand(batch_shape + d + d),
                                     self.control_var)

    def rsample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        eps = torch.randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        return _AVFSample.apply(self.loc, self.scale_tril, self.control_var, eps)
