"""What the compiled ELBOs share: :class:`JitELBOMixin`.

``JitTrace_ELBO``, ``JitTraceGraph_ELBO``, ``JitTraceMeanField_ELBO`` and
``JitTraceEnum_ELBO`` live beside their eager twins (``pyro.infer.trace_elbo.JitTrace_ELBO``
etc., as in Pyro); each is the mixin on top of its ELBO. They compute exactly what the
eager ELBO computes (the same loss and gradients for the same random draws) but replay a
recording instead of running the model and guide, which saves the Python overhead of the
handler stack, the distribution objects, validation and autograd's tape.

**Two recordings.** A training step (``loss_and_grads``, hence :class:`~pyro.infer.SVI`)
replays the loss *and its gradients* as one flat graph of aten operations
(:func:`pyro.ops.fused_graph.record_value_and_grad`: ``make_fx`` of the eager loss and
``torch.autograd.grad``, constants folded, traced by ``torch.jit.trace``); its inputs
are the parameters' unconstrained tensors (Pyro parameters by ParamStore name, and any
other leaf tensor the loss is differentiated into, such as an ``nn.Module``'s) and the
positional tensor arguments. The graph is used only after it has reproduced the eager
loss and gradients at one set of draws. ``differentiable_loss`` and ``loss`` replay the
forward pass traced by :func:`pyro.ops.jit.trace` (Pyro's plan), which is also what a
training step falls back to, with autograd, when the fused recording is not possible
(e.g. a value read in Python, as ``.item()``).

The first call for each model, guide, ``**kwargs`` and argument shapes runs the eager
ELBO (so the program's own errors surface as without compiling, and the result is the
eager one), then records; the recording draws nothing from the caller's random stream,
so a seeded run gives the eager ELBO's losses step for step. As with any trace, this
works only for a limited set of models:

- the model and guide must have static structure (the same sites, shapes and control
  flow at every call);
- they must not depend on global data other than the param store;
- every tensor input must be passed positionally in ``*args``; non-tensor inputs must
  be passed in ``**kwargs`` and are fixed into the compiled graph, which is made once
  per distinct ``**kwargs`` (and per model and guide).

Random draws are recorded as random operations, so each call draws afresh (from torch's
global generator, in the order the eager ELBO draws).

**Why ``torch.jit.trace``, and not ``torch.compile``** (measured on W1, the
Beta-Bernoulli SVI of ``../shared/bench``, 1 thread, process CPU time; see bench/README.md).
``torch.compile`` of the eager loss breaks its graph at every handler: 81 s to compile,
then 6.7 ms a step against 2.4 ms eager. The fused graph of loss and gradients (77 aten
operations) traced by ``torch.jit.trace`` and replayed by TorchScript's Static Runtime
costs 49 us a call; compiled by inductor it costs the same 49 us after 2.6 s CPU (6.8 s
wall, C++ compiler included) of compilation, which no number of steps repays, and its
reassociated arithmetic no longer gives the eager loss to the bit. Both share the
recording (~1.5 s CPU at the first step, most of it ``make_fx``'s one-off import of
``torch._dynamo``); the traced graph gives the eager losses to the bit. A whole step of
W1 (replay, ``.grad``, torch's fused Adam called by :mod:`pyro.optim.step_plan`, SVI)
costs ~95 us on a quiet machine (167 us with the interpreter and ``Adam.step``).
"""
from __future__ import annotations

import operator
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import torch
from torch.utils._pytree import tree_flatten, tree_unflatten

import pyro
import pyro.ops.jit
from pyro.ops.fused_graph import (
    FusedGraph,
    RecordingError,
    record_value_and_grad,
    reproduces,
    unchanged_rng,
)
from pyro.params.param_store import ParamStoreDict
from pyro.poutine.runtime import _PYRO_STACK

from .elbo import ELBO
from .util import is_validation_enabled

__all__ = ["JitELBOMixin"]

_Result = tuple[float, dict[str, torch.Tensor]]


class _FusedPlan:
    """The recorded loss-and-gradients graph of one ELBO for one calling signature, and
    how to feed it: each input is a ParamStore name (its current unconstrained tensor)
    or a tensor held as is (a leaf outside the store, e.g. of an unregistered module)."""

    __slots__ = ("graph", "sources", "shapes", "grad_slots", "params", "store", "spec",
                 "last")

    def __init__(self, graph: FusedGraph, wrt: Sequence[torch.Tensor],
                 params: dict[str, torch.Tensor], store: ParamStoreDict, spec: Any) -> None:
        self.graph = graph
        self.store = store
        self.spec = spec
        self.sources: list[str | torch.Tensor] = []
        for t in graph.lifted:
            name = store.param_name(t)
            self.sources.append(t if name is None else name)
        slot = {id(t): i for i, t in enumerate(graph.lifted)}
        grad_of = [t for t, has in zip(wrt, graph.has_grad) if has]
        self.grad_slots = [slot[id(t)] for t in grad_of]
        # what the eager ELBO returns: the touched parameters, by name, in its order
        self.params = [(name, slot.get(id(leaf))) for name, leaf in params.items()]
        self.shapes = [(t.shape, t.dtype, t.device) for t in graph.lifted]
        self.last: list[torch.Tensor] = list(graph.lifted)

    def _inputs(self) -> list[torch.Tensor] | None:
        """The current values of the graph's leading inputs (None when a parameter is
        gone or no longer fits the recording)."""
        get = self.store.get_unconstrained
        inputs: list[torch.Tensor] = []
        for source, last in zip(self.sources, self.last):
            t = get(source) if isinstance(source, str) else source
            if t is not last:
                if t is None or (t.shape, t.dtype, t.device) != self.shapes[len(inputs)]:
                    return None
            inputs.append(t)
        self.last = inputs
        return inputs

    def _leaf(self, name: str) -> torch.Tensor:
        leaf = self.store.get_unconstrained(name)
        if leaf is None:
            raise KeyError(f"parameter {name!r} left the ParamStore during the step")
        return leaf

    def step(self, args: tuple) -> _Result | None:
        """Loss and gradients of one draw, accumulated into ``.grad`` as ``backward``
        would; None when the recording no longer fits the parameters."""
        inputs = self._inputs()
        if inputs is None:
            return None
        if self.spec is not None:
            args = tuple(tree_flatten(args)[0])
        out = self.graph(*inputs, *args)
        for slot, grad in zip(self.grad_slots, out[1:]):
            leaf = inputs[slot]
            if leaf.grad is None:
                leaf.grad = grad
            else:
                with torch.no_grad():
                    leaf.grad += grad
        params = {name: inputs[slot] if slot is not None else self._leaf(name)
                  for name, slot in self.params}
        if _PYRO_STACK:
            # enclosing handlers (e.g. a param-capturing trace) see the parameters
            for name in params:
                pyro.param(name)
        loss = out[0].item()
        if loss != loss and is_validation_enabled():
            warnings.warn("Encountered NaN: loss", stacklevel=4)
        return loss, params


class _Entry:
    """What a compiled ELBO keeps for one (model, guide) pair."""

    __slots__ = ("model", "guide", "forward", "plans", "last_args", "last_plan")

    def __init__(self, model: Callable, guide: Callable, forward: Any) -> None:
        self.model = model
        self.guide = guide
        self.forward = forward  # pyro.ops.jit.CompiledFunction of the loss
        self.plans: dict[tuple, _FusedPlan | str] = {}  # a plan, or why there is none
        self.last_args: tuple = ()
        self.last_plan: _FusedPlan | str | None = None

    def plan(self, args: tuple, kwargs: dict) -> tuple[tuple | None, _FusedPlan | str | None]:
        """The plan for these arguments (and its key; None when it is the last one)."""
        if not kwargs and len(args) == len(self.last_args) and \
                all(map(operator.is_, args, self.last_args)) and self.last_plan is not None:
            return None, self.last_plan
        key = _signature(self.forward, args, kwargs)
        plan = self.plans.get(key) if key is not None else None
        if plan is not None and not kwargs:
            self.last_args, self.last_plan = args, plan
        return key, plan


def _signature(forward: Any, args: tuple, kwargs: dict) -> tuple | None:
    """The recording's key: the traced function's key (number of arguments, values of the
    keyword arguments) and the shapes, dtypes and devices of the tensor arguments."""
    flat, spec = tree_flatten(args)
    if not all(isinstance(t, torch.Tensor) for t in flat):
        return None
    return forward._key(args, kwargs), spec, tuple((t.shape, t.dtype, t.device) for t in flat)


class JitELBOMixin:
    """Mixin (put it before the ELBO class) compiling the ELBO per (model, guide) pair:
    training steps replay the recorded loss-and-gradients graph, ``differentiable_loss``
    the traced forward pass (see the module docstring).

    The ELBO's ``jit_options`` are passed to ``torch.jit.trace``; trace checking is off
    unless asked for (``{"check_trace": True}``), since the losses are random.
    ``ignore_jit_warnings=True`` silences the tracer's warnings and the warning (a
    ``RuntimeWarning`` naming the cause) that a training step falls back to the traced
    forward pass and autograd.
    """

    jit_options: dict | None
    ignore_jit_warnings: bool

    def _entry(self, model: Callable, guide: Callable, args: tuple, kwargs: dict) -> _Entry:
        cache: dict[tuple[int, int], _Entry] = self.__dict__.setdefault("_jit_compiled", {})
        key = (id(model), id(guide))
        entry = cache.get(key)
        # (model, guide) are kept with the entry so that a recycled id is not mistaken
        if entry is None or entry.model is not model or entry.guide is not guide:
            # (an unknown max_plate_nesting is guessed by the eager ELBO at its first
            # call, which comes before any tracing; guessing here would draw numbers
            # the eager ELBO does not)
            eager = self._eager_differentiable_loss

            def loss(*args: Any, **kwargs: Any) -> torch.Tensor:
                return eager(model, guide, *args, **kwargs)

            forward = pyro.ops.jit.trace(
                loss, ignore_warnings=self.ignore_jit_warnings, jit_options=self._options()
            )
            entry = cache[key] = _Entry(model, guide, forward)
        return entry

    def _options(self) -> dict:
        return {"check_trace": False, **(self.jit_options or {})}

    @property
    def _eager_differentiable_loss(self) -> Callable[..., torch.Tensor]:
        # the ELBO this class compiles (the next class in the MRO)
        return super().differentiable_loss  # type: ignore[misc]

    def differentiable_loss(self, model: Callable, guide: Callable, *args: Any,
                            **kwargs: Any) -> torch.Tensor:
        """The negative ELBO as a differentiable tensor, computed by the traced forward
        graph (traced after the first call for this model, guide and ``**kwargs``, which
        runs the eager ELBO).

        :raises RuntimeError: naming the model, the guide and the cause when their run
            cannot be compiled (e.g. a non-tensor positional argument, or a loss that
            is not a tensor); errors of the eager run itself propagate unchanged.
        """
        compiled = self._entry(model, guide, args, kwargs).forward
        if compiled._key(args, kwargs) in compiled.compiled:
            return compiled(*args, **kwargs)
        # First call: the eager ELBO, so that the program's own errors surface as they
        # would without compiling; what fails after that is the compilation.
        value = self._eager_differentiable_loss(model, guide, *args, **kwargs)
        self._trace_forward(compiled, model, guide, args, kwargs)
        return value

    def _trace_forward(self, compiled: Any, model: Callable, guide: Callable, args: tuple,
                       kwargs: dict) -> None:
        with unchanged_rng(_tensors(args)):
            try:
                compiled(*args, **kwargs)
            except (RuntimeError, TypeError, ValueError) as e:
                raise _compile_error(self, model, guide, e) from e

    def _loss_and_grads_and_params(self, model: Callable, guide: Callable, args: tuple,
                                   kwargs: dict) -> _Result:
        entry = self._entry(model, guide, args, kwargs)
        key, plan = entry.plan(args, kwargs)
        if isinstance(plan, _FusedPlan):
            try:
                result = plan.step(args)
            except RuntimeError as e:  # e.g. a shape the recording fixed, now different
                reason = f"the recorded graph failed at a replay ({type(e).__name__}: {e}); " \
                         f"using the traced forward pass and autograd"
                self._give_up(entry, model, guide, args, kwargs, reason)
                return self._unfused_step(entry, model, guide, args, kwargs)
            if result is not None:
                return result
            entry.last_plan = None  # parameters replaced: record again
        elif plan is not None:
            # no fused recording (the reason is kept): the traced forward and autograd
            return self._unfused_step(entry, model, guide, args, kwargs)
        # First call for these arguments: the eager ELBO's own step, then the recordings
        result = super()._loss_and_grads_and_params(model, guide, args, kwargs)  # type: ignore[misc]
        self._prepare(entry, key, model, guide, args, kwargs, result[1])
        return result

    def _unfused_step(self, entry: _Entry, model: Callable, guide: Callable, args: tuple,
                      kwargs: dict) -> _Result:
        """The traced forward pass and autograd (the eager ELBO where the forward pass
        could not be traced)."""
        if entry.forward._key(args, kwargs) in entry.forward.compiled:
            return ELBO._loss_and_grads_and_params(self, model, guide, args, kwargs)  # type: ignore[arg-type]
        return super()._loss_and_grads_and_params(model, guide, args, kwargs)  # type: ignore[misc]

    def _give_up(self, entry: _Entry, model: Callable, guide: Callable, args: tuple,
                 kwargs: dict, reason: str) -> None:
        """Keep ``reason`` as these arguments' plan, and say it (unless
        ``ignore_jit_warnings``)."""
        key = _signature(entry.forward, args, kwargs)
        if key is not None:
            entry.plans[key] = reason
        entry.last_args, entry.last_plan = (), None
        if not self.ignore_jit_warnings:
            warnings.warn(f"{type(self).__name__} with model {_name(model)!r} and guide "
                          f"{_name(guide)!r}: {reason} (slower; ignore_jit_warnings=True "
                          f"silences this)", RuntimeWarning, stacklevel=5)

    def _prepare(self, entry: _Entry, key: tuple | None, model: Callable, guide: Callable,
                 args: tuple, kwargs: dict, params: dict[str, torch.Tensor]) -> None:
        """Trace the forward pass (Pyro's plan: its warnings, and its errors where the
        fused recording fails too) and record the loss and gradients as one graph."""
        compiled = entry.forward
        forward_error = None
        if compiled._key(args, kwargs) not in compiled.compiled:
            try:
                self._trace_forward(compiled, model, guide, args, kwargs)
            except RuntimeError as e:  # e.g. a tensor that requires grad, read as a constant
                forward_error = e
        key = _signature(compiled, args, kwargs) if key is None else key
        if key is None:  # non-tensor positional arguments: the forward trace has failed
            if forward_error is not None:
                raise forward_error
            return
        try:
            plan = self._record(model, guide, args, kwargs, params)
        except RecordingError as e:
            if forward_error is not None:
                raise forward_error from e
            self._give_up(entry, model, guide, args, kwargs,
                          f"the loss and gradients could not be recorded as one graph "
                          f"({e}); using the traced forward pass and autograd")
            return
        except (RuntimeError, TypeError, ValueError) as e:  # e.g. bad jit_options
            raise (forward_error or _compile_error(self, model, guide, e)) from e
        entry.plans[key] = plan

    def _record(self, model: Callable, guide: Callable, args: tuple, kwargs: dict,
                params: dict[str, torch.Tensor]) -> _FusedPlan:
        """Record the loss and its gradients, and check the recording against the eager
        ELBO at one set of draws.

        :raises RecordingError: when the loss cannot be recorded or the recording
            differs from the eager ELBO.
        """
        flat, spec = tree_flatten(args)
        eager = self._eager_differentiable_loss

        def loss(*flat_args: torch.Tensor) -> torch.Tensor:
            return eager(model, guide, *tree_unflatten(list(flat_args), spec), **kwargs)

        store = pyro.get_param_store()
        with unchanged_rng(flat + list(params.values())):
            torch.manual_seed(0)
            with torch.enable_grad():
                reference = loss(*flat)
            if not isinstance(reference, torch.Tensor):
                raise RecordingError(f"the loss is a {type(reference).__name__}")
            wrt = _differentiated_leaves(reference, params)
            expected = _gradients(reference, wrt)
            graph = record_value_and_grad(
                loss, flat, wrt, lift=lambda t: store.param_name(t) is not None,
                jit_options=self._options(),
            )
            plan = _FusedPlan(graph, wrt, params, store, None if _plain(args) else spec)
            torch.manual_seed(0)
            try:
                got = graph(*graph.lifted, *flat)
            except RuntimeError as e:
                raise RecordingError(f"the recorded graph fails: {e}") from e
        expected_grads = [g for g in expected if g is not None]
        if [g is not None for g in expected] != graph.has_grad or not all(
                map(partial(reproduces, atol_scale=1e-6), got, [reference] + expected_grads)):
            raise RecordingError("the recorded graph differs from the eager ELBO (Python "
                                 "control flow on sampled values?)")
        return plan

    def _plan_kind(self, model: Callable, guide: Callable, *args: Any, **kwargs: Any) -> str:
        """``"fused"``, the reason there is no fused recording, or ``"none"`` before the
        first training step (for diagnostics and tests)."""
        entry = self.__dict__.get("_jit_compiled", {}).get((id(model), id(guide)))
        key = None if entry is None else _signature(entry.forward, args, kwargs)
        plan = None if entry is None or key is None else entry.plans.get(key)
        if plan is None:
            return "none"
        return "fused" if isinstance(plan, _FusedPlan) else plan


def _plain(args: tuple) -> bool:
    """Whether the arguments are the graph's inputs as they are (no nesting to flatten)."""
    return all(isinstance(a, torch.Tensor) for a in args)


def _tensors(args: tuple) -> list[torch.Tensor]:
    return [t for t in tree_flatten(args)[0] if isinstance(t, torch.Tensor)]


def _differentiated_leaves(loss: torch.Tensor,
                           params: dict[str, torch.Tensor]) -> list[torch.Tensor]:
    """The leaf tensors ``loss.backward()`` would give a ``.grad``: the touched
    parameters first (in order), then any other leaf the loss depends on."""
    found: dict[int, torch.Tensor] = {}
    stack = [loss.grad_fn]
    seen: set = set()
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        leaf = getattr(fn, "variable", None)  # an AccumulateGrad node
        if isinstance(leaf, torch.Tensor):
            found[id(leaf)] = leaf
        stack.extend(next_fn for next_fn, _ in fn.next_functions)
    ordered = [p for p in params.values() if id(p) in found]
    known = {id(p) for p in ordered}
    return ordered + [t for i, t in found.items() if i not in known]


def _gradients(loss: torch.Tensor, wrt: list[torch.Tensor]) -> list[torch.Tensor | None]:
    if not wrt or not loss.requires_grad:
        return [None] * len(wrt)
    return list(torch.autograd.grad(loss, wrt, allow_unused=True))


def _compile_error(elbo: Any, model: Callable, guide: Callable, err: Exception) -> RuntimeError:
    eager = next(c.__name__ for c in type(elbo).__mro__[1:] if not issubclass(c, JitELBOMixin))
    names = f"model {_name(model)!r} and guide {_name(guide)!r}"
    return RuntimeError(
        f"{type(elbo).__name__} could not compile the ELBO of {names} with torch.jit.trace: "
        f"{type(err).__name__}: {err}\nA compiled ELBO needs a model and guide of fixed "
        f"structure whose positional arguments are tensors (pass other inputs as keyword "
        f"arguments, which are fixed into the graph). Use {eager} to run them eagerly."
    )


def _name(fn: Callable) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


_HOMES = {
    "JitTrace_ELBO": "trace_elbo",
    "JitTraceGraph_ELBO": "tracegraph_elbo",
    "JitTraceMeanField_ELBO": "trace_mean_field_elbo",
    "JitTraceEnum_ELBO": "traceenum_elbo",
}


def __getattr__(name: str) -> Any:
    # The compiled ELBOs live in their eager twins' modules (which import this one), so
    # they are found there lazily when asked for here.
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__package__}.{home}"), name)
