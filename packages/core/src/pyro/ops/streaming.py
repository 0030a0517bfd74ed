"""Statistics of a stream of samples kept in constant memory, mergeable across chains
(used by :class:`~pyro.infer.mcmc.api.StreamingMCMC`).

**References**

- T. F. Chan, G. H. Golub, R. J. LeVeque (1979), "Updating formulae and a pairwise
  algorithm for computing sample variances" (merging two running variances).
- B. P. Welford (1962), Technometrics 4(3) (the one-sample update).
"""
from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import torch

__all__ = ["CountMeanStats", "CountMeanVarianceStats", "CountStats", "StackStats",
           "StatsOfDict", "StreamingStats"]


_S = TypeVar("_S", bound="StreamingStats")


class StreamingStats(ABC):
    """Interface of streaming statistics: :meth:`update` with one sample, :meth:`merge`
    two summaries of disjoint streams, :meth:`get` the current statistics."""

    @abstractmethod
    def update(self, sample: Any) -> None:
        """Add one sample."""

    @abstractmethod
    def merge(self: _S, other: _S) -> _S:
        """A new summary of both streams (neither input is modified).

        :raises TypeError: if ``other`` is not of the same type.
        """

    @abstractmethod
    def get(self) -> Any:
        """The statistics so far."""

    def _check_merge(self, other: StreamingStats) -> None:
        if type(other) is not type(self):
            raise TypeError(f"cannot merge {type(self).__name__} with {type(other).__name__}")


class CountStats(StreamingStats):
    """Counts samples: ``get() -> {"count": n}``."""

    def __init__(self) -> None:
        self.count = 0

    def update(self, sample: Any) -> None:
        self.count += 1

    def merge(self, other: CountStats) -> CountStats:
        self._check_merge(other)
        out = type(self)()
        out.count = self.count + other.count
        return out

    def get(self) -> dict[str, int]:
        return {"count": self.count}


class StackStats(StreamingStats):
    """Keeps every sample (memory grows): ``get() -> {"samples": stacked}``, the samples
    stacked along a new leading dim (an empty dict before any sample)."""

    def __init__(self) -> None:
        self.samples: list[torch.Tensor] = []

    def update(self, sample: torch.Tensor) -> None:
        self.samples.append(sample)

    def merge(self, other: StackStats) -> StackStats:
        self._check_merge(other)
        out = type(self)()
        out.samples = self.samples + other.samples
        return out

    def get(self) -> dict[str, torch.Tensor]:
        return {"samples": torch.stack(self.samples)} if self.samples else {}


class CountMeanStats(StreamingStats):
    """Count and running mean of tensors: ``get() -> {"count": n, "mean": tensor}``."""

    def __init__(self) -> None:
        self.count = 0
        self.mean: torch.Tensor | float = 0.0

    def update(self, sample: torch.Tensor) -> None:
        sample = sample.detach()
        self.count += 1
        self.mean = self.mean + (sample - self.mean) / self.count

    def merge(self, other: CountMeanStats) -> CountMeanStats:
        self._check_merge(other)
        out = type(self)()
        out.count = self.count + other.count
        if out.count:
            out.mean = (self.count * self.mean + other.count * other.mean) / out.count
        return out

    def get(self) -> dict[str, Any]:
        return {"count": self.count, "mean": self.mean}


class CountMeanVarianceStats(StreamingStats):
    """Count, running mean and unbiased variance (Welford's update, Chan et al.'s merge):
    ``get() -> {"count": n, "mean": tensor, "variance": tensor}`` (the variance is NaN
    with fewer than 2 samples)."""

    def __init__(self) -> None:
        self.count = 0
        self.mean: torch.Tensor | float = 0.0
        self.m2: torch.Tensor | float = 0.0

    def update(self, sample: torch.Tensor) -> None:
        sample = sample.detach()
        self.count += 1
        delta = sample - self.mean
        self.mean = self.mean + delta / self.count
        self.m2 = self.m2 + delta * (sample - self.mean)

    def merge(self, other: CountMeanVarianceStats) -> CountMeanVarianceStats:
        self._check_merge(other)
        out = type(self)()
        n = self.count + other.count
        out.count = n
        if n:
            delta = other.mean - self.mean
            out.mean = self.mean + delta * (other.count / n)
            out.m2 = self.m2 + other.m2 + delta * delta * (self.count * other.count / n)
        return out

    def get(self) -> dict[str, Any]:
        if self.count < 2:
            variance = self.m2 * float("nan") if isinstance(self.m2, torch.Tensor) \
                else float("nan")
        else:
            variance = self.m2 / (self.count - 1)
        return {"count": self.count, "mean": self.mean, "variance": variance}


class StatsOfDict(StreamingStats):
    """Statistics of each entry of dict-valued samples.

    :param dict types: key -> a :class:`StreamingStats` subclass for that key.
    :param default: the class for keys not in ``types`` (default
        :class:`CountMeanVarianceStats`).
    """

    def __init__(self, types: dict[Hashable, Callable[[], StreamingStats]] | None = None,
                 default: Callable[[], StreamingStats] = CountMeanVarianceStats) -> None:
        self.types = dict(types or {})
        self.default = default
        self.stats: dict[Hashable, StreamingStats] = {}

    def update(self, sample: dict[Hashable, Any]) -> None:
        for key, value in sample.items():
            stats = self.stats.get(key)
            if stats is None:
                stats = self.stats[key] = self.types.get(key, self.default)()
            stats.update(value)

    def merge(self, other: StatsOfDict) -> StatsOfDict:
        self._check_merge(other)
        out = copy.copy(self)
        out.stats = {}
        for key in list(self.stats) + [k for k in other.stats if k not in self.stats]:
            if key in self.stats and key in other.stats:
                out.stats[key] = self.stats[key].merge(other.stats[key])
            else:
                out.stats[key] = copy.deepcopy(self.stats.get(key) or other.stats[key])
        return out

    def get(self) -> dict[Hashable, Any]:
        return {key: stats.get() for key, stats in self.stats.items()}
