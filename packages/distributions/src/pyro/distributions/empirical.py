"""The weighted empirical distribution of a set of samples."""
from __future__ import annotations

import torch
from torch.distributions import Categorical, constraints

from .torch_distribution import TorchDistribution

__all__ = ["Empirical"]


class Empirical(TorchDistribution):
    r"""Distribution on a finite set of (weighted) samples.

    :param torch.Tensor samples: shape ``batch_shape + (num_samples,) + event_shape``.
    :param torch.Tensor log_weights: unnormalized log weights, shape ``batch_shape +
        (num_samples,)``; uniform weights when omitted (then ``batch_shape == ()``).
    :raises ValueError: if the shapes of ``samples`` and ``log_weights`` do not agree.

    ``sample(s)`` draws support points with probability proportional to their weight (shape
    ``s + batch_shape + event_shape``). ``log_prob(x)`` is the log of the total normalized
    weight of the samples equal to ``x`` (``-inf`` off the support). ``mean`` and
    ``variance`` are the weighted moments. ``enumerate_support`` lists the distinct points
    (``batch_shape == ()`` only).
    """

    arg_constraints: dict = {}
    support = constraints.real

    def __init__(self, samples: torch.Tensor, log_weights: torch.Tensor | None = None,
                 validate_args: bool | None = None) -> None:
        if not isinstance(samples, torch.Tensor) or samples.dim() == 0:
            raise ValueError("Empirical: samples must be a tensor with a num_samples dimension")
        if log_weights is None:
            log_weights = samples.new_zeros(samples.shape[:1], dtype=_float_dtype(samples))
        if log_weights.dim() == 0 or samples.shape[: log_weights.dim()] != log_weights.shape:
            raise ValueError(
                f"Empirical: samples of shape {tuple(samples.shape)} must start with the shape "
                f"of log_weights {tuple(log_weights.shape)} (batch_shape + (num_samples,))"
            )
        if validate_args and torch.isnan(log_weights).any():
            raise ValueError("Empirical: log_weights contain NaN")
        self._samples = samples
        self._log_weights = log_weights
        self._categorical = Categorical(logits=log_weights, validate_args=False)
        batch_shape = log_weights.shape[:-1]
        event_shape = samples.shape[log_weights.dim():]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    @property
    def sample_size(self) -> int:
        """The number of samples (``num_samples``)."""
        return self._log_weights.size(-1)

    @property
    def log_weights(self) -> torch.Tensor:
        return self._log_weights

    def get_samples_and_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The stored ``(samples, log_weights)``."""
        return self._samples, self._log_weights

    # torch declares a class attribute; here it depends on the batch shape
    @property
    def has_enumerate_support(self) -> bool:  # type: ignore[override]
        return len(self.batch_shape) == 0

    def _normalized_log_weights(self) -> torch.Tensor:
        return self._log_weights - self._log_weights.logsumexp(-1, keepdim=True)

    def sample(self, sample_shape=torch.Size()):
        sample_shape = torch.Size(sample_shape)
        with torch.no_grad():
            idx = self._categorical.sample(sample_shape)  # sample_shape + batch_shape
        event_dim = len(self.event_shape)
        samples = self._samples.expand(sample_shape + self._samples.shape)
        idx = idx.reshape(idx.shape + (1,) * (1 + event_dim))
        idx = idx.expand(idx.shape[: idx.dim() - event_dim] + self.event_shape)
        return samples.gather(-1 - event_dim, idx).squeeze(-1 - event_dim)

    def log_prob(self, value):
        event_dim = len(self.event_shape)
        eq = value.unsqueeze(-1 - event_dim) == self._samples
        if event_dim:
            eq = eq.flatten(-event_dim).all(-1)
        logw = self._normalized_log_weights()
        return torch.where(eq, logw, logw.new_full((), -float("inf"))).logsumexp(-1)

    def _weights(self) -> torch.Tensor:
        w = self._normalized_log_weights().exp()
        return w.reshape(w.shape + (1,) * len(self.event_shape))

    @property
    def mean(self):
        dim = -1 - len(self.event_shape)
        samples = self._samples.to(self._log_weights.dtype)
        return (self._weights() * samples).sum(dim)

    @property
    def variance(self):
        dim = -1 - len(self.event_shape)
        samples = self._samples.to(self._log_weights.dtype)
        deviation = samples - self.mean.unsqueeze(dim)
        return (self._weights() * deviation**2).sum(dim)

    def enumerate_support(self, expand: bool = True):
        if len(self.batch_shape):
            raise ValueError(
                f"Empirical.enumerate_support: only distributions with batch_shape () have an "
                f"enumerable support, this one has batch_shape {tuple(self.batch_shape)}"
            )
        return torch.unique(self._samples, dim=0)


def _float_dtype(t: torch.Tensor) -> torch.dtype:
    return t.dtype if t.is_floating_point() else torch.get_default_dtype()
