"""The global store of learnable parameters (Pyro's ``ParamStoreDict``).

Each parameter is stored UNCONSTRAINED: a leaf tensor with ``requires_grad=True`` in
the unconstrained space of its constraint (``transform_to(constraint)``); the user sees
the constrained value. Optimizers update the unconstrained tensors.
"""
from __future__ import annotations

import re
import warnings
import weakref
from collections.abc import Callable, ItemsView, Iterator, KeysView
from contextlib import contextmanager
from typing import Any

import torch
from torch.distributions import constraints, transform_to
from torch.distributions.transforms import Transform

from ..util import is_validation_enabled
from .constraint_spec import constraint_to_spec
from .errors import ParamStoreError
from .param_file import FORMAT, read_param_file

# the safe file helpers, also importable from here (their home is pyro.params.safe_io)
from .safe_io import atomic_torch_save, safe_torch_load  # noqa: F401

StateDict = dict[str, dict[str, Any]]

_MODULE_NAMESPACE_DIVIDER = "$$$"


def param_with_module_name(pyro_name: str, param_name: str) -> str:
    """The store name of parameter ``param_name`` of the module registered as ``pyro_name``."""
    return _MODULE_NAMESPACE_DIVIDER.join([pyro_name, param_name])


def module_from_param_with_module_name(param_name: str) -> str:
    """The module part of a store name made by :func:`param_with_module_name`."""
    return param_name.split(_MODULE_NAMESPACE_DIVIDER)[0]


def user_param_name(param_name: str) -> str:
    """The parameter part of a store name (the name itself when it has no module part)."""
    if _MODULE_NAMESPACE_DIVIDER in param_name:
        return param_name.split(_MODULE_NAMESPACE_DIVIDER)[1]
    return param_name


def normalize_param_name(name: str) -> str:
    """The torch-style dotted spelling of a store name (``"net$$$weight"`` -> ``"net.weight"``)."""
    return name.replace(_MODULE_NAMESPACE_DIVIDER, ".")


class WeakTensorRef:
    """A weak reference to a tensor that can be pickled: it unpickles (and deep-copies) as
    a dead reference, where a bare ``weakref.ref`` would make its holder unpicklable.

    Held as ``value.unconstrained`` by a param's constrained value (Pyro's
    ``value.unconstrained()``: the leaf behind it; the leaf gets a fresh reference when it
    is registered in the store again), and by a distribution for its last draw
    (:func:`pyro.poutine.runtime.is_own_draw`)."""

    __slots__ = ("_ref",)

    def __init__(self, tensor: torch.Tensor | None = None) -> None:
        self._ref = None if tensor is None else weakref.ref(tensor)

    def __call__(self) -> torch.Tensor | None:
        return None if self._ref is None else self._ref()

    def __reduce__(self):
        return (WeakTensorRef, ())


# the name files pickled by earlier versions refer to
UnconstrainedRef = WeakTensorRef


def link_unconstrained(value: torch.Tensor, leaf: torch.Tensor) -> torch.Tensor:
    """Give ``value`` (a param's constrained value, or the leaf itself) Pyro's
    ``value.unconstrained()`` accessor to ``leaf``; returns ``value``."""
    # an attribute of Pyro's API that torch's Tensor stubs do not declare
    setattr(value, "unconstrained", WeakTensorRef(leaf))
    return value


class ParamStoreDict:
    """Global store of parameters: name -> constrained value, held unconstrained.

    Use :func:`pyro.param` to create and read parameters inside models and guides, and
    :func:`pyro.get_param_store` for the store itself.
    """

    def __init__(self) -> None:
        self._params: dict[str, torch.Tensor] = {}           # name -> unconstrained leaf
        self._param_to_name: dict[torch.Tensor, str] = {}    # unconstrained leaf -> name
        self._constraints: dict[str, constraints.Constraint] = {}
        self._transforms: dict[str, Transform] = {}          # cache of transform_to(constraint)

    # ---------------------------------------------------------------- dict API

    def clear(self) -> None:
        """Clear the ParamStore."""
        self._params.clear()
        self._param_to_name.clear()
        self._constraints.clear()
        self._transforms.clear()

    def items(self) -> Iterator[tuple[str, torch.Tensor]]:
        """Iterate over ``(name, constrained value)`` pairs."""
        for name in list(self._params):
            yield name, self[name]

    def keys(self) -> KeysView[str]:
        """The parameter names."""
        return self._params.keys()

    def values(self) -> Iterator[torch.Tensor]:
        """Iterate over constrained values."""
        for name in list(self._params):
            yield self[name]

    def __bool__(self) -> bool:
        return bool(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __contains__(self, name: object) -> bool:
        return name in self._params

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __delitem__(self, name: str) -> None:
        unconstrained = self._params.pop(name)
        self._param_to_name.pop(unconstrained, None)
        self._constraints.pop(name, None)
        self._transforms.pop(name, None)

    def __getitem__(self, name: str) -> torch.Tensor:
        """The constrained value of ``name``."""
        try:
            unconstrained = self._params[name]
        except KeyError:
            raise KeyError(f"parameter {name!r} is not in the ParamStore; create it with "
                           f"pyro.param({name!r}, init_tensor)") from None
        return self._constrained(name, unconstrained)

    def _constrained(self, name: str, unconstrained: torch.Tensor) -> torch.Tensor:
        # the constrained value of the leaf ``unconstrained`` stored as ``name``
        transform = self._transforms.get(name)
        if transform is None:
            return unconstrained
        value = transform(unconstrained)
        # the leaf's own reference to itself (set by _put), shared rather than made anew
        ref = getattr(unconstrained, "unconstrained", None)
        if type(ref) is WeakTensorRef and ref() is unconstrained and value is not unconstrained:
            setattr(value, "unconstrained", ref)  # (as link_unconstrained: Pyro's accessor)
            return value
        return link_unconstrained(value, unconstrained)

    def __setitem__(self, name: str, new_constrained_value: torch.Tensor) -> None:
        """Set the constrained value of ``name`` (its constraint is kept, ``real`` if new)."""
        constraint = self._constraints.setdefault(name, constraints.real)
        self._store(name, new_constrained_value, constraint)

    def _store(self, name: str, constrained: torch.Tensor, constraint) -> torch.Tensor:
        if not isinstance(constrained, torch.Tensor):
            constrained = torch.as_tensor(constrained, dtype=torch.get_default_dtype())
        if constraint is constraints.real or type(constraint) is type(constraints.real):
            transform = None
            if isinstance(constrained, torch.nn.Parameter) or (
                    constrained.is_leaf and constrained.requires_grad):
                # Keep nn.Module parameters themselves, so training updates the module.
                unconstrained = constrained
            else:
                unconstrained = constrained.detach().clone().requires_grad_()
        else:
            transform = _transform_for(name, constraint)
            with torch.no_grad():
                unconstrained = transform.inv(constrained.detach())
            unconstrained = unconstrained.contiguous().requires_grad_()
        self._put(name, unconstrained, constraint, transform)
        return unconstrained

    def _put(self, name: str, unconstrained: torch.Tensor, constraint, transform) -> None:
        old = self._params.get(name)
        if old is not None:
            self._param_to_name.pop(old, None)
        link_unconstrained(unconstrained, unconstrained)
        self._params[name] = unconstrained
        self._param_to_name[unconstrained] = name
        self._constraints[name] = constraint
        if transform is None:
            self._transforms.pop(name, None)
        else:
            self._transforms[name] = transform

    def setdefault(self, name: str,
                   init_constrained_value: torch.Tensor | Callable[[], torch.Tensor],
                   constraint: constraints.Constraint = constraints.real) -> torch.Tensor:
        """The constrained value of ``name``, first created from ``init_constrained_value``
        (a tensor, or a callable returning one, called only if ``name`` is new).

        Pyro stores an initial value outside ``constraint`` through the constraint's
        transform. Under validation such a value is warned about (it may come out as NaN, or
        clamped), except a nonnegative vector with a positive sum for a ``simplex``, which
        the transform stores normalized, as Pyro does without a word.
        """
        if name not in self._params:
            if callable(init_constrained_value) and \
                    not isinstance(init_constrained_value, torch.Tensor):
                init_constrained_value = init_constrained_value()
            if not isinstance(init_constrained_value, torch.Tensor):
                init_constrained_value = torch.as_tensor(init_constrained_value,
                                                         dtype=torch.get_default_dtype())
            self._store(name, init_constrained_value, constraint)
            if is_validation_enabled() and constraint is not constraints.real:
                self._warn_if_unrepresentable(name, init_constrained_value, constraint)
        return self[name]

    def _warn_if_unrepresentable(self, name: str, init: torch.Tensor,
                                 constraint: constraints.Constraint) -> None:
        init = init.detach()
        if bool(constraint.check(init).all()):
            return  # (the common case: one check of the value given)
        if isinstance(constraint, type(constraints.simplex)) and bool((init >= 0).all()) \
                and bool((init.sum(-1) > 0).all()):
            return  # the stick-breaking transform stores it normalized, as Pyro does
        # Pyro accepts it (the unconstrained value may be NaN): warn, no error
        warnings.warn(
            f"pyro.param({name!r}): the initial value {_short(init)} is outside its "
            f"constraint {constraint}; give an initial value that satisfies it",
            RuntimeWarning, stacklevel=5,  # (the pyro.param call)
        )

    # ----------------------------------------------------------- param access

    def named_parameters(self) -> ItemsView[str, torch.Tensor]:
        """``(name, unconstrained value)`` pairs: the tensors optimizers update."""
        return self._params.items()

    def get_all_param_names(self) -> KeysView[str]:
        return self._params.keys()

    def replace_param(self, param_name: str, new_param: torch.Tensor,
                      old_param: torch.Tensor) -> None:
        """Replace the parameter ``old_param`` (its current constrained value) by ``new_param``."""
        current = self[param_name]
        if current is not old_param and not torch.equal(current, old_param):
            raise ValueError(f"replace_param({param_name!r}): old_param is not the current value")
        self[param_name] = new_param

    def get_param(self, name: str, init_tensor: torch.Tensor | None = None,
                  constraint: constraints.Constraint = constraints.real,
                  event_dim: int | None = None) -> torch.Tensor:
        """The constrained value of ``name``, created from ``init_tensor`` if new
        (what :func:`pyro.param` dispatches to).

        :raises KeyError: if ``name`` is new and ``init_tensor`` is None.
        """
        # every pyro.param and each parameter of pyro.module comes here: an existing
        # name is read with two dict lookups, a new one goes through setdefault
        unconstrained = self._params.get(name)
        if unconstrained is None:
            if init_tensor is None:
                return self[name]  # its KeyError
            return self.setdefault(name, init_tensor, constraint)
        return self._constrained(name, unconstrained)

    def match(self, name: str) -> dict[str, torch.Tensor]:
        """Constrained values of the parameters whose names match the regex ``name``."""
        pattern = re.compile(name)
        return {key: self[key] for key in self._params if pattern.match(key)}

    def param_name(self, p: torch.Tensor) -> str | None:
        """The name of the unconstrained tensor ``p`` (None if it is not in the store)."""
        return self._param_to_name.get(p)

    def get_constraint(self, name: str) -> constraints.Constraint:
        """The constraint of parameter ``name``."""
        return self._constraints[name]

    def get_unconstrained(self, name: str) -> torch.Tensor | None:
        """The unconstrained leaf tensor of ``name`` (None if there is no such parameter)."""
        return self._params.get(name)

    def set_unconstrained(self, name: str, unconstrained: torch.Tensor,
                          constraint: constraints.Constraint = constraints.real) -> None:
        """Install the tensor object ``unconstrained`` itself (no copy) as the unconstrained
        value of ``name`` under ``constraint``, e.g. an ``nn.Parameter`` a module owns, so
        that the module and the store share it."""
        if not isinstance(unconstrained, torch.Tensor) or not unconstrained.is_leaf:
            raise TypeError(f"set_unconstrained({name!r}, ...) needs a leaf tensor")
        transform = None if type(constraint) is type(constraints.real) else transform_to(constraint)
        self._put(name, unconstrained, constraint, transform)

    # ------------------------------------------------------------- state

    def get_state(self) -> StateDict:
        """The store's state: ``{"params": name -> unconstrained tensor, "constraints":
        name -> constraint}`` (new dicts holding the store's own tensors, as in Pyro:
        :meth:`set_state` puts back the very same tensors, so optimizers and
        ``nn.Module`` s that hold them stay attached)."""
        return {"params": dict(self._params), "constraints": dict(self._constraints)}

    def set_state(self, state: StateDict) -> None:
        """Restore a state from :meth:`get_state` (or :meth:`load`), keeping constraints.
        All or nothing: every entry is checked before any parameter changes.

        Leaf tensors are stored as they are (``requires_grad`` is switched on); other
        tensors are detached copies.

        :raises ParamStoreError: if ``state`` is not a dict with a ``"params"`` dict of
            tensors, or a constraint has no transform.
        """
        if not isinstance(state, dict) or not isinstance(state.get("params"), dict):
            raise ParamStoreError("set_state expected a dict with 'params' and 'constraints' "
                                  "(what get_state() returns)")
        cons = state.get("constraints") or {}
        staged = []
        for name, unconstrained in state["params"].items():
            if not isinstance(unconstrained, torch.Tensor):
                raise ParamStoreError(f"set_state: parameter {name!r} is a "
                                      f"{type(unconstrained).__name__}, not a tensor")
            constraint = cons.get(name, constraints.real)
            try:
                transform = None if type(constraint) is type(constraints.real) \
                    else _transform_for(name, constraint)
            except ValueError as e:
                raise ParamStoreError(f"set_state: {e}") from None
            staged.append((name, unconstrained, constraint, transform))
        for name, unconstrained, constraint, transform in staged:
            if unconstrained.is_leaf:
                leaf = unconstrained.requires_grad_()
            else:
                leaf = unconstrained.detach().clone().requires_grad_()
            self._put(name, leaf, constraint, transform)

    def save(self, filename: str) -> None:
        """Save the parameters to ``filename`` atomically: written to a temporary file in
        the same directory, flushed to disk, then renamed over ``filename``, so a crash
        leaves either the old file or the new one, never a torn one.

        Constraints are saved by name (those of ``torch.distributions.constraints``) and
        recreated on load without executing code from the file.
        """
        atomic_torch_save(self.file_payload(), filename)

    def file_payload(self) -> dict[str, Any]:
        """What :meth:`save` writes: plain data only (tensors on the CPU, constraints by
        class name and arguments), readable with ``torch.load(weights_only=True)``."""
        return {
            "format": FORMAT,
            "version": 1,
            "params": {name: p.detach().cpu() for name, p in self._params.items()},
            "constraints": {name: constraint_to_spec(name, c)
                            for name, c in self._constraints.items()},
        }

    def load(self, filename: str, map_location=None) -> None:
        """Load parameters saved by :meth:`save` (or by pyro-ppl 1.9's ``save``) into the
        store; existing names are overwritten. Uses ``torch.load(weights_only=True)``: a
        file never executes code (pyro-ppl's pickled constraint objects are read as plain
        data and rebuilt from the known constraint classes).

        All or nothing: every tensor is checked first (a dense floating point tensor
        whose memory does not repeat or overlap; the shape of the live parameter it
        replaces, if there is one; a value its constraint's transform accepts), and the
        store is changed only if every entry passes.

        :raises ParamStoreError: if the file is missing, corrupt, not a Pyro param file, or
            an entry cannot be used (naming the file and the entry).
        """
        params, cons = read_param_file(filename, map_location, live=self._params)
        self.set_state({"params": params, "constraints": cons})

    @contextmanager
    def scope(self, state: StateDict | None = None) -> Iterator[StateDict]:
        """Run the block with a separate set of parameters (``state``, or an empty store),
        yielding that scope's state, which on exit holds the parameters the block left;
        the outer parameters (the same tensors) are restored on exit.

        Example::

            with store.scope() as scope1:
                ...  # train one model
            with store.scope(scope1):
                ...  # evaluate it again
        """
        if state is None:
            state = {"params": {}, "constraints": {}}
        outer = self.get_state()
        try:
            self.clear()
            self.set_state(state)
            yield state
            # What the block created or changed stays in this scope's state.
            state.update(self.get_state())
        finally:
            self.clear()
            self.set_state(outer)


def _transform_for(name: str, constraint):
    try:
        return transform_to(constraint)
    except NotImplementedError:
        raise ValueError(
            f"pyro.param({name!r}): no transform maps the real numbers onto its constraint "
            f"{constraint}, so it cannot be a learnable parameter; use a constraint with a "
            f"transform (e.g. positive, interval, simplex) or store the value as a tensor"
        ) from None


def _short(t: torch.Tensor) -> str:
    return str(t.detach().flatten()[:6].tolist()) + ("..." if t.numel() > 6 else "")
