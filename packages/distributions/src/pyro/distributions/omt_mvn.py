"""Multivariate normal with optimal-transport (OMT) pathwise gradients."""
from __future__ import annotations

import torch

from .torch import MultivariateNormal
from .util import sum_leftmost

__all__ = ["OMTMultivariateNormal"]


def _sum_to(grad: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """Sum a broadcast gradient back to a parameter's ``shape``."""
    grad = sum_leftmost(grad, grad.dim() - len(shape))
    return grad.sum_to_size(shape)


def _solve_lyapunov(sigma: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """The symmetric ``H`` with ``H sigma + sigma H = g`` (``g`` symmetric), by
    eigendecomposition of ``sigma``."""
    lam, u = torch.linalg.eigh(sigma)
    gt = u.transpose(-1, -2) @ g @ u
    ht = gt / (lam.unsqueeze(-1) + lam.unsqueeze(-2))
    return u @ ht @ u.transpose(-1, -2)


class _OMTSample(torch.autograd.Function):
    """``x = loc + L eps``; the backward pass uses the OMT velocity field for ``L``."""

    @staticmethod
    def forward(ctx, loc, scale_tril, eps):
        z = (scale_tril @ eps.unsqueeze(-1)).squeeze(-1)
        ctx.save_for_backward(scale_tril, z)
        ctx.loc_shape = loc.shape
        return loc + z

    @staticmethod
    def backward(ctx, grad):
        scale_tril, z = ctx.saved_tensors
        batch_dims = scale_tril.dim() - 2
        # G = sum over the sample dimensions of sym(z g^T)
        outer = z.unsqueeze(-1) * grad.unsqueeze(-2)
        outer = sum_leftmost(outer, outer.dim() - batch_dims - 2)
        outer = outer.sum_to_size(scale_tril.shape)
        g_sym = 0.5 * (outer + outer.transpose(-1, -2))
        sigma = scale_tril @ scale_tril.transpose(-1, -2)
        h = _solve_lyapunov(sigma, g_sym)
        grad_tril = (2 * h @ scale_tril).tril()
        return _sum_to(grad, ctx.loc_shape), grad_tril, None


class OMTMultivariateNormal(MultivariateNormal):
    r"""Multivariate normal with OMT (optimal transport) gradients with respect to both
    parameters [1].

    Samples are the usual :math:`x = \mu + L\epsilon`; their gradient with respect to the
    Cholesky factor :math:`L` follows the velocity field of the optimal transport between
    nearby normals, :math:`\dot x = \dot T (x - \mu)` with :math:`\dot T` the symmetric
    solution of :math:`\dot T\Sigma + \Sigma\dot T = \dot\Sigma`. It costs
    :math:`O(D^3)` per backward pass (an eigendecomposition) and usually has lower variance
    than the reparameterization gradient :math:`\epsilon`-outer-product. The gradient with
    respect to ``loc`` is the usual one.

    :param loc: shape ``batch_shape + (D,)``.
    :param scale_tril: lower Cholesky factor, shape ``batch_shape + (D, D)``.

    **References**

    [1] M. Jankowiak, F. Obermeyer (2018), *Pathwise derivatives beyond the
    reparameterization trick*, ICML.
    """

    def __init__(self, loc, scale_tril, validate_args=None) -> None:
        super().__init__(loc, scale_tril=scale_tril, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        d = self.event_shape
        return type(self)(self.loc.expand(batch_shape + d),
                          self.scale_tril.expand(batch_shape + d + d))

    def rsample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        eps = torch.randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        return _OMTSample.apply(self.loc, self.scale_tril, eps)
