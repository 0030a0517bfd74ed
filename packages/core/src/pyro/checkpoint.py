"""Checkpoints: one call saves, one call restores everything a run needs to continue
exactly: the parameters (the ParamStore), the optimizer state, the random number
generators (torch CPU and CUDA, Python's ``random``, NumPy's global generator) and the
step count.

Example (SVI)::

    svi = SVI(model, guide, optim, Trace_ELBO())
    start = 0
    if os.path.exists("run.ckpt"):
        start = pyro.checkpoint.load_checkpoint("run.ckpt", optim).step
    for step in range(start, num_steps):
        svi.step(data)
        if step % 100 == 99:
            pyro.checkpoint.save_checkpoint("run.ckpt", optim, step=step + 1)

A run resumed this way in a fresh process gives bit for bit the numbers of the run that
was not interrupted (same model, guide and optimizer settings; autoguides consume no
randomness when their parameters already exist). The file is written atomically and read
with ``torch.load(weights_only=True)``: it never runs code, and every tensor is checked
(see :mod:`pyro.params.tensor_checks`) before anything is changed.

The optimizer can be any object with ``get_state()`` / ``set_state(state)`` (a
:class:`pyro.optim.PyroOptim`, a ``MixedMultiOptimizer``); this module lives in pyro-core
and imports nothing from pyro-optim.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .params.errors import ParamStoreError
from .params.param_file import check_param_payload
from .params.safe_io import atomic_torch_save, safe_torch_load
from .params.tensor_checks import check_loaded_tensor

__all__ = ["Checkpoint", "CheckpointError", "load_checkpoint", "save_checkpoint"]

_FORMAT = "pyro-checkpoint"


class CheckpointError(ParamStoreError):
    """A checkpoint file that cannot be loaded (a :class:`~pyro.params.ParamStoreError`)."""


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` restored besides the state it put back in place.

    :ivar int step: the step count given to :func:`save_checkpoint`.
    :ivar dict extra: the ``extra`` data given to :func:`save_checkpoint`.
    """

    step: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def save_checkpoint(filename: str | os.PathLike, optim: Any = None, *, step: int = 0,
                    extra: dict[str, Any] | None = None) -> None:
    """Save the ParamStore, ``optim``'s state, the RNG states and ``step`` to ``filename``
    atomically (see :func:`pyro.atomic_file.atomic_write`).

    :param optim: the optimizer (``get_state()``), or ``None`` for none.
    :param int step: the number of steps taken (returned by :func:`load_checkpoint`).
    :param dict extra: plain data to keep with the run (numbers, strings, tensors, lists,
        dicts), returned by :func:`load_checkpoint`.
    :raises TypeError: if ``step`` is not a non-negative int or ``optim`` has no
        ``get_state``.
    """
    import pyro

    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise TypeError(f"save_checkpoint: step must be a non-negative int, got {step!r}")
    if optim is not None and not callable(getattr(optim, "get_state", None)):
        raise TypeError(f"save_checkpoint: optim must have get_state() (a pyro.optim "
                        f"optimizer), got {type(optim).__name__}")
    payload = {
        "format": _FORMAT,
        "version": 1,
        "step": step,
        "param_store": pyro.get_param_store().file_payload(),
        "optim": None if optim is None else optim.get_state(),
        "rng": _rng_payload(),
        "extra": dict(extra or {}),
    }
    atomic_torch_save(payload, filename)


def load_checkpoint(filename: str | os.PathLike, optim: Any = None, *,
                    map_location: Any = None, restore_settings: bool = False,
                    restore_rng: bool = True) -> Checkpoint:
    """Restore what :func:`save_checkpoint` saved: the parameters into the ParamStore,
    the optimizer state into ``optim`` (applied as each parameter is next stepped), and
    the RNG states. All or nothing: everything is checked first, and nothing is changed
    if any part fails.

    :param optim: the optimizer to restore (``set_state``); ``None`` to skip its state.
    :param map_location: as for ``torch.load``.
    :param bool restore_settings: take the optimizer settings saved in the file instead
        of ``optim``'s own (see :meth:`pyro.optim.PyroOptim.load`).
    :param bool restore_rng: restore the random number generators (default ``True``).
    :returns: a :class:`Checkpoint` with the step count and the extra data.
    :raises FileNotFoundError: if the file does not exist.
    :raises CheckpointError: if the file is not a readable checkpoint or an entry
        cannot be used (naming the file and the entry); errors of ``optim.set_state``
        (e.g. :class:`pyro.optim.OptimStateError`) pass through, with nothing changed.
    """
    import pyro

    filename = os.fspath(filename)
    where = f"checkpoint {filename!r}"
    state = safe_torch_load(filename, map_location, what="checkpoint", error=CheckpointError,
                            missing_error=FileNotFoundError,
                            remedy="Save it again with pyro.checkpoint.save_checkpoint.")
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise CheckpointError(f"{where} is not a Pyro checkpoint (made by "
                              f"pyro.checkpoint.save_checkpoint); check the path")
    if state.get("version") != 1:
        raise CheckpointError(f"{where} has version {state.get('version')!r}; this version "
                              f"of Pyro reads version 1")
    step = state.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise CheckpointError(f"{where}: the step count {step!r} is not a count")
    extra = state.get("extra") or {}
    if not isinstance(extra, dict):
        raise CheckpointError(f"{where}: 'extra' must be a dict")
    try:
        extra = _check_extra(extra, f"{where}, extra")
    except RecursionError:
        raise CheckpointError(f"{where}: 'extra' nests containers too deeply") from None
    store = pyro.get_param_store()
    payload = state.get("param_store")
    if not isinstance(payload, dict):
        raise CheckpointError(f"{where}: 'param_store' is missing or malformed")
    try:
        params, cons = check_param_payload(payload, where, live=dict(store.named_parameters()))
    except ParamStoreError as e:
        raise CheckpointError(str(e)) from e
    except RecursionError:
        raise CheckpointError(f"{where}: 'param_store' nests containers too deeply") from None
    rng = _check_rng(state.get("rng"), where) if restore_rng else None
    optim_state = state.get("optim")
    if optim is not None and optim_state is None:
        raise CheckpointError(f"{where} holds no optimizer state (it was saved without "
                              f"optim); load it without optim")
    if optim is not None and not callable(getattr(optim, "set_state", None)):
        raise TypeError(f"load_checkpoint: optim must have set_state() (a pyro.optim "
                        f"optimizer), got {type(optim).__name__}")

    before = store.get_state()
    store.set_state({"params": params, "constraints": cons})
    if optim is not None:
        try:
            if restore_settings:
                optim.set_state(optim_state, restore_settings=True)
            else:
                optim.set_state(optim_state)
        except BaseException:
            store.clear()
            store.set_state(before)
            raise
    if rng is not None:
        _set_rng(rng)
    return Checkpoint(step=step, extra=extra)


def _check_extra(value: Any, where: str) -> Any:
    # tensors come back as fresh contiguous copies with a safe memory layout
    if isinstance(value, torch.Tensor):
        return check_loaded_tensor(value, where, CheckpointError)
    if isinstance(value, dict):
        return {k: _check_extra(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_check_extra(v, f"{where}[{i}]") for i, v in enumerate(value))
    return value


# ------------------------------------------------------------------------- RNG state


def _rng_payload() -> dict[str, Any]:
    version, internal, gauss_next = random.getstate()
    state = np.random.get_state(legacy=True)
    if isinstance(state, dict):  # the dict form comes only from a non-MT19937 bit generator
        raise CheckpointError(
            f"numpy's global random generator uses {state.get('bit_generator')!r}; "
            "checkpoints store the legacy MT19937 state only"
        )
    kind, keys, pos, has_gauss, cached = state
    out = {
        "torch": torch.get_rng_state(),
        "python": {"version": version, "state": torch.tensor(internal, dtype=torch.int64),
                   "gauss_next": gauss_next},
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)),
                  "pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["cuda"] = list(torch.cuda.get_rng_state_all())
    return out


def _check_rng(rng: Any, where: str) -> dict[str, Any]:
    if not isinstance(rng, dict):
        raise CheckpointError(f"{where}: 'rng' is missing or malformed")
    w = f"{where}, rng"
    out: dict[str, Any] = {}
    out["torch"] = check_loaded_tensor(rng.get("torch"), f"{w} 'torch'", CheckpointError,
                                       dtypes=(torch.uint8,),
                                       shape=tuple(torch.get_rng_state().shape))
    py = rng.get("python")
    if not (isinstance(py, dict) and isinstance(py.get("version"), int)
            and (py.get("gauss_next") is None or isinstance(py.get("gauss_next"), float))):
        raise CheckpointError(f"{w} 'python' is malformed")
    internal = check_loaded_tensor(py.get("state"), f"{w} 'python'", CheckpointError,
                                   dtypes=(torch.int64,), shape=(625,))
    if bool(((internal < 0) | (internal >= 2**32)).any()) or int(internal[-1]) > 624:
        raise CheckpointError(f"{w} 'python': values out of range")
    out["python"] = (py["version"], tuple(internal.tolist()), py["gauss_next"])
    nps = rng.get("numpy")
    if not (isinstance(nps, dict) and nps.get("kind") == "MT19937"
            and isinstance(nps.get("pos"), int) and 0 <= nps["pos"] <= 624
            and isinstance(nps.get("has_gauss"), int)
            and isinstance(nps.get("cached_gaussian"), float)):
        raise CheckpointError(f"{w} 'numpy' is malformed")
    keys = check_loaded_tensor(nps.get("keys"), f"{w} 'numpy'", CheckpointError,
                               dtypes=(torch.int64,), shape=(624,))
    if bool(((keys < 0) | (keys >= 2**32)).any()):
        raise CheckpointError(f"{w} 'numpy': values out of range")
    out["numpy"] = ("MT19937", keys.numpy().astype(np.uint32), nps["pos"], nps["has_gauss"],
                    nps["cached_gaussian"])
    cuda = rng.get("cuda")
    if cuda is not None:
        if not isinstance(cuda, list):
            raise CheckpointError(f"{w} 'cuda' is malformed")
        out["cuda"] = [check_loaded_tensor(t, f"{w} 'cuda'[{i}]", CheckpointError,
                                           dtypes=(torch.uint8,)) for i, t in enumerate(cuda)]
    return out


def _set_rng(rng: dict[str, Any]) -> None:
    torch.set_rng_state(rng["torch"])
    random.setstate(rng["python"])
    np.random.set_state(rng["numpy"])
    cuda = rng.get("cuda")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
