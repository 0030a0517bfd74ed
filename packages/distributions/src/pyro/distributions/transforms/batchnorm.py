"""Batch normalization as a bijection (RealNVP's batch-norm layer for density estimation)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import constraints
from ..torch_transform import TransformModule

__all__ = ["BatchNorm", "batchnorm"]


class BatchNorm(TransformModule):
    r"""Batch normalization as an elementwise affine bijection between a base variable
    :math:`x` and data :math:`y`:

    .. math:: x = \frac{y - \hat\mu}{\sqrt{\hat\sigma^2 + \epsilon}} \odot \gamma + \beta,

    where :math:`\gamma > 0` (``relu(gamma) + 1e-6``) and :math:`\beta` are learnable. In
    training mode the inverse direction (data to base, the one computed when scoring data)
    uses the mean and unbiased variance of its input batch (over all batch dims) and updates
    the buffers ``moving_mean`` / ``moving_variance`` by ``momentum``; the forward direction,
    and both directions in eval mode, use the moving averages.

    :param int input_dim: size of the last dimension.
    :param float momentum: weight of the new batch in the moving averages.
    :param float epsilon: added to the variance.

    Elementwise (``event_dim = 0``): ``log_abs_det_jacobian`` has the shape of ``x``:
    :math:`\tfrac12\log(\hat\sigma^2 + \epsilon) - \log\gamma`, with the batch variance of
    ``y`` in training mode.

    **References**

    [1] Dinh, Sohl-Dickstein, Bengio (2017), *Density estimation using Real NVP*, ICLR.

    [2] Ioffe, Szegedy (2015), *Batch Normalization*, ICML.
    """

    domain = constraints.real
    codomain = constraints.real
    bijective = True

    def __init__(self, input_dim: int, momentum: float = 0.1, epsilon: float = 1e-5) -> None:
        super().__init__(cache_size=1)
        self.input_dim = int(input_dim)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.gamma = nn.Parameter(torch.ones(self.input_dim))
        self.beta = nn.Parameter(torch.zeros(self.input_dim))
        self.register_buffer("moving_mean", torch.zeros(self.input_dim))
        self.register_buffer("moving_variance", torch.ones(self.input_dim))

    @property
    def constrained_gamma(self) -> torch.Tensor:
        return F.relu(self.gamma) + 1e-6

    def _batch_stats(self, y):
        flat = y.reshape(-1, y.size(-1))
        if flat.size(0) < 2:
            raise ValueError(
                "BatchNorm in training mode needs a batch of at least 2 values to estimate the "
                "variance; call .eval() to use the moving averages"
            )
        return flat.mean(0), flat.var(0)

    def _call(self, x):
        scale = torch.sqrt(self.moving_variance + self.epsilon)
        return (x - self.beta) / self.constrained_gamma * scale + self.moving_mean

    def _inverse(self, y):
        if self.training:
            mean, var = self._batch_stats(y)
            with torch.no_grad():
                self.moving_mean.mul_(1 - self.momentum).add_(mean.detach() * self.momentum)
                self.moving_variance.mul_(1 - self.momentum).add_(var.detach() * self.momentum)
        else:
            mean, var = self.moving_mean, self.moving_variance
        return (y - mean) / torch.sqrt(var + self.epsilon) * self.constrained_gamma + self.beta

    def log_abs_det_jacobian(self, x, y):
        var = self._batch_stats(y)[1] if self.training else self.moving_variance
        ladj = 0.5 * torch.log(var + self.epsilon) - self.constrained_gamma.log()
        return ladj.expand(torch.broadcast_shapes(x.shape, ladj.shape))


def batchnorm(input_dim: int, **kwargs) -> BatchNorm:
    """A :class:`BatchNorm` (``kwargs``: ``momentum``, ``epsilon``)."""
    return BatchNorm(input_dim, **kwargs)
