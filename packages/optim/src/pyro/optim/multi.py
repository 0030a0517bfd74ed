"""Optimizers that see the loss (``step(loss, params)``) and compositions of optimizers.

* :class:`MultiOptimizer`: the interface ``step(loss, params)`` where ``params`` maps
  parameter names to unconstrained tensors (e.g. the ``param`` sites of a trace).
* :class:`PyroMultiOptimizer` / :class:`TorchMultiOptimizer`: a PyroOptim behind that
  interface (gradients by ``torch.autograd.grad``).
* :class:`Newton`: batched Newton steps (:func:`pyro.ops.newton.newton_step`) on
  low-dimensional parameters, with optional per-parameter trust regions.
* :class:`MixedMultiOptimizer`: different optimizers for different parameter names (lists
  of names, glob patterns, regular expressions or predicates), one call. It is also
  callable like a PyroOptim, ``optim(params)``, so it can be given to ``SVI``.
"""
from __future__ import annotations

import fnmatch
import operator
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Union

import torch

from pyro.ops.newton import newton_step

from .optim import ArgsOrCallable, PyroOptim, _param_store_name
from .state_io import OptimStateError, check_optim_state, load_state, save_state

Selector = Union[str, "re.Pattern[str]", Iterable[str], Callable[[str], bool]]

_is = operator.is_


class MultiOptimizer(ABC):
    """Base class of optimizers driven by the loss: ``step(loss, params)`` updates the
    tensors of ``params`` (a dict name -> unconstrained leaf tensor) in place to decrease
    ``loss`` (a scalar tensor whose graph reaches them)."""

    @abstractmethod
    def step(self, loss: torch.Tensor, params: dict[str, torch.Tensor]) -> None:
        """Update ``params`` in place by one step on ``loss``."""


def _grads_into(loss: torch.Tensor, values: list[torch.Tensor]) -> None:
    """Set each tensor's ``.grad`` to d loss / d tensor (``None`` where it does not
    depend on it)."""
    grads = torch.autograd.grad(loss, values, allow_unused=True)
    for x, g in zip(values, grads):
        x.grad = g


class PyroMultiOptimizer(MultiOptimizer):
    """Use a :class:`~pyro.optim.optim.PyroOptim` through :class:`MultiOptimizer`'s
    ``step(loss, params)``: gradients are computed with ``torch.autograd.grad`` (any existing
    ``.grad`` of these tensors is replaced), the PyroOptim steps, and the gradients are
    cleared (set to ``None``).

    :raises TypeError: if ``optim`` is not a PyroOptim.
    """

    def __init__(self, optim: PyroOptim) -> None:
        if not isinstance(optim, PyroOptim):
            raise TypeError(f"PyroMultiOptimizer wraps a PyroOptim, got {type(optim).__name__}")
        self.optim = optim

    def step(self, loss: torch.Tensor, params: dict[str, torch.Tensor]) -> None:
        values = list(params.values())
        _grads_into(loss, values)
        try:
            self.optim(values)
        finally:
            for x in values:
                x.grad = None


class TorchMultiOptimizer(PyroMultiOptimizer):
    """``PyroMultiOptimizer(PyroOptim(optim_constructor, optim_args))``."""

    def __init__(
        self,
        optim_constructor: Callable[..., torch.optim.Optimizer],
        optim_args: ArgsOrCallable,
        clip_args: ArgsOrCallable | None = None,
    ) -> None:
        super().__init__(PyroOptim(optim_constructor, optim_args, clip_args))


class Newton(MultiOptimizer):
    """Newton's method on batched low-dimensional variables: each parameter of shape
    ``batch_shape + (D,)`` (small ``D``) takes one :func:`~pyro.ops.newton.newton_step`
    on ``loss``, within a trust region of radius ``trust_radii[name]`` when given.

    :meth:`get_step` returns differentiable updated values; :meth:`step` writes them
    into the parameters in place, detached. The loss must be a sum of independent terms
    over each parameter's batch dims (the Hessian is computed blockwise per batch element).

    :param dict trust_radii: parameter name -> trust region radius; names not listed take
        unregularized Newton steps (an infinite radius).
    :raises ValueError: for a nonpositive radius.
    """

    def __init__(self, trust_radii: dict[str, float] | None = None) -> None:
        self.trust_radii = dict(trust_radii or {})
        for name, radius in self.trust_radii.items():
            if not radius > 0:
                raise ValueError(f"Newton: the trust radius of {name!r} must be positive, "
                                 f"got {radius}")

    def step(self, loss: torch.Tensor, params: dict[str, torch.Tensor]) -> None:
        """Replace each parameter's data by its Newton update (detached)."""
        updated = self.get_step(loss, params)
        with torch.no_grad():
            for name, value in params.items():
                value.copy_(updated[name])

    def get_step(
        self, loss: torch.Tensor, params: dict[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """Newton updates of ``params`` as a dict name -> tensor, differentiable with
        respect to whatever ``loss`` depends on besides them.

        :raises ValueError: for a parameter without a rightmost (vector) dim.
        """
        updated = {}
        for name, value in params.items():
            if value.dim() == 0:
                raise ValueError(f"Newton: parameter {name!r} is a scalar; give it a "
                                 f"rightmost dim of size D (e.g. shape (1,))")
            updated[name], _ = newton_step(loss, value, self.trust_radii.get(name))
        return updated


def _compile_selector(selector: Selector) -> Callable[[str], bool]:
    if isinstance(selector, str):
        return lambda name: fnmatch.fnmatchcase(name, selector)
    if isinstance(selector, re.Pattern):
        return lambda name: selector.fullmatch(name) is not None
    if isinstance(selector, (list, tuple, set, frozenset)):
        names = frozenset(selector)
        if not all(isinstance(n, str) for n in names):
            raise TypeError(f"a list selector must hold parameter names (str), got {selector!r}")
        return names.__contains__
    if callable(selector):
        return selector
    raise TypeError(
        f"a part's selector must be a glob pattern (str), a compiled regular expression, a "
        f"collection of parameter names or a predicate name -> bool; got {selector!r}"
    )


class MixedMultiOptimizer(MultiOptimizer):
    """Different optimizers for different parameters, chosen by ParamStore name.

    ``parts`` is a sequence of ``(selector, optim)``; a parameter goes to the first part whose
    selector matches its name, else to ``default``. A selector is a glob pattern
    (``"encoder$$$*"``, matched with ``fnmatch.fnmatchcase``), a compiled regular expression
    (``fullmatch``), a collection of exact names, or a predicate ``name -> bool``. Each
    ``optim`` is a :class:`~pyro.optim.optim.PyroOptim` (or anything callable as
    ``optim(params)``, such as another MixedMultiOptimizer).

    Two ways to use it, one call each step:

    * ``optim(params)`` with the unconstrained tensors (names looked up in the ParamStore),
      exactly like a PyroOptim, so ``SVI(model, guide, optim, loss)`` accepts it;
    * ``optim.step(loss, {name: tensor})`` (:class:`MultiOptimizer`).

    ``get_state`` / ``set_state`` / ``save`` / ``load`` combine the parts' states (each
    part's state keyed by parameter name, routed back by the same selectors).

    :raises TypeError: for a malformed part.
    :raises KeyError: when a parameter matches no part and there is no ``default``.
    """

    def __init__(
        self,
        parts: Sequence[tuple[Selector, Any]],
        default: Any | None = None,
    ) -> None:
        self.parts: list[tuple[Callable[[str], bool], Any]] = []
        for part in parts:
            if not (isinstance(part, (tuple, list)) and len(part) == 2):
                raise TypeError(f"each part must be a pair (selector, optim), got {part!r}")
            selector, optim = part
            if not callable(optim):
                raise TypeError(f"the optimizer of part {selector!r} is not callable: {optim!r}")
            self.parts.append((_compile_selector(selector), optim))
        if default is not None and not callable(default):
            raise TypeError(f"default must be a PyroOptim or None, got {default!r}")
        self.default = default
        self._route_of_name: dict[str, Any] = {}
        self._route_of_tensor: dict[torch.Tensor, Any] = {}
        self._plan: list[tuple[Any, list[torch.Tensor]]] = []
        self._cached: tuple[torch.Tensor, ...] | None = None

    @property
    def optims(self) -> list[Any]:
        """The parts' optimizers, then ``default`` (when given)."""
        found = [optim for _, optim in self.parts]
        return found + ([self.default] if self.default is not None else [])

    def route(self, name: str) -> Any:
        """The optimizer that steps parameter ``name``.

        :raises KeyError: if no part matches and there is no ``default``.
        """
        optim = self._route_of_name.get(name)
        if optim is None:
            for matches, candidate in self.parts:
                if matches(name):
                    optim = candidate
                    break
            else:
                optim = self.default
            if optim is None:
                raise KeyError(
                    f"parameter {name!r} matches no part of the MixedMultiOptimizer and there "
                    f"is no default optimizer; add a part for it or pass default="
                )
            self._route_of_name[name] = optim
        return optim

    def __call__(self, params: Iterable[torch.Tensor], *args: Any, **kwargs: Any) -> None:
        """Step each parameter with its part's optimizer (PyroOptim calling convention)."""
        if type(params) is not list:
            params = list(params)
        cached = self._cached
        if cached is None or len(cached) != len(params) or not all(map(_is, params, cached)):
            self._refresh(params)
        for optim, plist in self._plan:
            optim(plist, *args, **kwargs)

    def _refresh(self, params: list[torch.Tensor]) -> None:
        by_optim: dict[int, tuple[Any, list[torch.Tensor]]] = {}
        for p in params:
            optim = self._route_of_tensor.get(p)
            if optim is None:
                name = _param_store_name(p)
                if name is None:
                    raise ValueError(
                        f"MixedMultiOptimizer routes parameters by ParamStore name, but a "
                        f"parameter of shape {tuple(p.shape)} is not in the ParamStore"
                    )
                optim = self.route(name)
                self._route_of_tensor[p] = optim
            by_optim.setdefault(id(optim), (optim, []))[1].append(p)
        self._plan = list(by_optim.values())
        self._cached = tuple(params)

    def step(self, loss: torch.Tensor, params: dict[str, torch.Tensor]) -> None:
        """Compute the gradients of ``loss`` once, step each part on its parameters, and
        clear the gradients (``None``)."""
        values = list(params.values())
        _grads_into(loss, values)
        try:
            by_optim: dict[int, tuple[Any, list[torch.Tensor]]] = {}
            for name, value in params.items():
                optim = self.route(name)
                by_optim.setdefault(id(optim), (optim, []))[1].append(value)
            for optim, plist in by_optim.values():
                optim(plist)
        finally:
            for x in values:
                x.grad = None

    def get_state(self) -> dict[str, dict]:
        """The parts' states merged: ``{name: optimizer state}``."""
        state: dict[str, dict] = {}
        for optim in self.optims:
            state.update(optim.get_state())
        return state

    def set_state(self, state_dict: dict[str, dict]) -> None:
        """Hand each parameter's state to the part its name routes to.

        :raises KeyError: for a name that matches no part (and no default).
        """
        check_optim_state(state_dict, "MixedMultiOptimizer.set_state()")
        by_optim: dict[int, tuple[Any, dict[str, dict]]] = {}
        for name, entry in state_dict.items():
            optim = self.route(name)
            by_optim.setdefault(id(optim), (optim, {}))[1][name] = entry
        for optim, sub in by_optim.values():
            optim.set_state(sub)

    def save(self, filename: str) -> None:
        """Save the merged state atomically (see :meth:`PyroOptim.save`)."""
        save_state(self.get_state(), filename)

    def load(self, filename: str, map_location: Any | None = None) -> None:
        """Load a state saved by :meth:`save` (or by a PyroOptim) and route it to the parts.

        :raises OptimStateError: if the file is corrupt or does not hold optimizer state.
        """
        state = load_state(filename, map_location)
        try:
            self.set_state(state)
        except KeyError as e:
            raise OptimStateError(f"optimizer state file {filename!r}: {e.args[0]}") from e
