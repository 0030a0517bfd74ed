"""``torch.jit.trace`` for functions that call :func:`pyro.param`.

A traced function must receive every tensor it reads that requires grad as an input, or
gradients cannot reach it. :func:`trace` therefore runs the function once eagerly to learn
which parameters it reads, then traces it with their unconstrained leaf tensors as extra
inputs (inside the trace, :func:`pyro.param` returns the constrained values computed from
those inputs); later calls pass the current leaves, so optimizer updates and gradients
flow as without tracing.
"""
from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, overload

import torch
from torch.distributions import transform_to

import pyro
import pyro.poutine as poutine
from pyro.params.param_store import ParamStoreDict
from pyro.poutine.runtime import _PYRO_STACK
from pyro.poutine.trace_messenger import TraceMessenger
from pyro.util import ignore_jit_warnings, validation_enabled

from .linalg import ignore_torch_deprecation_warnings

__all__ = ["CompiledFunction", "pyro_tracer_warnings_ignored", "trace"]


@contextmanager
def pyro_tracer_warnings_ignored() -> Iterator[None]:
    """Ignore the ``torch.jit.TracerWarning`` s raised in Pyro's own modules while tracing.

    Plates, shape checks and argument checks read sizes and values in Python, which a
    trace fixes as constants; that is what a compiled program of fixed structure wants,
    and a Pyro 1.9 user does not see these warnings. Warnings raised in the traced
    program's own code (e.g. a model branching on a tensor) still show.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning, module=r"pyro\.")
        yield


def _frozen(value: Any) -> Any:
    # Static keyword arguments such as ``sizes=[4, 5]`` (Pyro's JIT tutorial) key the
    # cache by content: lists, sets and dicts become their hashable equivalents.
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    try:
        hash(value)
    except TypeError:
        # An unhashable options object (e.g. argparse.Namespace, as in Pyro's HMM
        # example) is compared by its attributes.
        if hasattr(value, "__dict__"):
            return (type(value), _frozen(vars(value)))
    return value


class CompiledFunction:
    """Output of :func:`trace`: a lazily traced version of ``fn``.

    One trace is made per calling convention (number of positional arguments and the
    values of the keyword arguments, which are fixed into the trace); they are kept in
    :attr:`compiled`, a dict from that key to the ``torch.jit.ScriptFunction``, on which
    torch's diagnostic methods (``.graph``, ``.code``) can be called.

    :param fn: the function to trace; positional arguments must be tensors (or nested
        tuples / lists of tensors), keyword arguments constants: hashable values or
        (nested) lists, tuples, sets and dicts of them, or objects such as
        ``argparse.Namespace`` compared by their attributes.
    :param ignore_warnings: silence ``torch.jit.TracerWarning`` while tracing.
    :param jit_options: keyword arguments of :func:`torch.jit.trace`, e.g.
        ``{"check_trace": False}``, and Pyro's ``time_compilation`` (bool): store the
        seconds the latest compilation took in :attr:`compile_time`.
    """

    def __init__(
        self,
        fn: Callable,
        ignore_warnings: bool = False,
        jit_options: dict | None = None,
    ) -> None:
        self.fn = fn
        self.ignore_warnings = ignore_warnings
        self.jit_options = {} if jit_options is None else dict(jit_options)
        # Pyro's own option (not torch's): record how long each compilation took.
        self.time_compilation = bool(self.jit_options.pop("time_compilation", False))
        self.compile_time: float | None = None
        self.compiled: dict[tuple, Any] = {}
        self._param_names: dict[tuple, list[str]] = {}
        functools.update_wrapper(self, fn, updated=())

    def _key(self, args: tuple, kwargs: dict) -> tuple:
        try:
            key = (len(args), tuple(sorted((k, _frozen(v)) for k, v in kwargs.items())))
            hash(key)
        except TypeError:
            raise TypeError(
                f"pyro.ops.jit.trace({getattr(self.fn, '__name__', self.fn)!r}): keyword "
                f"arguments are fixed into the trace and must be hashable constants; pass "
                f"tensors positionally"
            ) from None
        return key

    def _compile(self, key: tuple, args: tuple, kwargs: dict) -> None:
        # One eager run finds the params fn reads (and creates them with their inits).
        capture = TraceMessenger(param_only=True)
        with poutine.block(), capture:
            self.fn(*args, **kwargs)
        names = [name for name, site in capture.trace.nodes.items() if site["type"] == "param"]
        store = pyro.get_param_store()
        unconstrained = [_leaf(store, name) for name in names]
        n = len(unconstrained)

        def flat_fn(*params_and_args):
            # pyro.param must return values computed from the graph's inputs (the store's
            # own leaves would be frozen into the trace as constants).
            inputs = dict(zip(names, params_and_args[:n]))

            def substitute_fn(msg):
                value = inputs.get(msg["name"])
                if value is None:
                    return None
                return transform_to(store.get_constraint(msg["name"]))(value)

            with poutine.substitute(substitute_fn=substitute_fn):
                if self.ignore_warnings:
                    with ignore_jit_warnings():
                        return self.fn(*params_and_args[n:], **kwargs)
                return self.fn(*params_and_args[n:], **kwargs)

        start = time.perf_counter()
        # Validation off while tracing (as in Pyro): the eager run above has checked these
        # values, and a check traced into the graph would be a constant.
        with ignore_torch_deprecation_warnings(), poutine.block(), validation_enabled(False), \
                pyro_tracer_warnings_ignored():
            self.compiled[key] = torch.jit.trace(
                flat_fn, tuple(unconstrained) + tuple(args), **self.jit_options
            )
        if self.time_compilation:
            self.compile_time = time.perf_counter() - start
        self._param_names[key] = names

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        key = self._key(args, kwargs)
        store = pyro.get_param_store()
        if key not in self.compiled or any(n not in store for n in self._param_names[key]):
            self._compile(key, args, kwargs)
        # pyro.param here lets enclosing handlers (e.g. SVI's param capture) see the
        # params, which the compiled graph itself does not call.
        names = self._param_names[key]
        if _PYRO_STACK:
            for name in names:
                pyro.param(name)
        return self.compiled[key](*(_leaf(store, name) for name in names), *args)


def _leaf(store: ParamStoreDict, name: str) -> torch.Tensor:
    leaf = store.get_unconstrained(name)
    if leaf is None:  # the function created it (the capture run has just seen it)
        raise KeyError(f"pyro.ops.jit.trace: parameter {name!r} is not in the ParamStore")
    return leaf


@overload
def trace(fn: Callable, ignore_warnings: bool = ...,
          jit_options: dict | None = ...) -> CompiledFunction: ...


@overload
def trace(fn: None = ..., ignore_warnings: bool = ...,
          jit_options: dict | None = ...) -> Callable[[Callable], CompiledFunction]: ...


def trace(
    fn: Callable | None = None,
    ignore_warnings: bool = False,
    jit_options: dict | None = None,
) -> CompiledFunction | Callable[[Callable], CompiledFunction]:
    """Lazy replacement for :func:`torch.jit.trace` that works with functions calling
    :func:`pyro.param`; usable as a decorator with or without arguments::

        def model(x):
            scale = pyro.param("scale", torch.tensor(0.5), constraint=constraints.positive)
            return pyro.sample("y", dist.Normal(x, scale))

        @pyro.ops.jit.trace
        def model_log_prob_fn(x, y):
            cond_model = pyro.condition(model, data={"y": y})
            tr = pyro.poutine.trace(cond_model).get_trace(x)
            return tr.log_prob_sum()

    Tracing records tensor operations only: Python control flow and the effects of
    handlers are fixed at the first call (as with :func:`torch.jit.trace`).

    :param fn: the function to trace.
    :param ignore_warnings: silence ``torch.jit.TracerWarning`` while tracing.
    :param jit_options: keyword arguments of :func:`torch.jit.trace`, and
        ``time_compilation`` (see :class:`CompiledFunction`).
    :returns: a :class:`CompiledFunction` (or a decorator making one when ``fn`` is
        ``None``).
    """
    if fn is None:
        def decorate(fn: Callable) -> CompiledFunction:
            return CompiledFunction(fn, ignore_warnings=ignore_warnings, jit_options=jit_options)
        return decorate
    return CompiledFunction(fn, ignore_warnings=ignore_warnings, jit_options=jit_options)
