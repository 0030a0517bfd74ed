"""``Marginal(fn)``: the exact distribution over a stochastic function's return values,
computed by exhaustive enumeration with :class:`~pyro.infer.Search`."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from .abstract_infer import Marginals, TracePosterior
from .search import Search
from .value_distribution import ValueDistribution

__all__ = ["Marginal"]


class Marginal:
    """The distribution of a stochastic function's return value, by exact enumeration.

    ``Marginal(fn)`` (usable as a decorator; the ``Marginal`` of Pyro 0.1-0.3) turns a
    stochastic function with discrete choices into ``fn'(*args, **kwargs) ->
    distribution`` over ``fn``'s return values, computed exactly by exhaustive
    :class:`~pyro.infer.Search` (weights are the traces' scaled log densities, including
    ``pyro.factor`` terms). The distribution
    (:class:`~pyro.infer.value_distribution.ValueDistribution`) has ``sample``,
    ``log_prob``, ``enumerate_support`` and can be used at a ``pyro.sample`` site, so such
    functions nest (the Rational Speech Act example). Results are cached per arguments.

    ``Marginal(trace_posterior, sites=None)`` returns
    :class:`~pyro.infer.abstract_infer.Marginals` ``(trace_posterior, sites)``, Pyro 1.x's
    per-site marginals of a posterior.

    :param fn: the stochastic function (or a :class:`~pyro.infer.abstract_infer.TracePosterior`).
    :param sites: for the posterior form, the sites (default: latent sites).
    :param int max_tries: the bound on executions passed to ``Search``.
    :param bool cache: memoize the distribution per (hashable) arguments.
    :raises ValueError: if ``fn`` is neither callable nor a ``TracePosterior``.

    **References**

    [1] N. D. Goodman, A. Stuhlmüller, "The Design and Implementation of Probabilistic
        Programming Languages", http://dippl.org, 2014 (exhaustive enumeration as the
        marginalisation operator).
    """

    def __new__(cls, fn: Callable | TracePosterior, *args: Any, **kwargs: Any):
        if isinstance(fn, TracePosterior):
            sites = args[0] if args else kwargs.get("sites")
            return Marginals(fn, sites)
        return super().__new__(cls)

    def __init__(
        self,
        fn: Callable,
        sites: None | str | Sequence[str] = None,
        max_tries: int = int(1e6),
        cache: bool = True,
    ) -> None:
        if not callable(fn):
            raise ValueError(
                f"Marginal expects a stochastic function or a TracePosterior, got "
                f"{type(fn).__name__}"
            )
        self.fn = fn
        self.max_tries = max_tries
        self._cache: dict[Any, ValueDistribution] | None = {} if cache else None
        self.__name__ = getattr(fn, "__name__", type(self).__name__)
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn

    def __call__(self, *args, **kwargs) -> ValueDistribution:
        cache = self._cache
        key = None if cache is None else _hash_key((args, tuple(sorted(kwargs.items()))))
        if cache is not None and key is not None and key in cache:
            return cache[key]
        posterior = Search(self.fn, max_tries=self.max_tries).run(*args, **kwargs)
        values = [tr.nodes["_RETURN"]["value"] for tr in posterior.exec_traces]
        d = ValueDistribution(values, posterior.log_weight_tensor())
        if cache is not None and key is not None:
            cache[key] = d
        return d


def _hash_key(obj: Any) -> Any:
    """A hashable key describing ``obj`` by value (tensors by their contents), or
    ``None`` when some part cannot be keyed."""
    if isinstance(obj, torch.Tensor):
        if obj.numel() > 1024 or obj.requires_grad:
            return None
        return ("tensor", obj.dtype, tuple(obj.shape), tuple(obj.reshape(-1).tolist()))
    if isinstance(obj, (tuple, list)):
        parts = tuple(_hash_key(o) for o in obj)
        if any(p is None for p in parts):
            return None
        return (type(obj).__name__, parts)
    if obj is None or isinstance(obj, (str, int, float, bool, complex, bytes)):
        return ("value", obj)
    try:
        hash(obj)
    except TypeError:
        return None
    return ("object", obj)
