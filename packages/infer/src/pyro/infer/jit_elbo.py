"""What the compiled ELBOs share: :class:`JitELBOMixin`.

``JitTrace_ELBO``, ``JitTraceGraph_ELBO``, ``JitTraceMeanField_ELBO`` and
``JitTraceEnum_ELBO`` live beside their eager twins (``pyro.infer.trace_elbo.JitTrace_ELBO``
etc., as in Pyro); each is the mixin on top of its ELBO. They compute exactly what the
eager ELBO computes, but record the computation of the differentiable loss once with
:func:`pyro.ops.jit.trace` (``torch.jit.trace``) and then replay the recorded graph, which
saves the Python overhead of the handler stack, the distribution objects and validation.
As with any trace, this works only for a limited set of models:

- the model and guide must have static structure (the same sites, shapes and control
  flow at every call);
- they must not depend on global data other than the param store;
- every tensor input must be passed positionally in ``*args``; non-tensor inputs must
  be passed in ``**kwargs`` and are fixed into the compiled graph, which is made once
  per distinct ``**kwargs`` (and per model and guide).

Random draws are recorded as random operations, so each call draws afresh (from torch's
global generator, in the order the eager ELBO draws).

Why ``torch.jit.trace`` and not ``torch.compile``: measured on W1 (the Beta-Bernoulli SVI
of ``../shared/bench``, 1 thread, loaded machine), ``torch.compile`` of the same loss
took 81 s to compile and then ran 6.7 ms a step (the handler stack breaks its graph at
every site), eager 2.4 ms, the traced graph 0.9 ms after 2 s of tracing.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Tuple

import pyro.ops.jit

from .elbo import ELBO

__all__ = ["JitELBOMixin"]


class JitELBOMixin:
    """Mixin (put it before the ELBO class) compiling the ELBO's ``differentiable_loss``
    per (model, guide) pair.

    The ELBO's ``jit_options`` are passed to ``torch.jit.trace``; trace checking is off
    unless asked for (``{"check_trace": True}``), since the losses are random.
    ``ignore_jit_warnings=True`` silences the tracer's warnings.
    """

    def _compiled_loss(self, model: Callable, guide: Callable, args, kwargs) -> Callable:
        cache: Dict[Tuple[int, int], Any] = self.__dict__.setdefault("_jit_compiled", {})
        key = (id(model), id(guide))
        entry = cache.get(key)
        if entry is None or entry[0] is not model or entry[1] is not guide:
            if self.max_plate_nesting == float("inf"):
                # fix the plate nesting before tracing, as the eager ELBO would guess it
                self._guess_max_plate_nesting(model, guide, args, kwargs)
            eager = super().differentiable_loss  # the ELBO this class compiles

            def loss(*args, **kwargs):
                return eager(model, guide, *args, **kwargs)

            options = {"check_trace": False, **(self.jit_options or {})}
            compiled = pyro.ops.jit.trace(
                loss, ignore_warnings=self.ignore_jit_warnings, jit_options=options
            )
            # (model, guide) kept with the graph so that a recycled id is not mistaken
            entry = cache[key] = (model, guide, compiled)
        return entry[2]

    def differentiable_loss(self, model: Callable, guide: Callable, *args, **kwargs):
        """The negative ELBO as a differentiable tensor, computed by the compiled graph
        (traced at the first call for this model, guide and ``**kwargs``).

        :raises RuntimeError: naming the model, the guide and the cause when their run
            cannot be compiled (e.g. a non-tensor positional argument, or a loss that
            is not a tensor); errors of the eager run itself propagate unchanged.
        """
        compiled = self._compiled_loss(model, guide, args, kwargs)
        if compiled._key(args, kwargs) in compiled.compiled:
            return compiled(*args, **kwargs)
        # First call: run the eager ELBO once so that the program's own errors surface
        # as they would without compiling; what fails after that is the compilation.
        super().differentiable_loss(model, guide, *args, **kwargs)
        try:
            return compiled(*args, **kwargs)
        except (RuntimeError, TypeError, ValueError) as e:
            raise _compile_error(self, model, guide, e) from e

    def _loss_and_grads_and_params(self, model, guide, args, kwargs):
        # the generic path (param capture, differentiable_loss, backward) runs the
        # compiled loss instead of the eager ELBO's own fast path
        return ELBO._loss_and_grads_and_params(self, model, guide, args, kwargs)


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


def __getattr__(name: str):
    # The compiled ELBOs live in their eager twins' modules (which import this one), so
    # they are found there lazily when asked for here.
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__package__}.{home}"), name)
