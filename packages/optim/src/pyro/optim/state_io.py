"""Saving and loading optimizer state: atomic writes, safe reads, clear errors.

The state is what :meth:`PyroOptim.get_state` returns: a dict mapping each parameter's
ParamStore name to the ``state_dict()`` of a one-parameter torch optimizer
(``{"state": {0: {...}}, "param_groups": [{..., "params": [0]}]}``) with the optimizer's
class name under ``"optimizer"`` (checked on load; entries without it, as written by Pyro,
are accepted), plus, for learning-rate schedulers, the key ``"scheduler"`` holding the
scheduler's ``state_dict()``.
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import torch

from pyro.params.safe_io import atomic_torch_save, safe_torch_load
from pyro.params.tensor_checks import check_loaded_tensor


class OptimStateError(ValueError):
    """A file or dict does not hold optimizer state in the format of ``PyroOptim.get_state``."""


def check_optim_state(state: Any, source: str) -> dict[str, dict]:
    """Check that ``state`` maps parameter names to optimizer state dicts and return it.

    :param source: what the state came from (a file name or ``"set_state()"``), for errors.
    :raises OptimStateError: naming ``source`` and the offending entry.
    """
    if not isinstance(state, dict):
        raise OptimStateError(
            f"{source} does not hold optimizer state: expected a dict mapping parameter names "
            f"to optimizer state dicts (what PyroOptim.get_state() returns), got "
            f"{type(state).__name__}"
        )
    if {"params", "constraints"} <= set(state):
        raise OptimStateError(
            f"{source} holds a ParamStore state (keys 'params', 'constraints'), not optimizer "
            f"state: load it with pyro.get_param_store().load(...) and load the optimizer's "
            f"own file (written by PyroOptim.save) with optim.load(...)"
        )
    for name, entry in state.items():
        if not isinstance(name, str):
            raise OptimStateError(
                f"{source}: optimizer state keys must be parameter names (str), got {name!r}"
            )
        if not (isinstance(entry, dict) and "state" in entry and "param_groups" in entry):
            raise OptimStateError(
                f"{source}: the entry of parameter {name!r} is not a torch optimizer state dict "
                f"(a dict with keys 'state' and 'param_groups'); got "
                f"{sorted(entry) if isinstance(entry, dict) else type(entry).__name__}"
            )
    return state


def save_state(state: dict[str, dict], filename: str) -> None:
    """Write ``state`` to ``filename`` atomically with core's
    :func:`~pyro.params.param_store.atomic_torch_save` (temporary file, fsync, rename), so
    a crash leaves either the old file or the new one, never a torn one."""
    atomic_torch_save(state, filename)


def load_state(filename: str, map_location: Any | None = None) -> dict[str, dict]:
    """Read optimizer state written by :func:`save_state`.

    Uses core's :func:`~pyro.params.param_store.safe_torch_load`
    (``torch.load(weights_only=True)``): tensors and plain containers only, no code from
    the file is ever executed.

    :raises FileNotFoundError: if ``filename`` does not exist.
    :raises OptimStateError: if the file is corrupt, truncated, not a torch file, holds
        objects that safe loading refuses, or holds something other than optimizer state.
    """
    state = safe_torch_load(
        filename, map_location, what="optimizer state", error=OptimStateError,
        missing_error=FileNotFoundError,
        remedy="Save it again with optim.save(filename) (PyroOptim.save), or start the "
               "optimizer afresh without loading.",
    )
    return check_optim_state(state, f"optimizer state file {os.fspath(filename)!r}")


# ------------------------------------------------------------------ checking entries
#
# Every tensor of a loaded state is checked against the parameter it will be used with
# before an optimizer sees it: torch's fused CPU Adam kernel trusts the sizes and strides
# of its state tensors (a state of another shape crashes or hangs the process).

#: settings that describe how a step is computed on this machine, not the run: always the
#: live optimizer's, never a file's
IMPLEMENTATION_FLAGS = frozenset({"fused", "foreach", "capturable", "differentiable"})

_NUMERIC = (torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int8,
            torch.int16, torch.int32, torch.int64, torch.uint8, torch.bool)


def _state_shape_ok(optimizer_name: str | None, key: str, t: torch.Tensor,
                    p: torch.Tensor) -> bool:
    """Whether a state tensor of ``t.shape`` fits parameter ``p`` for this optimizer."""
    shape = tuple(p.shape)
    if tuple(t.shape) == shape or t.dim() == 0:
        return True
    if optimizer_name == "LBFGS":  # flat histories of the parameter
        return tuple(t.shape) == (p.numel(),)
    if optimizer_name == "Adafactor" and key in ("row_var", "col_var") and p.dim() >= 2:
        factored = list(shape)
        factored[-1 if key == "row_var" else -2] = 1
        return list(t.shape) == factored
    return False


def _check_state_value(value: Any, where: str, key: str, p: torch.Tensor | None,
                       optimizer_name: str | None, builtin: bool) -> Any:
    if key == "step" and (isinstance(value, bool) or (isinstance(value, torch.Tensor)
                                                       and value.dtype == torch.bool)):
        raise OptimStateError(f"{where}: the step count is a boolean, not a count")
    if isinstance(value, torch.Tensor):
        t = check_loaded_tensor(value, where, OptimStateError, dtypes=_NUMERIC,
                                scalar=key == "step", finite=key == "step")
        if key == "step" and float(t.reshape(())) < 0:
            raise OptimStateError(f"{where}: the step count is negative")
        if key == "step" and t.dim() != 0:
            t = t.reshape(())
        if p is not None and builtin and not _state_shape_ok(optimizer_name, key, t, p):
            raise OptimStateError(
                f"{where}: shape {tuple(t.shape)} does not fit the parameter's shape "
                f"{tuple(p.shape)}; was the state saved for another model? Drop the entry to "
                f"start this parameter afresh")
        return t
    if value is None or isinstance(value, (bool, int, float, str)):
        if key == "step" and not (isinstance(value, (int, float)) and math.isfinite(value)
                                  and value >= 0):
            raise OptimStateError(f"{where}: the step count {value!r} is not a count")
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_check_state_value(v, f"{where}[{i}]", key, p, optimizer_name,
                                              builtin) for i, v in enumerate(value))
    raise OptimStateError(f"{where}: holds a {type(value).__name__}, which optimizer state "
                          f"never does")


def _check_plain(value: Any, where: str) -> Any:
    """Settings and scheduler state: numbers, strings, None, tensors of one number, and
    lists / tuples / dicts of them."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.Tensor):
        return check_loaded_tensor(value, where, OptimStateError, dtypes=_NUMERIC, scalar=True)
    if isinstance(value, (list, tuple)):
        return type(value)(_check_plain(v, f"{where}[{i}]") for i, v in enumerate(value))
    if isinstance(value, dict):
        return {k: _check_plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    raise OptimStateError(f"{where}: holds a {type(value).__name__}, which is not plain data")


def check_param_entry(entry: dict, name: str, source: str, p: torch.Tensor | None = None,
                      optimizer_name: str | None = None) -> dict:
    """Check the saved state of one parameter and return it with fresh tensors.

    :param p: the parameter it will be used with (shapes are checked against it), or
        ``None`` to check everything else only.
    :param optimizer_name: the class name of the optimizer it will be loaded into.
    :raises OptimStateError: naming ``source``, the parameter and the entry.
    """
    where = f"{source}, parameter {name!r}"
    state, groups = entry.get("state"), entry.get("param_groups")
    if not isinstance(state, dict) or not set(state) <= {0}:
        raise OptimStateError(f"{where}: 'state' must be {{}} or {{0: {{...}}}} (one "
                              f"parameter per entry), got keys "
                              f"{sorted(map(repr, state)) if isinstance(state, dict) else state!r}")
    if not (isinstance(groups, list) and len(groups) == 1 and isinstance(groups[0], dict)
            and groups[0].get("params") == [0]):
        raise OptimStateError(f"{where}: 'param_groups' must be one group with "
                              f"'params': [0] (one parameter per entry)")
    saved_by = entry.get("optimizer")
    if saved_by is not None and not isinstance(saved_by, str):
        raise OptimStateError(f"{where}: 'optimizer' must be a class name")
    builtin = optimizer_name is not None and isinstance(getattr(torch.optim, optimizer_name,
                                                                None), type)
    builtin = builtin or optimizer_name == "ClippedAdam"
    own = state.get(0, {})
    if not isinstance(own, dict) or not all(isinstance(k, str) for k in own):
        raise OptimStateError(f"{where}: the per-parameter state must be a dict with str keys")
    checked = dict(entry)
    checked["state"] = {0: {k: _check_state_value(v, f"{where}, state {k!r}", k, p,
                                                  optimizer_name, builtin)
                            for k, v in own.items()}} if 0 in state else {}
    checked["param_groups"] = [{k: (v if k == "params" else
                                    _check_plain(v, f"{where}, setting {k!r}"))
                                for k, v in groups[0].items()}]
    for key in ("settings", "scheduler"):
        if entry.get(key) is not None:
            if not isinstance(entry[key], dict):
                raise OptimStateError(f"{where}: {key!r} must be a dict")
            checked[key] = _check_plain(entry[key], f"{where}, {key}")
    return checked


def _same_kind(file_value: Any, live_value: Any) -> bool:
    if isinstance(live_value, bool) or live_value is None or isinstance(live_value, str):
        return type(file_value) is type(live_value)
    if isinstance(live_value, (int, float)):
        return isinstance(file_value, (int, float)) and not isinstance(file_value, bool) \
            and math.isfinite(file_value)
    if isinstance(live_value, torch.Tensor):
        return isinstance(file_value, (torch.Tensor, int, float)) and \
            not isinstance(file_value, bool)
    if isinstance(live_value, (list, tuple)):
        return isinstance(file_value, (list, tuple)) and len(file_value) == len(live_value) \
            and all(_same_kind(f, v) for f, v in zip(file_value, live_value))
    return False


def merge_settings(live_group: dict, entry: dict, user_settings: Mapping[str, Any],
                   restore_settings: bool, where: str) -> dict[str, Any]:
    """The settings a loaded parameter continues with.

    The user's settings win: a setting the user gave is taken from the file only when it
    is unchanged since the save (the file's value is then that setting's evolution, e.g.
    a decayed or scheduled ``lr``); settings the user left at their defaults (and a
    scheduler's ``initial_lr``) are taken from the file only when all the user's settings
    are unchanged. With ``restore_settings=True`` the file's values are taken. Never taken
    from a file: :data:`IMPLEMENTATION_FLAGS` (``fused``, ``foreach``, ...), and keys the
    live optimizer does not have.

    :raises OptimStateError: if a value the file would set is not of the live kind.
    """
    recorded = entry.get("settings")
    user = dict(user_settings)
    unchanged_all = isinstance(recorded, dict) and _plain_equal(recorded, recordable_settings(user))
    merged = {k: v for k, v in live_group.items() if k != "params"}
    for k, v in entry["param_groups"][0].items():
        if k == "params" or k in IMPLEMENTATION_FLAGS or k not in merged:
            continue
        if restore_settings:
            take = True
        elif k in user:
            take = isinstance(recorded, dict) and k in recorded and \
                _plain_equal(recorded[k], recordable_settings({k: user[k]}).get(k, _MISSING))
        else:
            take = unchanged_all
        if not take:
            continue
        if not _same_kind(v, merged[k]):
            raise OptimStateError(f"{where}: setting {k!r} is {v!r} in the file, which does "
                                  f"not fit the optimizer's {merged[k]!r}")
        merged[k] = v
    return merged


_MISSING = object()


def recordable_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings that can be written to a file and compared after loading (plain
    values: numbers, strings, tuples of them, tensors)."""
    out = {}
    for k, v in settings.items():
        try:
            _check_plain(v, "settings")
        except OptimStateError:
            continue
        out[k] = v.detach().cpu().clone() if isinstance(v, torch.Tensor) else v
    return out


def _plain_equal(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and \
            a.shape == b.shape and bool((a.cpu() == b.cpu()).all())
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_plain_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_plain_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b
