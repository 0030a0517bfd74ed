"""The :class:`ELBO` base class: particles, plate nesting, and trace generation."""
from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import torch

import pyro
from pyro import poutine
from pyro.logger import log

from .util import plate_nesting, torch_item

__all__ = ["ELBO"]

# the engine call behind Tensor.backward (private: absent in another torch, then unused)
_engine_run_backward: Callable[..., Any] | None = getattr(
    torch.autograd.graph, "_engine_run_backward", None)


def backward_loss(loss: torch.Tensor, retain_graph: bool | None = None) -> None:
    """``loss.backward(retain_graph=retain_graph)`` for a scalar loss, the same gradients.
    For a plain real scalar tensor (no subclass, no ``__torch_function__`` mode) it calls
    torch's engine directly with the ``ones_like(loss)`` seed that ``backward`` would make,
    skipping ``torch.autograd.backward``'s argument handling (a tenth of a tiny model's
    backward pass); anything else goes through ``loss.backward``."""
    if (_engine_run_backward is not None and type(loss) is torch.Tensor and loss.dim() == 0
            and loss.is_floating_point()
            and not torch.overrides.has_torch_function((loss,))):
        _engine_run_backward((loss,), (torch.ones_like(loss),), bool(retain_graph), False, (),
                             allow_unreachable=True, accumulate_grad=True)
    else:
        loss.backward(retain_graph=retain_graph)


class ELBO:
    """Base class of the evidence-lower-bound losses (``Trace_ELBO``, ``TraceGraph_ELBO``,
    ``TraceEnum_ELBO``, ``TraceMeanField_ELBO``).

    An ELBO estimates ``E_q[log p(x, z) - log q(z)]`` with ``num_particles`` draws from the
    guide ``q``; the losses are its negation. Subclasses implement :meth:`loss`,
    :meth:`differentiable_loss` and :meth:`loss_and_grads`.

    :param int num_particles: the number of guide draws averaged in each estimate.
    :param max_plate_nesting: an upper bound on the number of nested
        :func:`pyro.plate` contexts (``inf``: found by running the model and guide once).
        Needed by enumeration and vectorized particles, which use the dims left of it.
    :param bool vectorize_particles: draw the particles in one vectorized run, inside an
        outer plate ``"num_particles_vectorized"`` at dim ``-(max_plate_nesting + 1)``,
        instead of a Python loop. The model and guide must then broadcast correctly.
    :param bool strict_enumeration_warning: warn when a TraceEnum_ELBO finds nothing to
        enumerate.
    :param bool ignore_jit_warnings: the Jit* ELBOs silence the tracer's warnings.
    :param dict jit_options: the Jit* ELBOs pass them to ``torch.jit.trace``.
    :param bool retain_graph: passed to ``backward``.
    :param float tail_adaptive_beta: accepted for API compatibility.

    **References**

    [1] D. Wingate, T. Weber, "Automated Variational Inference in Probabilistic
        Programming", 2013.
    [2] R. Ranganath, S. Gerrish, D. Blei, "Black Box Variational Inference", AISTATS 2014.
    """

    def __init__(
        self,
        num_particles: int = 1,
        max_plate_nesting: float = float("inf"),
        max_iarange_nesting: Any = None,
        vectorize_particles: bool = False,
        strict_enumeration_warning: bool = True,
        ignore_jit_warnings: bool = False,
        jit_options: Any = None,
        retain_graph: Any = None,
        tail_adaptive_beta: float = -1.0,
    ) -> None:
        if max_iarange_nesting is not None:
            warnings.warn(
                "max_iarange_nesting is deprecated; use max_plate_nesting instead",
                FutureWarning,
            )
            max_plate_nesting = max_iarange_nesting
        if not isinstance(num_particles, int) or num_particles < 1:
            raise ValueError(f"num_particles must be a positive int, got {num_particles!r}")
        if max_plate_nesting != float("inf") and (
            int(max_plate_nesting) != max_plate_nesting or max_plate_nesting < 0
        ):
            raise ValueError(
                f"max_plate_nesting must be a non-negative int (or inf to guess it), got "
                f"{max_plate_nesting!r}"
            )
        self.num_particles = num_particles
        self.max_plate_nesting = (
            max_plate_nesting if max_plate_nesting == float("inf") else int(max_plate_nesting)
        )
        self.vectorize_particles = bool(vectorize_particles)
        self.strict_enumeration_warning = strict_enumeration_warning
        self.ignore_jit_warnings = ignore_jit_warnings
        self.jit_options = jit_options
        self.retain_graph = retain_graph
        self.tail_adaptive_beta = tail_adaptive_beta
        if self.vectorize_particles and self.num_particles > 1:
            if self.max_plate_nesting != float("inf"):
                # the particle plate is one more plate, outside all of the model's
                self.max_plate_nesting += 1

    # ----------------------------------------------------------- plate nesting

    @property
    def _particle_dim(self) -> int:
        return -int(self.max_plate_nesting)

    def _guess_max_plate_nesting(self, model: Callable, guide: Callable, args, kwargs) -> None:
        """Run the guide and the model once (hidden from every enclosing handler) and set
        ``max_plate_nesting`` to the deepest vectorized plate dim found (plus one for the
        particle plate when vectorizing particles)."""
        with poutine.block():
            guide_trace = poutine.trace(guide).get_trace(*args, **kwargs)
            model_trace = poutine.trace(poutine.replay(model, trace=guide_trace)).get_trace(
                *args, **kwargs
            )
        nesting = plate_nesting(model_trace, guide_trace)
        if self.vectorize_particles and self.num_particles > 1:
            nesting += 1
        log.info("Guessed max_plate_nesting = %d", nesting)  # as Pyro reports it
        self.max_plate_nesting = nesting

    def _finite_plate_nesting(self, *traces) -> int:
        """``max_plate_nesting`` when known, else the deepest plate dim in ``traces`` (for
        shape checks that need a finite bound)."""
        if self.max_plate_nesting != float("inf"):
            return int(self.max_plate_nesting)
        return plate_nesting(*traces)

    # ------------------------------------------------------------- particles

    def _vectorized_num_particles(self, fn: Callable) -> Callable:
        """Wrap ``fn`` in the plate ``"num_particles_vectorized"`` of size
        ``num_particles`` at dim ``-max_plate_nesting`` (which counts the particle plate)."""
        num_particles = self.num_particles

        def wrapped_fn(*args, **kwargs):
            if num_particles == 1:
                return fn(*args, **kwargs)
            with pyro.plate("num_particles_vectorized", num_particles, dim=self._particle_dim):
                return fn(*args, **kwargs)

        return wrapped_fn

    def _get_trace(self, model: Callable, guide: Callable, args, kwargs) -> tuple[Any, Any]:
        """One ``(model_trace, guide_trace)`` pair; subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} must define _get_trace")

    def _get_vectorized_trace(self, model: Callable, guide: Callable, args, kwargs):
        if self.max_plate_nesting == float("inf"):
            self._guess_max_plate_nesting(model, guide, args, kwargs)
        return self._get_trace(
            self._vectorized_num_particles(model),
            self._vectorized_num_particles(guide),
            args,
            kwargs,
        )

    def _get_traces(self, model: Callable, guide: Callable, args, kwargs) -> Iterator:
        """Yield ``(model_trace, guide_trace)`` for each particle (one pair when the
        particles are vectorized)."""
        if self.vectorize_particles:
            yield self._get_vectorized_trace(model, guide, args, kwargs)
        else:
            for _ in range(self.num_particles):
                yield self._get_trace(model, guide, args, kwargs)

    # --------------------------------------------------------------- API

    def loss(self, model: Callable, guide: Callable, *args, **kwargs) -> float:
        """An estimate of the negative ELBO (a float)."""
        with torch.no_grad():
            return torch_item(self.differentiable_loss(model, guide, *args, **kwargs))

    def differentiable_loss(self, model: Callable, guide: Callable, *args, **kwargs):
        """The negative ELBO estimate as a tensor that can be differentiated."""
        raise NotImplementedError(f"{type(self).__name__} must define differentiable_loss")

    def loss_and_grads(self, model: Callable, guide: Callable, *args, **kwargs) -> float:
        """Compute the loss, backpropagate its gradient estimate into the parameters and
        return the loss (a float)."""
        return self._loss_and_grads_and_params(model, guide, args, kwargs)[0]

    def loss_and_grads_and_params(
        self, model: Callable, guide: Callable, *args, **kwargs
    ) -> tuple[Any, dict[str, torch.Tensor]]:
        """:meth:`loss_and_grads` that also returns the parameters the model and guide
        touched, ``{ParamStore name: unconstrained leaf tensor}`` in order of first
        appearance: what :meth:`SVI.step <pyro.infer.svi.SVI.step>` hands its optimizer.

        :returns: ``(loss, params)``; ``loss`` as :meth:`loss_and_grads` returns it."""
        return self._loss_and_grads_and_params(model, guide, args, kwargs)

    def _loss_and_grads_and_params(self, model, guide, args, kwargs):
        # Default: differentiable_loss under a param-only trace, then backward.
        # Subclasses with a faster path (no second trace) override this.
        with poutine.trace(param_only=True) as capture:
            loss = self.differentiable_loss(model, guide, *args, **kwargs)
        params = collect_params(capture.trace)
        if isinstance(loss, torch.Tensor) and loss.requires_grad:
            backward_loss(loss, self.retain_graph)
        return torch_item(loss), params

    def __call__(self, model: Callable, guide: Callable) -> ELBOModule:
        """``ELBO(...)(model, guide)``: a ``torch.nn.Module`` whose ``forward(*args)``
        returns the differentiable loss (for PyTorch-style training loops). The guide's
        (and model's) parameters must exist (run it once) before ``parameters()``."""
        return ELBOModule(model, guide, self)


class ELBOModule(torch.nn.Module):
    """A model, a guide and an ELBO bundled as a ``torch.nn.Module`` (see
    :meth:`ELBO.__call__`)."""

    def __init__(self, model: Callable, guide: Callable, elbo: ELBO) -> None:
        super().__init__()
        self.model = model
        self.guide = guide
        self.elbo = elbo

    def forward(self, *args, **kwargs) -> torch.Tensor:
        return self.elbo.differentiable_loss(self.model, self.guide, *args, **kwargs)


def param_leaf(value: Any) -> Any:
    """The unconstrained leaf tensor behind a value returned by :func:`pyro.param`."""
    ref = getattr(value, "unconstrained", None)
    if ref is not None:
        leaf = ref() if callable(ref) else ref
        if leaf is not None:
            return leaf
    return value


def collect_params(*traces) -> dict[str, torch.Tensor]:
    """The parameters recorded as param sites in ``traces`` that require grad,
    ``{ParamStore name: unconstrained leaf tensor}``, each once, in order of first
    appearance."""
    params: dict[str, torch.Tensor] = {}
    for trace in traces:
        for name, site in trace.nodes.items():
            if site["type"] == "param" and name not in params:
                leaf = param_leaf(site["value"])
                if isinstance(leaf, torch.Tensor) and leaf.requires_grad:
                    params[name] = leaf
    return params
