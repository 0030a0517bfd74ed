"""Checking the integer sizes the networks are built from (input, context, hidden and
parameter dimensions), with messages that name the argument."""
from __future__ import annotations

import numbers
from collections.abc import Sequence


def check_dim(value: object, what: str, minimum: int = 1) -> int:
    """``value`` as an ``int`` (any integral number but a bool) that is at least ``minimum``.

    :raises ValueError: naming ``what`` otherwise.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        bound = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{what} must be {bound}; got {value!r}")
    return int(value)


def check_dims(values: int | Sequence[int], what: str, allow_empty: bool = True) -> list[int]:
    """``values`` (one size, or a sequence of sizes) as a list of positive ints.

    :param what: the argument's name, for messages.
    :param allow_empty: whether ``[]`` is accepted.
    :raises ValueError: naming ``what`` and all of ``values`` when an entry is not a
        positive integer, or when ``values`` is empty and ``allow_empty`` is False.
    """
    if isinstance(values, (int, numbers.Integral)):
        values = [int(values)]
    dims = list(values)
    if not dims and not allow_empty:
        raise ValueError(f"{what} must list at least one size; got []")
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1:
            raise ValueError(f"{what} entries must be positive integers; got {dims}")
    return [int(d) for d in dims]
