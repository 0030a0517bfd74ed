"""Saving and loading optimizer state: atomic writes, safe reads, clear errors.

The state is what :meth:`PyroOptim.get_state` returns: a dict mapping each parameter's
ParamStore name to the ``state_dict()`` of a one-parameter torch optimizer
(``{"state": {0: {...}}, "param_groups": [{..., "params": [0]}]}``) with the optimizer's
class name under ``"optimizer"`` (checked on load; entries without it, as written by Pyro,
are accepted), plus, for learning-rate schedulers, the key ``"scheduler"`` holding the
scheduler's ``state_dict()``.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Optional

from pyro.params.param_store import atomic_torch_save, safe_torch_load


class OptimStateError(ValueError):
    """A file or dict does not hold optimizer state in the format of ``PyroOptim.get_state``."""


def check_optim_state(state: Any, source: str) -> Dict[str, dict]:
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


def save_state(state: Dict[str, dict], filename: str) -> None:
    """Write ``state`` to ``filename`` atomically with core's
    :func:`~pyro.params.param_store.atomic_torch_save` (temporary file, fsync, rename), so
    a crash leaves either the old file or the new one, never a torn one."""
    atomic_torch_save(state, filename)


def load_state(filename: str, map_location: Optional[Any] = None) -> Dict[str, dict]:
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
