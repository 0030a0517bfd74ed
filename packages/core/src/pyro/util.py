"""Process-wide switches and small helpers: RNG seeding, validation, NaN warnings."""

from __future__ import annotations

import contextlib
import functools
import random
import warnings
from typing import Any, Iterator, Optional

import numpy as np
import torch

_VALIDATION_ENABLED = __debug__


def set_rng_seed(rng_seed: int) -> None:
    """Seed Python's, NumPy's and torch's random number generators (all devices)."""
    torch.manual_seed(rng_seed)
    random.seed(rng_seed)
    np.random.seed(rng_seed % (2**32))


def get_rng_state() -> dict:
    return {
        "torch": torch.get_rng_state(),
        "random": random.getstate(),
        "numpy": np.random.get_state(),
        **({"cuda": torch.cuda.get_rng_state_all()} if torch.cuda.is_available() else {}),
    }


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["random"])
    np.random.set_state(state["numpy"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def enable_validation(is_validate: bool = True) -> None:
    """Turn validation on or off: shape checks at plates and observed sites, parameter
    checks of distributions (torch's ``validate_args`` default), constraint checks of
    ``pyro.param`` initial values, and NaN warnings in log densities. On by default when
    Python runs without ``-O``; off makes the hot paths slightly faster."""
    global _VALIDATION_ENABLED
    _VALIDATION_ENABLED = bool(is_validate)
    torch.distributions.Distribution.set_default_validate_args(bool(is_validate))


def is_validation_enabled() -> bool:
    return _VALIDATION_ENABLED


@contextlib.contextmanager
def validation_enabled(is_validate: bool = True) -> Iterator[None]:
    """Context manager that sets validation on (or off) and restores it on exit."""
    old = is_validation_enabled()
    enable_validation(is_validate)
    try:
        yield
    finally:
        enable_validation(old)


def warn_if_nan(value: Any, msg: str = "", *, filename: Optional[str] = None, lineno=None) -> Any:
    """Warn if ``value`` (a number or tensor) contains NaN; returns ``value``."""
    if isinstance(value, torch.Tensor):
        bad = bool(torch.isnan(value).any())
    else:
        bad = value != value
    if bad:
        warnings.warn(f"Encountered NaN{': ' + msg if msg else ''}", stacklevel=2)
    return value


def warn_if_inf(
    value: Any, msg: str = "", allow_posinf: bool = False, allow_neginf: bool = False, **kwargs
) -> Any:
    """Warn if ``value`` contains +inf (unless ``allow_posinf``) or -inf (unless
    ``allow_neginf``); returns ``value``."""
    if isinstance(value, torch.Tensor):
        pos = not allow_posinf and bool((value == float("inf")).any())
        neg = not allow_neginf and bool((value == float("-inf")).any())
    else:
        pos = not allow_posinf and value == float("inf")
        neg = not allow_neginf and value == float("-inf")
    if pos:
        warnings.warn(f"Encountered +inf{': ' + msg if msg else ''}", stacklevel=2)
    if neg:
        warnings.warn(f"Encountered -inf{': ' + msg if msg else ''}", stacklevel=2)
    return value


def torch_isnan(x) -> Any:
    return torch.isnan(x).any() if isinstance(x, torch.Tensor) else x != x


def deep_getattr(obj: Any, name: str) -> Any:
    """``getattr`` through a dotted path: ``deep_getattr(m, "a.b")`` is ``m.a.b``."""
    return functools.reduce(getattr, name.split("."), obj)


def deep_setattr(obj: Any, name: str, value: Any) -> None:
    head, _, tail = name.rpartition(".")
    setattr(deep_getattr(obj, head) if head else obj, tail, value)


@contextlib.contextmanager
def optional(context_manager, condition: bool):
    """Enter ``context_manager`` only when ``condition`` holds."""
    if condition:
        with context_manager:
            yield
    else:
        yield


@contextlib.contextmanager
def ignore_jit_warnings(filter=None):
    """Silence ``torch.jit.TracerWarning`` s (kept for API compatibility with Pyro)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        yield


def check_site_shape(site: dict, max_plate_nesting: int) -> None:
    """Check that a site's log-prob shape fits its plates: every batch dim left of
    ``-max_plate_nesting`` must be an enumeration dim, and each plate's dim must have the
    plate's size or 1. Raises ``ValueError`` naming the site, plate and shapes."""
    actual = site["log_prob"].shape if "log_prob" in site else site["fn"].batch_shape
    actual = torch.Size(actual)
    expected = [None] * max_plate_nesting
    for f in site["cond_indep_stack"]:
        if f.vectorized:
            if -f.dim > max_plate_nesting:
                raise ValueError(
                    f"at site {site['name']!r}, plate {f.name!r} uses dim {f.dim} but "
                    f"max_plate_nesting={max_plate_nesting}; increase max_plate_nesting to at "
                    f"least {-f.dim}"
                )
            expected[f.dim] = f.size
    for actual_size, (i, exp) in zip(reversed(actual), enumerate(reversed(expected))):
        if actual_size != 1 and actual_size != exp:
            where = (
                f"its plate has size {exp}"
                if exp is not None
                else "no enclosing pyro.plate uses that dim"
            )
            raise ValueError(
                f"at site {site['name']!r}, invalid log_prob shape {tuple(actual)}: dim "
                f"{-1 - i} has size {actual_size} but {where}; expected shape "
                f"{tuple(e or 1 for e in expected)}. Use .to_event(n) to declare event dims or "
                f"enclose the site in the right pyro.plate"
            )
