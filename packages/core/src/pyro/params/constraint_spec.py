"""Constraints as plain data, so that parameter files hold no code.

A constraint is written as ``{"class", "module", "args"}`` and rebuilt only from the
constraint classes of ``torch.distributions.constraints`` and
``pyro.distributions.constraints`` (when installed): nothing else can be created from a
file.
"""
from __future__ import annotations

import re
from typing import Any

import torch
from torch.distributions import constraints

from .errors import ParamStoreError
from .tensor_checks import check_loaded_tensor

__all__ = ["constraint_classes", "constraint_from_spec", "constraint_to_spec"]


def constraint_to_spec(name: str, c) -> dict[str, Any]:
    """A constraint as plain data: ``{"class", "module", "args"}``."""
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
        return constraint_to_spec(name, v)
    if isinstance(v, (list, tuple)):  # e.g. constraints.cat / stack
        return [_arg_to_spec(name, c, key, x) for x in v]
    raise ValueError(
        f"cannot save parameter {name!r}: its constraint {c} holds {key}={v!r} "
        f"({type(v).__name__}), which a parameter file cannot store"
    )


def constraint_classes() -> tuple[dict[str, type], list]:
    """``module.ClassName -> class`` of every known constraint class, and the module-level
    constraint objects (``constraints.positive``, ...)."""
    import importlib

    found: dict[str, type] = {}
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
    # pyro-ppl files name pyro's spelling of torch's classes too
    for key, cls in list(found.items()):
        if cls.__module__ == constraints.__name__:
            found.setdefault(f"pyro.distributions.constraints.{cls.__name__}", cls)
    return found, singletons


_ARG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def constraint_from_spec(name: str, spec: Any, where: str, classes=None):
    """Rebuild a constraint from :func:`constraint_to_spec` data read from a file.

    :raises ParamStoreError: naming ``where`` and the parameter if the spec is malformed
        or names a class that is not a known constraint class.
    """
    if classes is None:
        classes = constraint_classes()
    known, singletons = classes
    if not (isinstance(spec, dict) and isinstance(spec.get("module"), str)
            and isinstance(spec.get("class"), str) and isinstance(spec.get("args", {}), dict)):
        raise ParamStoreError(f"{where}: the constraint of parameter {name!r} is malformed "
                              f"(expected a dict with 'module', 'class' and 'args')")
    key = f"{spec['module']}.{spec['class']}"
    cls = known.get(key)
    if cls is None:
        raise ParamStoreError(
            f"{where}: parameter {name!r} has constraint {key}, which is not available "
            f"here; install the package that defines it before loading"
        )
    obj = cls.__new__(cls)
    constraints.Constraint.__init__(obj)
    for k, v in spec.get("args", {}).items():
        if not (isinstance(k, str) and _ARG_NAME.match(k) and not k.startswith("__")
                and not callable(getattr(cls, k, None))):
            raise ParamStoreError(f"{where}: the constraint of parameter {name!r} has an "
                                  f"invalid attribute name {k!r}")
        setattr(obj, k, _arg_from_spec(name, k, v, where, classes))
    # The module-level objects (constraints.real, constraints.positive, ...) themselves,
    # so that identity checks keep working after a load.
    for obj_known in singletons:
        if type(obj_known) is cls and _same_args(vars(obj_known), vars(obj)):
            return obj_known
    return obj


def _arg_from_spec(name: str, key: str, v, where: str, classes) -> Any:
    if isinstance(v, dict):
        return constraint_from_spec(name, v, where, classes)
    if isinstance(v, (list, tuple)):
        return [_arg_from_spec(name, key, x, where, classes) for x in v]
    if isinstance(v, torch.Tensor):
        return check_loaded_tensor(v, f"{where}, constraint of parameter {name!r}, {key}",
                                   ParamStoreError)
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise ParamStoreError(f"{where}: the constraint of parameter {name!r} holds {key} of "
                          f"type {type(v).__name__}, which is not plain data")


def _same_args(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, torch.Tensor) or isinstance(y, torch.Tensor):
            if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)
                    and x.shape == y.shape and bool((x == y).all())):
                return False
        elif type(x) is not type(y) or x != y:
            return False
    return True
