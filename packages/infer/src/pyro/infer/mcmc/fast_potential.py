"""The potential energy and its gradient for a batch of chains, without the handler
stack on every leapfrog step.

A model's potential runs the model under a light handler (see
:mod:`~pyro.infer.mcmc.potential`): about a millisecond per value and gradient for
eight schools, most of it Python. :class:`PotentialEnergy` records one evaluation of the
value *and its gradient* as a flat graph of aten operations (``torch.func.grad_and_value``
under ``make_fx``: no handlers, no distribution objects, no autograd tape at run time)
and replays it with ``torch.jit.trace``; where that recording fails (data-dependent
operations) it records the forward pass alone with ``torch.jit.trace`` and differentiates
it with autograd. Either plan is used only after it reproduces the model's energy and
gradient at several points (and again a few times during sampling); otherwise, or with
``jit_compile=False``, the model is evaluated eagerly. Measured alternatives
(``torch.func`` on the eager model, ``torch.compile``) were slower here once compile time
is counted (see bench/README.md).
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

from pyro.ops.fused_graph import record_value_and_grad, reproduces
from pyro.ops.integrator import handled_exception
from pyro.ops.jit import pyro_tracer_warnings_ignored

from .potential import value_and_grad

__all__ = ["PotentialEnergy"]

#: evaluations after which the plan is compared with the eager model again
_RECHECK_AT = (25, 400, 5000)


def _autograd_plan(traced) -> Callable:
    """``z -> (U, dU/dz)`` of a traced forward pass, differentiated by autograd."""
    def plan(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return value_and_grad(traced, z)
    return plan


def _fused_plan(fn: Callable, z: torch.Tensor, jit_options: dict) -> Callable:
    """``z -> (U, dU/dz)`` replayed from one recorded graph of the forward and backward
    pass (:func:`pyro.ops.fused_graph.record_value_and_grad`: aten ops, the model's Python
    and the handler stack gone, constants folded, replayed by ``torch.jit.trace``).
    Chains are independent, so the gradient of the summed energy is each chain's
    gradient.

    :raises Exception: whatever recording raises (data-dependent operations such as
        ``.item()`` or ``nonzero`` on latent values).
    """
    x0 = z.detach()
    graph = record_value_and_grad(fn, (x0,), (x0,), jit_options=jit_options)
    if not graph.has_grad[0]:  # the energy does not depend on z

        def constant_in_z(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return graph(x)[0], torch.zeros_like(x)
        return constant_in_z

    def plan(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        value, grad = graph(x)
        return value, grad
    return plan


class PotentialEnergy:
    """``z (C, D) -> (U(z) (C,), dU/dz (C, D))`` for ``C`` chains.

    :param callable fn: the eager potential, ``(C, D) -> (C,)``, differentiable.
    :param jit_compile: ``None`` (default) uses the traced plan when it reproduces
        ``fn``; ``True`` always traces (Pyro's ``jit_compile``; warns and falls back to
        eager when tracing fails); ``False`` never traces.
    :param dict jit_options: keyword arguments of ``torch.jit.trace``.
    :param bool ignore_jit_warnings: silence ``torch.jit.TracerWarning``.

    Exceptions accepted by a handler of :func:`pyro.ops.integrator.register_exception_handler`
    give a NaN energy (the step is then divergent). Energies that are NaN are returned as
    NaN; callers treat them as infinite.
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor],
                 jit_compile: bool | None = None, jit_options: dict | None = None,
                 ignore_jit_warnings: bool = False) -> None:
        self.fn = fn
        self.jit_compile = jit_compile
        self.jit_options = {"check_trace": False} if jit_options is None else dict(jit_options)
        self.ignore_jit_warnings = ignore_jit_warnings
        self._plan = None
        self._tried = jit_compile is False
        self._calls = 0
        self.reason: str | None = None  # why the plan is not used, for diagnostics
        self.kind: str | None = None  # "fused" (value and gradient recorded), "forward"

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_plan"] = None
        state["_tried"] = self.jit_compile is False
        return state

    @property
    def compiled(self) -> bool:
        """Whether evaluations use the traced plan."""
        return self._plan is not None

    def eager(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Value and gradient by running the model (the reference of the plan)."""
        return value_and_grad(self.fn, z)

    def _build(self, z: torch.Tensor) -> None:
        self._tried = True
        reasons = []
        for make in (self._record_fused, self._record_forward):
            plan, reason = make(z)
            if plan is None:
                reasons.append(reason)
                continue
            # the plan must reproduce the model at the start and at points around it
            points = [z.detach()] + [z.detach() + s * torch.randn_like(z)
                                     for s in (0.1, 1.0, 2.0)]
            if all(self._agrees(plan, p) for p in points):
                self._plan = plan
                self.kind = "fused" if make == self._record_fused else "forward"
                return
            reasons.append("the traced plan differs from the model (Python control flow "
                           "on latent values?)")
        self._give_up(reasons[-1])

    @contextmanager
    def _quiet(self) -> Iterator[None]:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", category=FutureWarning)
            if self.ignore_jit_warnings or self.jit_compile is None:
                warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
                yield
                return
            with pyro_tracer_warnings_ignored():  # the model's own warnings still show
                yield

    def _record_fused(self, z: torch.Tensor):
        try:
            with self._quiet():
                fused = _fused_plan(self.fn, z, self.jit_options)
        except Exception as e:  # data-dependent ops, ops make_fx cannot record, ...
            return None, f"recording value and gradient failed: {type(e).__name__}: {e}"

        def value_and_grad(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return fused(x)
        return value_and_grad, None

    def _record_forward(self, z: torch.Tensor):
        fn = self.fn

        def energy(x: torch.Tensor) -> torch.Tensor:  # jit.trace takes functions only
            return fn(x)

        try:
            with self._quiet():
                traced = torch.jit.trace(energy, (z.detach(),), **self.jit_options)
        except Exception as e:  # data-dependent Python, unsupported ops, ...
            return None, f"torch.jit.trace failed: {type(e).__name__}: {e}"
        return _autograd_plan(traced), None

    def _agrees(self, plan, z: torch.Tensor) -> bool:
        try:
            ref = self.eager(z)
        except Exception:
            return True  # the eager model fails here: nothing to compare
        try:
            got = plan(z)
        except Exception:
            return False
        if not bool(torch.isfinite(ref[0]).all()):
            return got[0].shape == ref[0].shape
        return reproduces(got[0], ref[0], atol_scale=1e-5) and \
            reproduces(got[1], ref[1], atol_scale=1e-5)

    def _give_up(self, reason: str) -> None:
        self.reason = reason
        self._plan = None
        if self.jit_compile:
            warnings.warn(f"HMC/NUTS jit_compile=True: {reason}; evaluating the model "
                          f"eagerly", RuntimeWarning, stacklevel=4)

    def __call__(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self._tried:
            self._build(z)
        try:
            if self._plan is None:
                return value_and_grad(self.fn, z)
            self._calls += 1
            if self._calls in _RECHECK_AT and not self._agrees(self._plan, z):
                self._give_up("the traced plan stopped matching the model")
                return value_and_grad(self.fn, z)
            return self._plan(z)
        except Exception as e:
            if not handled_exception(e):
                raise
            nan = z.new_full(z.shape[:-1], float("nan"))
            return nan, torch.full_like(z, float("nan"))
