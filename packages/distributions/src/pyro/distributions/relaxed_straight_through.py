"""Relaxed (Gumbel-softmax) distributions with straight-through gradient estimators."""
from __future__ import annotations

import torch

from .torch import RelaxedBernoulli, RelaxedOneHotCategorical

__all__ = [
    "QuantizeBernoulli",
    "QuantizeCategorical",
    "RelaxedBernoulliStraightThrough",
    "RelaxedOneHotCategoricalStraightThrough",
]


class QuantizeBernoulli(torch.autograd.Function):
    """Round to 0/1 in the forward pass; pass the gradient through unchanged."""

    @staticmethod
    def forward(ctx, soft_sample):
        return soft_sample.round()

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output


class QuantizeCategorical(torch.autograd.Function):
    """One-hot of the argmax (last dimension) in the forward pass; pass the gradient
    through unchanged."""

    @staticmethod
    def forward(ctx, soft_sample):
        index = soft_sample.argmax(-1, keepdim=True)
        return torch.zeros_like(soft_sample).scatter_(-1, index, 1.0)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output


def _unquantized(value: torch.Tensor) -> torch.Tensor:
    """The relaxed sample behind a quantized one (the value itself for other tensors)."""
    return getattr(value, "_unquantize", value)


class RelaxedBernoulliStraightThrough(RelaxedBernoulli):
    """:class:`~pyro.distributions.RelaxedBernoulli` with a straight-through gradient
    estimator [1, 2]:

    - :meth:`rsample` returns quantized (0/1) samples;
    - :meth:`log_prob` of such a sample is the relaxed density of the unquantized sample
      behind it (a tensor not from :meth:`rsample` is scored as is);
    - the backward pass differentiates the relaxed sample.

    :param temperature: relaxation temperature.
    :param probs: success probabilities (or ``logits``).

    **References**

    [1] C. Maddison, A. Mnih, Y.W. Teh (2017), *The Concrete distribution: a continuous
    relaxation of discrete random variables*, ICLR.

    [2] E. Jang, S. Gu, B. Poole (2017), *Categorical reparameterization with
    Gumbel-softmax*, ICLR.
    """

    def rsample(self, sample_shape=torch.Size()):
        soft_sample = super().rsample(sample_shape)
        soft_sample = soft_sample.clamp(torch.finfo(soft_sample.dtype).tiny,
                                        1 - torch.finfo(soft_sample.dtype).eps)
        hard_sample = QuantizeBernoulli.apply(soft_sample)
        hard_sample._unquantize = soft_sample
        return hard_sample

    def log_prob(self, value):
        return super().log_prob(_unquantized(value))


class RelaxedOneHotCategoricalStraightThrough(RelaxedOneHotCategorical):
    """:class:`~pyro.distributions.RelaxedOneHotCategorical` with a straight-through
    gradient estimator [1, 2]: :meth:`rsample` returns one-hot samples, :meth:`log_prob` of
    one is the relaxed density of the unquantized sample behind it, and the backward pass
    differentiates the relaxed sample.

    :param temperature: relaxation temperature.
    :param probs: category probabilities (or ``logits``).

    **References**

    [1] C. Maddison, A. Mnih, Y.W. Teh (2017), *The Concrete distribution*, ICLR.

    [2] E. Jang, S. Gu, B. Poole (2017), *Categorical reparameterization with
    Gumbel-softmax*, ICLR.
    """

    def rsample(self, sample_shape=torch.Size()):
        soft_sample = super().rsample(sample_shape)
        soft_sample = soft_sample.clamp(min=torch.finfo(soft_sample.dtype).tiny)
        hard_sample = QuantizeCategorical.apply(soft_sample)
        hard_sample._unquantize = soft_sample
        return hard_sample

    def log_prob(self, value):
        return super().log_prob(_unquantized(value))
