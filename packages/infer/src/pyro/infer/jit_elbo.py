"""The JIT-compiled ELBOs: ``JitTrace_ELBO``, ``JitTraceGraph_ELBO``,
``JitTraceMeanField_ELBO`` and ``JitTraceEnum_ELBO``.

Each computes exactly what its eager ELBO computes, but records the computation of the
differentiable loss once with :func:`pyro.ops.jit.trace` (``torch.jit.trace``) and then
replays the compiled graph, which saves Python overhead on models with many small sites.
As with any trace, this works only for a limited set of models:

- the model and guide must have static structure (the same sites, shapes and control
  flow at every call);
- they must not depend on global data other than the param store;
- every tensor input must be passed positionally in ``*args``; non-tensor inputs must
  be passed in ``**kwargs`` and are fixed into the compiled graph, which is made once
  per distinct ``**kwargs`` (and per model and guide).

Random draws are recorded as random operations, so each call draws afresh.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

import pyro.ops.jit

from .elbo import ELBO
from .trace_elbo import Trace_ELBO
from .trace_mean_field_elbo import TraceMeanField_ELBO
from .traceenum_elbo import TraceEnum_ELBO
from .tracegraph_elbo import TraceGraph_ELBO

__all__ = [
    "JitTraceEnum_ELBO",
    "JitTraceGraph_ELBO",
    "JitTraceMeanField_ELBO",
    "JitTrace_ELBO",
]


class _JitELBO:
    """Mixin compiling its ELBO's ``differentiable_loss`` per (model, guide) pair.

    ``jit_options`` (the ELBO's argument) are passed to ``torch.jit.trace``; trace
    checking is off unless asked for (``{"check_trace": True}``), since the losses are
    random. ``ignore_jit_warnings=True`` silences the tracer's warnings.
    """

    def _compiled_loss(self, model: Callable, guide: Callable, args, kwargs) -> Callable:
        cache: Dict[Tuple[int, int], Any] = self.__dict__.setdefault("_jit_compiled", {})
        key = (id(model), id(guide))
        compiled = cache.get(key)
        if compiled is None:
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
            cache[key] = compiled
        return compiled

    def differentiable_loss(self, model: Callable, guide: Callable, *args, **kwargs):
        """The negative ELBO as a differentiable tensor, computed by the compiled graph
        (traced at the first call for this model, guide and ``**kwargs``)."""
        return self._compiled_loss(model, guide, args, kwargs)(*args, **kwargs)

    def _loss_and_grads_and_params(self, model, guide, args, kwargs) -> Tuple[float, List]:
        # the generic path (param capture, differentiable_loss, backward) runs the
        # compiled loss instead of the eager ELBO's own fast path
        return ELBO._loss_and_grads_and_params(self, model, guide, args, kwargs)


class JitTrace_ELBO(_JitELBO, Trace_ELBO):
    """:class:`~pyro.infer.Trace_ELBO` compiled with :func:`pyro.ops.jit.trace` (see
    :mod:`pyro.infer.jit_elbo` for the models it supports)."""


class JitTraceGraph_ELBO(_JitELBO, TraceGraph_ELBO):
    """:class:`~pyro.infer.TraceGraph_ELBO` compiled with :func:`pyro.ops.jit.trace` (see
    :mod:`pyro.infer.jit_elbo` for the models it supports)."""


class JitTraceMeanField_ELBO(_JitELBO, TraceMeanField_ELBO):
    """:class:`~pyro.infer.TraceMeanField_ELBO` compiled with :func:`pyro.ops.jit.trace`
    (see :mod:`pyro.infer.jit_elbo` for the models it supports)."""


class JitTraceEnum_ELBO(_JitELBO, TraceEnum_ELBO):
    """:class:`~pyro.infer.TraceEnum_ELBO` compiled with :func:`pyro.ops.jit.trace` (see
    :mod:`pyro.infer.jit_elbo` for the models it supports)."""
