"""Reading and writing parameter files without ever running code from them.

* :func:`atomic_torch_save` / :func:`safe_torch_load`: ``torch.save`` through the atomic
  writer, ``torch.load(weights_only=True)`` with one-line errors naming the file.
* Constraints are written as plain data (class name and arguments) and rebuilt from the
  constraint classes of ``torch.distributions.constraints`` and ``pyro.distributions
  .constraints``: nothing else can be created.
* :func:`read_param_file` reads a ParamStore file, written by this project or by pyro-ppl
  1.9 (whose files pickle torch constraint objects: they are read through stand-ins that
  only record the pickled attributes, then rebuilt from the known classes), and checks
  every tensor (:mod:`pyro.params.tensor_checks`) before anything is stored.
"""
from __future__ import annotations

import os
import re
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import torch
from torch.distributions import constraints, transform_to

from ..atomic_file import atomic_write
from .tensor_checks import check_loaded_tensor, clean_message

FORMAT = "pyro-param-store"

#: what to do with a ParamStore file written by pyro-ppl that cannot be read here
MIGRATION_HINT = (
    "To migrate, save the constrained values in pyro-ppl with "
    "torch.save({k: v.detach() for k, v in pyro.get_param_store().items()}, 'values.pt') "
    "and recreate each here with pyro.param(name, value, constraint=...)."
)


class ParamStoreError(ValueError):
    """A parameter file or state that cannot be loaded."""


# ------------------------------------------------------------------ safe torch files


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
    The tensors are returned as the file describes them: check them with
    :func:`~pyro.params.tensor_checks.check_loaded_tensor` before use.

    :param what: what the file holds, for messages (``"ParamStore"``, ``"optimizer state"``).
    :param error: the exception class raised for a missing, corrupt, truncated or unsafe
        file (default :class:`ParamStoreError`).
    :param missing_error: the exception class raised instead of ``error`` when the file does
        not exist (e.g. ``FileNotFoundError``).
    :param remedy: a sentence appended to the message about an unreadable file, saying
        what to do.
    :raises error: (or ``missing_error``) naming the file and the cause, on one line.
    """
    filename = os.fspath(filename)
    if not os.path.exists(filename):
        raise (missing_error or error)(
            f"cannot load {what} file {filename!r}: no such file (check the path)")
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except Exception as e:  # corrupt, truncated, or holding code (refused by weights_only)
        raise error(
            f"cannot load {what} file {filename!r}: {describe_load_failure(e)}. Files are "
            f"loaded with weights_only=True and never execute code."
            + (f" {remedy}" if remedy else "")
        ) from e


def describe_load_failure(e: BaseException) -> str:
    """Why ``torch.load(weights_only=True)`` failed, in one clause without terminal codes."""
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", str(e))
    m = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if m:
        return (f"it holds an object of type {m.group(1)}, which is not plain data "
                f"(tensors, numbers, strings, lists, dicts)")
    m = re.search(r"WeightsUnpickler error: ([^\n]+)", text)
    if m:
        return f"it is not plain data ({m.group(1).strip().rstrip('.')})"
    return f"it is corrupt, truncated or not a torch file ({clean_message(e)})"


# ---------------------------------------------------------------- constraint specs


def constraint_to_spec(name: str, c) -> Dict[str, Any]:
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


def constraint_classes() -> Tuple[Dict[str, type], list]:
    """``module.ClassName -> class`` of every known constraint class, and the module-level
    constraint objects (``constraints.positive``, ...)."""
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


def _same_args(a: Dict[str, Any], b: Dict[str, Any]) -> bool:
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


# ------------------------------------------------------------ pyro-ppl 1.9 files


class _PickledConstraint:
    """Stand-in for a constraint object pickled by pyro-ppl: records the pickled attributes
    and nothing else (subclasses carry the pickled class path in ``path``)."""

    path = ""

    def __setstate__(self, state: Any) -> None:
        self.state = state


def _stand_ins(classes) -> list:
    """``(stand-in class, pickled path)`` pairs for every known constraint class."""
    pairs = []
    for path in classes[0]:
        stand_in = type("_PickledConstraint", (_PickledConstraint,), {"path": path})
        pairs.append((stand_in, path))
    return pairs


def _spec_of_stand_in(obj: Any, where: str) -> Any:
    """Turn stand-ins (nested in lists and dicts) into constraint specs."""
    if isinstance(obj, _PickledConstraint):
        state = getattr(obj, "state", None) or {}
        if isinstance(state, tuple) and len(state) == 2:  # (dict state, slot state)
            merged: Dict[str, Any] = {}
            for part in state:
                if isinstance(part, dict):
                    merged.update(part)
            state = merged
        if not isinstance(state, dict):
            raise ParamStoreError(f"{where}: a pickled constraint has a malformed state")
        module, _, cls = obj.path.rpartition(".")
        return {"module": module, "class": cls,
                "args": {k: _spec_of_stand_in(v, where) for k, v in state.items()}}
    if isinstance(obj, dict):
        return {k: _spec_of_stand_in(v, where) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_spec_of_stand_in(x, where) for x in obj]
    return obj


# ------------------------------------------------------------------- the reader


def read_param_file(
    filename: Union[str, os.PathLike],
    map_location=None,
    live: Optional[Mapping[str, torch.Tensor]] = None,
) -> Tuple[Dict[str, torch.Tensor], Dict[str, Any]]:
    """Read and check a ParamStore file; nothing is stored.

    :param live: the unconstrained tensors of the parameters that exist now (a loaded
        tensor must have the shape of the live parameter it replaces).
    :returns: ``(params, constraints)``: name -> fresh contiguous unconstrained tensor,
        name -> constraint object.
    :raises ParamStoreError: naming the file and the entry, for anything that cannot be
        used; for a pyro-ppl file that cannot be read, with a migration hint.
    """
    filename = os.fspath(filename)
    classes = constraint_classes()
    with torch.serialization.safe_globals(_stand_ins(classes)):
        try:
            state = safe_torch_load(filename, map_location, what="ParamStore")
        except ParamStoreError as e:
            raise _explain_pyro_ppl_file(e, filename) from e.__cause__
    if not isinstance(state, dict) or not isinstance(state.get("params"), dict) or \
            not isinstance(state.get("constraints", {}), dict):
        raise ParamStoreError(f"{filename!r} is not a Pyro ParamStore file (a dict with "
                              f"'params' and 'constraints', made by ParamStoreDict.save); "
                              f"check the path")
    try:
        return check_param_payload(state, f"ParamStore file {filename!r}", live, classes)
    except RecursionError:
        raise ParamStoreError(f"ParamStore file {filename!r} nests containers too deeply to "
                              f"be a Pyro file") from None


def check_param_payload(
    state: Mapping[str, Any],
    where: str,
    live: Optional[Mapping[str, torch.Tensor]] = None,
    classes=None,
) -> Tuple[Dict[str, torch.Tensor], Dict[str, Any]]:
    """Check the ``{"params", "constraints"}`` part of a file read by
    :func:`read_param_file` or a checkpoint (``where`` names them in messages)."""
    if classes is None:
        classes = constraint_classes()
    filename = where
    if not isinstance(state.get("params"), dict) or \
            not isinstance(state.get("constraints", {}), dict):
        raise ParamStoreError(f"{where}: 'params' and 'constraints' must be dicts")
    if "format" in state and (state["format"] != FORMAT or state.get("version", 1) != 1):
        raise ParamStoreError(f"{where} has format {state.get('format')!r} version "
                              f"{state.get('version')!r}; this version of Pyro reads "
                              f"{FORMAT!r} version 1")
    specs = _spec_of_stand_in(state.get("constraints", {}), where)
    live = live or {}
    params: Dict[str, torch.Tensor] = {}
    cons: Dict[str, Any] = {}
    for name, value in state["params"].items():
        if not isinstance(name, str):
            raise ParamStoreError(f"{where}: parameter names must be strings, got {name!r}")
        entry = f"{where}, parameter {name!r}"
        if not isinstance(value, torch.Tensor):
            raise ParamStoreError(f"{filename} is damaged: parameter "
                                  f"{name!r} is a {type(value).__name__}, not a tensor; save it "
                                  f"again with ParamStoreDict.save.")
        value = check_loaded_tensor(value, entry, ParamStoreError, floating=True)
        old = live.get(name)
        if old is not None and old.shape != value.shape:
            raise ParamStoreError(
                f"{entry}: shape {tuple(value.shape)} does not match the parameter's shape "
                f"{tuple(old.shape)}; to replace parameters by ones of other shapes, clear "
                f"them first (pyro.clear_param_store(), or del store[name])")
        constraint = constraints.real
        if name in specs:
            constraint = constraint_from_spec(name, specs[name], where, classes)
        if type(constraint) is not type(constraints.real):
            try:
                transform_to(constraint)(value)
            except Exception as e:
                raise ParamStoreError(
                    f"{entry}: the value of shape {tuple(value.shape)} cannot be mapped onto "
                    f"its constraint {constraint} ({clean_message(e)})") from e
        params[name] = value
        cons[name] = constraint
    return params, cons


def _explain_pyro_ppl_file(e: ParamStoreError, filename: str) -> ParamStoreError:
    m = re.search(r"object of type ([\w.]+)", str(e))
    if not m:
        return e
    return ParamStoreError(
        f"cannot load ParamStore file {filename!r}: it holds an object of type {m.group(1)}, "
        f"which is neither plain data nor a constraint Pyro knows (files written by pyro-ppl "
        f"pickle constraint objects, and a custom constraint cannot be rebuilt without "
        f"running code). {MIGRATION_HINT}")
