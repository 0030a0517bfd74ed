"""Reading and writing parameter files without ever running code from them.

* The files are read with :func:`pyro.params.safe_io.safe_torch_load` and written with
  :func:`pyro.params.safe_io.atomic_torch_save`.
* Constraints are written as plain data (:mod:`pyro.params.constraint_spec`).
* :func:`read_param_file` reads a ParamStore file, written by this project or by pyro-ppl
  1.9 (whose files pickle torch constraint objects: they are read through stand-ins that
  only record the pickled attributes, then rebuilt from the known classes), and checks
  every tensor (:mod:`pyro.params.tensor_checks`) before anything is stored.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import torch
from torch.distributions import constraints, transform_to

from .constraint_spec import constraint_classes, constraint_from_spec
from .errors import ParamStoreError
from .safe_io import safe_torch_load
from .tensor_checks import check_loaded_tensor, clean_message

FORMAT = "pyro-param-store"

#: what to do with a ParamStore file written by pyro-ppl that cannot be read here
MIGRATION_HINT = (
    "To migrate, save the constrained values in pyro-ppl with "
    "torch.save({k: v.detach() for k, v in pyro.get_param_store().items()}, 'values.pt') "
    "and recreate each here with pyro.param(name, value, constraint=...)."
)


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
            merged: dict[str, Any] = {}
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
    filename: str | os.PathLike,
    map_location=None,
    live: Mapping[str, torch.Tensor] | None = None,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
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
    live: Mapping[str, torch.Tensor] | None = None,
    classes=None,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
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
    params: dict[str, torch.Tensor] = {}
    cons: dict[str, Any] = {}
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
