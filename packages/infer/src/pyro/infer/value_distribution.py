"""A categorical distribution over arbitrary Python values (tensors, strings, ...)."""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import torch
from torch.distributions import constraints

from pyro.primitive_distributions.torch_distribution import TorchDistribution

__all__ = ["ValueDistribution"]


def value_key(value: Any) -> Hashable:
    """A hashable key that identifies ``value`` by its contents (tensors by dtype, shape
    and entries)."""
    if isinstance(value, torch.Tensor):
        v = value.detach()
        return ("tensor", tuple(v.shape), tuple(v.reshape(-1).tolist()))
    if isinstance(value, list):
        return ("list", tuple(value_key(v) for v in value))
    if isinstance(value, tuple):
        return ("tuple", tuple(value_key(v) for v in value))
    try:
        hash(value)
    except TypeError:
        raise ValueError(
            f"ValueDistribution: cannot use a value of type {type(value).__name__} as an "
            f"outcome (it is neither a tensor nor hashable)"
        ) from None
    return ("value", value)


class ValueDistribution(TorchDistribution):
    """The exact distribution over the distinct values in ``values``, each with the
    total weight of its occurrences (log weights are normalized with logsumexp).

    Returned by :class:`~pyro.infer.Marginal` over a function's return values. It has
    ``batch_shape == event_shape == ()`` and can be used at a ``pyro.sample`` site
    (``sample()`` returns one of the values; ``log_prob(v)`` is ``-inf`` off the support).

    :param values: the outcomes, one per log weight (duplicates are merged).
    :param log_weights: tensor of shape ``(len(values),)``.
    :raises ValueError: on a length mismatch or an empty support.
    """

    arg_constraints: dict = {}
    support = constraints.real
    has_enumerate_support = True

    def __init__(self, values: Sequence[Any], log_weights: torch.Tensor) -> None:
        if len(values) != log_weights.shape[0] or log_weights.dim() != 1:
            raise ValueError(
                f"ValueDistribution: {len(values)} values but log_weights of shape "
                f"{tuple(log_weights.shape)}; expected ({len(values)},)"
            )
        if not values:
            raise ValueError("ValueDistribution: the support is empty")
        index: dict[Any, int] = {}
        support: list[Any] = []
        logits: list[torch.Tensor] = []
        for value, lw in zip(values, log_weights):
            key = value_key(value)
            i = index.get(key)
            if i is None:
                index[key] = len(support)
                support.append(value)
                logits.append(lw)
            else:
                logits[i] = torch.logaddexp(logits[i], lw)
        logits_t = torch.stack(logits)
        self._index = index
        self._values = support
        self.logits = logits_t - logits_t.logsumexp(0)
        super().__init__(torch.Size(), torch.Size(), validate_args=False)

    @property
    def probs(self) -> torch.Tensor:
        """The probabilities of the outcomes, in the order of :meth:`enumerate_support`."""
        return self.logits.exp()

    @property
    def values(self) -> list[Any]:
        """The distinct outcomes (a list)."""
        return list(self._values)

    def sample(self, sample_shape=torch.Size()) -> Any:
        """One outcome, or (for a non-empty ``sample_shape``) a list of outcomes
        (a stacked tensor when the outcomes are tensors)."""
        sample_shape = torch.Size(sample_shape)
        idx = torch.distributions.Categorical(logits=self.logits).sample(sample_shape)
        if not sample_shape:
            return self._values[int(idx)]
        picked = [self._values[i] for i in idx.reshape(-1).tolist()]
        if all(isinstance(v, torch.Tensor) for v in picked):
            stacked = torch.stack(picked)
            return stacked.reshape(sample_shape + stacked.shape[1:])
        return picked

    def log_prob(self, value: Any) -> torch.Tensor:
        """The log probability of ``value`` (``-inf`` when it is not an outcome)."""
        i = self._index.get(value_key(value))
        if i is None:
            return self.logits.new_full((), float("-inf"))
        return self.logits[i]

    def enumerate_support(self, expand: bool = True) -> Any:
        """The distinct outcomes: a stacked tensor when they are tensors of one shape,
        else a list."""
        vals = self._values
        if all(isinstance(v, torch.Tensor) for v in vals) and len(
            {tuple(v.shape) for v in vals}
        ) == 1:
            return torch.stack(vals)
        return list(vals)

    @property
    def mean(self) -> torch.Tensor:
        vals = self.enumerate_support()
        if not isinstance(vals, torch.Tensor):
            raise ValueError("ValueDistribution.mean needs numeric (tensor) outcomes")
        p = self.probs.reshape((-1,) + (1,) * (vals.dim() - 1))
        return (p * vals.to(p.dtype)).sum(0)

    @property
    def variance(self) -> torch.Tensor:
        vals = self.enumerate_support()
        if not isinstance(vals, torch.Tensor):
            raise ValueError("ValueDistribution.variance needs numeric (tensor) outcomes")
        p = self.probs.reshape((-1,) + (1,) * (vals.dim() - 1))
        v = vals.to(p.dtype)
        return (p * (v - self.mean) ** 2).sum(0)

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{v!r}: {p:.4g}" for v, p in zip(self._values[:8], self.probs.tolist()[:8])
        )
        more = ", ..." if len(self._values) > 8 else ""
        return f"ValueDistribution({{{shown}{more}}})"
