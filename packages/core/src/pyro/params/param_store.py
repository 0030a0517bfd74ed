"""The global store of learnable parameters (seed 003).

Each parameter is stored UNCONSTRAINED: a leaf tensor with ``requires_grad=True`` in
the unconstrained space of its constraint (``transform_to(constraint)``); the user sees
the constrained value. Optimizers update the unconstrained tensors.
"""
from __future__ import annotations

import os
import re
import warnings
import weakref
from contextlib import contextmanager
from typing import Any, Callable, Dict, ItemsView, Iterator, KeysView, Optional, Tuple, Union

import torch
from torch.distributions import constraints, transform_to

from ..atomic_file import atomic_write
from ..util import is_validation_enabled

StateDict = Dict[str, Dict[str, Any]]

_MODULE_NAMESPACE_DIVIDER = "$$$"
_FORMAT = "pyro-param-store"


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


class UnconstrainedRef:
    """``value.unconstrained()``: the unconstrained leaf behind a constrained param value
    (a weak reference, as in Pyro). Unlike a bare ``weakref.ref`` it can be pickled, so
    modules and guides holding params can be saved with ``torch.save``; it unpickles as a
    dead reference (the leaf gets a fresh one when it is registered in the store again)."""

    __slots__ = ("_ref",)

    def __init__(self, tensor: Optional[torch.Tensor] = None) -> None:
        self._ref = None if tensor is None else weakref.ref(tensor)

    def __call__(self) -> Optional[torch.Tensor]:
        return None if self._ref is None else self._ref()

    def __reduce__(self):
        return (UnconstrainedRef, ())


class ParamStoreError(ValueError):
    """A parameter file or state that cannot be loaded."""


class ParamStoreDict:
    """Global store of parameters: name -> constrained value, held unconstrained.

    Use :func:`pyro.param` to create and read parameters inside models and guides, and
    :func:`pyro.get_param_store` for the store itself.
    """

    def __init__(self) -> None:
        self._params: Dict[str, torch.Tensor] = {}           # name -> unconstrained leaf
        self._param_to_name: Dict[torch.Tensor, str] = {}    # unconstrained leaf -> name
        self._constraints: Dict[str, constraints.Constraint] = {}
        self._transforms: Dict[str, Any] = {}                # cache of transform_to(constraint)

    # ---------------------------------------------------------------- dict API

    def clear(self) -> None:
        """Clear the ParamStore."""
        self._params.clear()
        self._param_to_name.clear()
        self._constraints.clear()
        self._transforms.clear()

    def items(self) -> Iterator[Tuple[str, torch.Tensor]]:
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
        transform = self._transforms.get(name)
        if transform is None:
            return unconstrained
        value = transform(unconstrained)
        value.unconstrained = UnconstrainedRef(unconstrained)
        return value

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
                unconstrained = constrained.detach().clone().requires_grad_(True)
        else:
            transform = _transform_for(name, constraint)
            with torch.no_grad():
                unconstrained = transform.inv(constrained.detach())
            unconstrained = unconstrained.contiguous().requires_grad_(True)
        self._put(name, unconstrained, constraint, transform)
        return unconstrained

    def _put(self, name: str, unconstrained: torch.Tensor, constraint, transform) -> None:
        old = self._params.get(name)
        if old is not None:
            self._param_to_name.pop(old, None)
        unconstrained.unconstrained = UnconstrainedRef(unconstrained)
        self._params[name] = unconstrained
        self._param_to_name[unconstrained] = name
        self._constraints[name] = constraint
        if transform is None:
            self._transforms.pop(name, None)
        else:
            self._transforms[name] = transform

    def setdefault(self, name: str,
                   init_constrained_value: Union[torch.Tensor, Callable[[], torch.Tensor]],
                   constraint: constraints.Constraint = constraints.real) -> torch.Tensor:
        """The constrained value of ``name``, first created from ``init_constrained_value``
        (a tensor, or a callable returning one, called only if ``name`` is new).

        Under validation an initial value outside ``constraint`` is warned about (Pyro
        stores it anyway).
        """
        if name not in self._params:
            if callable(init_constrained_value) and \
                    not isinstance(init_constrained_value, torch.Tensor):
                init_constrained_value = init_constrained_value()
            if not isinstance(init_constrained_value, torch.Tensor):
                init_constrained_value = torch.as_tensor(init_constrained_value,
                                                         dtype=torch.get_default_dtype())
            if is_validation_enabled() and constraint is not constraints.real:
                ok = constraint.check(init_constrained_value.detach())
                if not bool(ok.all()):
                    # Pyro accepts it (the unconstrained value may be NaN): warn, no error
                    warnings.warn(
                        f"pyro.param({name!r}): the initial value {_short(init_constrained_value)} "
                        f"is outside its constraint {constraint}; give an initial value that "
                        f"satisfies it", RuntimeWarning, stacklevel=3,
                    )
            self._store(name, init_constrained_value, constraint)
        return self[name]

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

    def get_param(self, name: str, init_tensor: Optional[torch.Tensor] = None,
                  constraint: constraints.Constraint = constraints.real,
                  event_dim: Optional[int] = None) -> torch.Tensor:
        """The constrained value of ``name``, created from ``init_tensor`` if new
        (what :func:`pyro.param` dispatches to).

        :raises KeyError: if ``name`` is new and ``init_tensor`` is None.
        """
        if init_tensor is None:
            return self[name]
        return self.setdefault(name, init_tensor, constraint)

    def match(self, name: str) -> Dict[str, torch.Tensor]:
        """Constrained values of the parameters whose names match the regex ``name``."""
        pattern = re.compile(name)
        return {key: self[key] for key in self._params if pattern.match(key)}

    def param_name(self, p: torch.Tensor) -> Optional[str]:
        """The name of the unconstrained tensor ``p`` (None if it is not in the store)."""
        return self._param_to_name.get(p)

    def get_constraint(self, name: str) -> constraints.Constraint:
        """The constraint of parameter ``name``."""
        return self._constraints[name]

    def get_unconstrained(self, name: str) -> Optional[torch.Tensor]:
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

        Leaf tensors are stored as they are (``requires_grad`` is switched on); other
        tensors are detached copies.

        :raises ParamStoreError: if ``state`` is not a dict with a ``"params"`` dict.
        """
        if not isinstance(state, dict) or not isinstance(state.get("params"), dict):
            raise ParamStoreError("set_state expected a dict with 'params' and 'constraints' "
                                  "(what get_state() returns)")
        cons = state.get("constraints") or {}
        for name, unconstrained in state["params"].items():
            if not isinstance(unconstrained, torch.Tensor):
                raise ParamStoreError(f"set_state: parameter {name!r} is a "
                                      f"{type(unconstrained).__name__}, not a tensor")
            constraint = cons.get(name, constraints.real)
            transform = None if type(constraint) is type(constraints.real) \
                else _transform_for(name, constraint)
            if unconstrained.is_leaf:
                leaf = unconstrained.requires_grad_(True)
            else:
                leaf = unconstrained.detach().clone().requires_grad_(True)
            self._put(name, leaf, constraint, transform)

    def save(self, filename: str) -> None:
        """Save the parameters to ``filename`` atomically: written to a temporary file in
        the same directory, flushed to disk, then renamed over ``filename``, so a crash
        leaves either the old file or the new one, never a torn one.

        Constraints are saved by name (those of ``torch.distributions.constraints``) and
        recreated on load without executing code from the file.
        """
        payload = {
            "format": _FORMAT,
            "version": 1,
            "params": {name: p.detach().cpu() for name, p in self._params.items()},
            "constraints": {name: _constraint_to_spec(name, c)
                            for name, c in self._constraints.items()},
        }
        atomic_torch_save(payload, filename)

    def load(self, filename: str, map_location=None) -> None:
        """Load parameters saved by :meth:`save` into the store (existing names are
        overwritten). Uses ``torch.load(weights_only=True)``: a file never executes code.

        :raises ParamStoreError: if the file is missing, corrupt or not a Pyro param file.
        """
        state = safe_torch_load(filename, map_location, what="ParamStore")
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise ParamStoreError(
                f"{filename!r} is not a Pyro ParamStore file (made by ParamStoreDict.save); "
                f"check the path"
            )
        params, specs = state.get("params"), state.get("constraints")
        if not isinstance(params, dict) or not isinstance(specs, dict) or not all(
                isinstance(p, torch.Tensor) for p in params.values()):
            raise ParamStoreError(f"{filename!r} is a damaged Pyro ParamStore file: its "
                                  f"'params' or 'constraints' entry is missing or malformed")
        try:
            cons = {name: _constraint_from_spec(name, spec, filename)
                    for name, spec in specs.items()}
        except (KeyError, TypeError, AttributeError) as e:
            raise ParamStoreError(f"{filename!r} is a damaged Pyro ParamStore file: a "
                                  f"constraint entry is malformed ({e!r})") from e
        self.set_state({"params": params, "constraints": cons})

    @contextmanager
    def scope(self, state: Optional[StateDict] = None) -> Iterator[StateDict]:
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


def _constraint_to_spec(name: str, c) -> Dict[str, Any]:
    # Constraints are stored as (class name, arguments): plain data that weights_only
    # loading accepts, rebuilt from torch's (and registered) constraint classes.
    args = {k: _arg_to_spec(name, c, k, v) for k, v in vars(c).items()}
    return {"class": type(c).__name__, "module": type(c).__module__, "args": args}


def _arg_to_spec(name: str, c, key: str, v) -> Any:
    if isinstance(v, torch.Tensor):
        return v.detach().cpu()
    if v is None or isinstance(v, (int, float, bool, str)):
        return v
    if isinstance(v, constraints.Constraint):
        return _constraint_to_spec(name, v)
    if isinstance(v, (list, tuple)):  # e.g. constraints.cat / stack
        return [_arg_to_spec(name, c, key, x) for x in v]
    raise ValueError(
        f"cannot save parameter {name!r}: its constraint {c} holds {key}={v!r} "
        f"({type(v).__name__}), which a parameter file cannot store"
    )


def _arg_from_spec(name: str, v, filename: str) -> Any:
    if isinstance(v, dict):
        return _constraint_from_spec(name, v, filename)
    if isinstance(v, list):
        return [_arg_from_spec(name, x, filename) for x in v]
    return v


def _constraint_classes() -> Tuple[Dict[str, type], list]:
    import importlib

    found: Dict[str, type] = {}
    singletons = []
    modules = [constraints]
    try:
        modules.append(importlib.import_module("pyro.distributions.constraints"))
    except ImportError:
        pass
    for mod in modules:
        for obj in vars(mod).values():
            if isinstance(obj, type) and issubclass(obj, constraints.Constraint):
                found[f"{obj.__module__}.{obj.__name__}"] = obj
            elif isinstance(obj, constraints.Constraint):
                found[f"{type(obj).__module__}.{type(obj).__name__}"] = type(obj)
                singletons.append(obj)
    return found, singletons


def _constraint_from_spec(name: str, spec: Dict[str, Any], filename: str):
    key = f"{spec['module']}.{spec['class']}"
    classes, singletons = _constraint_classes()
    cls = classes.get(key)
    if cls is None:
        raise ParamStoreError(
            f"{filename!r}: parameter {name!r} has constraint {key}, which is not available "
            f"here; install the package that defines it before loading"
        )
    obj = cls.__new__(cls)
    constraints.Constraint.__init__(obj)
    for k, v in spec["args"].items():
        setattr(obj, k, _arg_from_spec(name, v, filename))
    # The module-level objects (constraints.real, constraints.positive, ...) themselves,
    # so that identity checks keep working after a load.
    for known in singletons:
        if type(known) is cls and _same_args(vars(known), vars(obj)):
            return known
    return obj


def _same_args(a: Dict[str, Any], b: Dict[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, torch.Tensor) or isinstance(y, torch.Tensor):
            if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)
                    and x.shape == y.shape and bool((x == y).all())):
                return False
        elif x != y:
            return False
    return True


def atomic_torch_save(obj: Any, filename: Union[str, os.PathLike]) -> None:
    """``torch.save`` to ``filename`` atomically (see :func:`pyro.atomic_file.atomic_write`):
    a crash leaves either the old file or the new one, never a torn one."""
    with atomic_write(filename) as f:
        torch.save(obj, f)


def safe_torch_load(filename: Union[str, os.PathLike], map_location=None,
                    what: str = "Pyro", *, error: type[Exception] = ParamStoreError,
                    missing_error: Optional[type[Exception]] = None, remedy: str = "") -> Any:
    """``torch.load(filename, weights_only=True)`` with errors that name the file: only
    tensors and plain containers are read, no code from the file is ever executed.

    :param what: what the file holds, for messages (``"ParamStore"``, ``"optimizer state"``).
    :param error: the exception class raised for a missing, corrupt, truncated or unsafe
        file (default :class:`ParamStoreError`).
    :param missing_error: the exception class raised instead of ``error`` when the file does
        not exist (e.g. ``FileNotFoundError``).
    :param remedy: a sentence appended to the message about an unreadable file, saying
        what to do.
    :raises error: (or ``missing_error``) naming the file and the cause.
    """
    filename = os.fspath(filename)
    if not os.path.exists(filename):
        raise (missing_error or error)(
            f"cannot load {what} file {filename!r}: no such file (check the path)")
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except Exception as e:  # corrupt, truncated, or holding code (refused by weights_only)
        raise error(
            f"cannot load {what} file {filename!r}: it is corrupt, truncated or not a file "
            f"saved by Pyro ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}). "
            f"Files are loaded with weights_only=True and never execute code."
            + (f" {remedy}" if remedy else "")
        ) from e
