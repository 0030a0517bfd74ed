"""Shape, masking and validation helpers (Pyro's ``pyro.distributions.util``).

The validation switch is core's one switch (:func:`pyro.util.enable_validation`, also
``pyro.enable_validation``), re-exported here: it sets Pyro's own checks and torch's
``Distribution`` ``validate_args`` default together."""
from __future__ import annotations

import copy
import functools
import numbers
import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch.distributions.utils import broadcast_all

from pyro.primitive_distributions.util import (
    broadcast_shape,
    is_identically_one,
    is_identically_zero,
    scale_and_mask,
    sum_rightmost,
)
from pyro.util import enable_validation, is_validation_enabled, validation_enabled

__all__ = [
    "broadcast_all",
    "broadcast_shape",
    "copy_docs_from",
    "deep_to",
    "detach",
    "enable_validation",
    "eye_like",
    "gather",
    "is_identically_one",
    "is_identically_zero",
    "is_validation_enabled",
    "scalar_like",
    "scale_and_mask",
    "sum_leftmost",
    "sum_rightmost",
    "validation_enabled",
    "weakmethod",
]


def sum_leftmost(value: torch.Tensor, dim: int) -> torch.Tensor:
    """Sum out the ``dim`` leftmost dimensions of ``value`` (a negative ``dim`` keeps the
    ``-dim`` rightmost dimensions). A Python number is returned unchanged."""
    if not isinstance(value, torch.Tensor):
        return value
    if dim < 0:
        dim += value.dim()
    if dim <= 0:
        return value
    if dim >= value.dim():
        return value.sum()
    return value.reshape((-1,) + value.shape[dim:]).sum(0)


def eye_like(value: torch.Tensor, m: int, n: int | None = None) -> torch.Tensor:
    """An ``m x n`` identity matrix with the dtype and device of ``value``."""
    return torch.eye(m, m if n is None else n, dtype=value.dtype, device=value.device)


def scalar_like(prototype: torch.Tensor, fill_value) -> torch.Tensor:
    """A scalar tensor holding ``fill_value`` with the dtype and device of ``prototype``
    (a Python number ``prototype`` gives the default dtype)."""
    if isinstance(prototype, torch.Tensor):
        return torch.tensor(fill_value, dtype=prototype.dtype, device=prototype.device)
    return torch.tensor(fill_value, dtype=torch.get_default_dtype())


def gather(value: torch.Tensor, index: torch.Tensor, dim: int) -> torch.Tensor:
    """Broadcasted gather of ``value`` at ``index`` along dimension ``dim``.

    Unlike :func:`torch.gather`, ``value`` and ``index`` broadcast against each other in
    every dimension but ``dim``, where ``value`` is indexed (``value.size(dim)`` is usually
    larger than ``index.size(dim)``, often 1).

    :param value: the tensor to index.
    :param index: integer indices into dimension ``dim`` of ``value``.
    :param int dim: a (usually negative) dimension.
    :returns: a tensor of the broadcast shape, with ``index.size(dim)`` at ``dim``.
    """
    if dim >= 0:
        dim -= max(value.dim(), index.dim())
    value_shape = list(value.shape)
    index_shape = list(index.shape)
    ndim = max(len(value_shape), len(index_shape))
    value_shape = [1] * (ndim - len(value_shape)) + value_shape
    index_shape = [1] * (ndim - len(index_shape)) + index_shape
    value = value.reshape(value_shape)
    index = index.reshape(index_shape)
    shape = list(torch.broadcast_shapes(tuple(value_shape[:dim] + [1] + value_shape[dim:][1:]),
                                        tuple(index_shape[:dim] + [1] + index_shape[dim:][1:])))
    value_shape_b = shape.copy()
    value_shape_b[dim] = value.size(dim)
    index_shape_b = shape.copy()
    index_shape_b[dim] = index.size(dim)
    return torch.gather(value.expand(value_shape_b), dim, index.expand(index_shape_b))


def _deep_map(fn: Callable, obj: Any) -> Any:
    """A deep copy of ``obj`` with every tensor ``t`` replaced by ``fn(t)`` (seeding
    deepcopy's memo, so that shared tensors stay shared)."""
    memo = {id(t): fn(t) for t in _tensors_in(obj, set())}
    return copy.deepcopy(obj, memo)


def _tensors_in(obj: Any, seen: set):
    """Every tensor reachable from ``obj`` through containers and instance attributes."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, torch.Tensor):
        yield obj
        return
    if isinstance(obj, (str, bytes, numbers.Number, type(None), type)):
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _tensors_in(k, seen)
            yield from _tensors_in(v, seen)
        return
    if isinstance(obj, (list, tuple, set, frozenset)):
        for v in obj:
            yield from _tensors_in(v, seen)
        return
    state = getattr(obj, "__dict__", None)
    if isinstance(state, dict):
        yield from _tensors_in(state, seen)
    for slot in getattr(type(obj), "__slots__", ()):
        if isinstance(slot, str) and hasattr(obj, slot):
            yield from _tensors_in(getattr(obj, slot), seen)


def deep_to(obj: Any, *args, **kwargs) -> Any:
    """A deep copy of any Python object with ``.to(*args, **kwargs)`` applied to every
    :class:`torch.Tensor` and :class:`torch.nn.Module` in it.

    Like :meth:`torch.Tensor.to` (and unlike :meth:`torch.nn.Module.to`) it makes new
    objects; for compatibility with PyTorch a module is first moved in place by
    :meth:`torch.nn.Module.to`, then copied.

    :param obj: any Python object.
    :returns: the mapped deep copy.
    """
    for module in _modules_in(obj, set()):
        module.to(*args, **kwargs)
    return _deep_map(lambda t: t.to(*args, **kwargs), obj)


def _modules_in(obj: Any, seen: set):
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, torch.nn.Module):
        yield obj
        return
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _modules_in(v, seen)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for v in obj:
            yield from _modules_in(v, seen)
    elif not isinstance(obj, (torch.Tensor, str, bytes, numbers.Number, type)):
        state = getattr(obj, "__dict__", None)
        if isinstance(state, dict):
            for v in state.values():
                yield from _modules_in(v, seen)


def detach(obj: Any) -> Any:
    """A deep copy of any Python object with every :class:`torch.Tensor` detached (no
    tensor data is copied: the detached tensors share storage).

    :param obj: any Python object, e.g. a distribution.
    :returns: the copy.
    """
    return _deep_map(lambda t: t.detach(), obj)


def copy_docs_from(source_class: type, full_text: bool = False) -> Callable:
    """Class decorator copying the docstrings of ``source_class`` and of its methods to the
    decorated class where these have none (with ``full_text=True`` the source's class
    docstring is prepended to an existing one).

    :param source_class: the class to take the documentation from.
    :param bool full_text: keep the whole source docstring in front of the class's own.
    """

    def decorator(destin_class: type) -> type:
        if not destin_class.__doc__:
            destin_class.__doc__ = source_class.__doc__
        elif full_text and source_class.__doc__:
            destin_class.__doc__ = source_class.__doc__ + "\n\n" + destin_class.__doc__
        for name, method in vars(destin_class).items():
            source = getattr(source_class, name, None)
            if source is None or getattr(method, "__doc__", None):
                continue
            doc = getattr(source, "__doc__", None)
            if not doc:
                continue
            target = method.fget if isinstance(method, property) else method
            try:
                target.__doc__ = doc
            except (AttributeError, TypeError):
                pass
        return destin_class

    return decorator


def weakmethod(fn: Callable) -> Callable:
    """Decorator binding a method weakly to its instance, so that storing the bound method
    on the instance (``self.callback = self._callback``) makes no reference cycle.

    Calling the method after its instance was garbage-collected raises ``AttributeError``.
    """

    def __get__(self, instance, owner=None):
        if instance is None:
            return fn
        ref = weakref.ref(instance)

        @functools.wraps(fn)
        def bound(*args, **kwargs):
            obj = ref()
            if obj is None:
                raise AttributeError(f"{fn.__name__}: the instance was garbage-collected")
            return fn(obj, *args, **kwargs)

        return bound

    return type("weakmethod", (), {"__get__": __get__, "__doc__": fn.__doc__,
                                   "__wrapped__": fn})()
