"""``poutine.seed``: run under a fixed random seed."""
from __future__ import annotations

from collections.abc import Callable

from ..util import get_rng_state, set_rng_seed, set_rng_state
from .messenger import Messenger


class SeedMessenger(Messenger):
    """Seed the random number generators with ``rng_seed`` on entry and restore the
    previous state on exit, so every call draws the same values and the global stream
    is left untouched.

    Example::

        seeded = poutine.seed(model, rng_seed=123)
        assert seeded() == seeded()
    """

    def __init__(self, fn: Callable | None = None, rng_seed: int | None = None) -> None:
        super().__init__(fn)
        if not isinstance(rng_seed, int):
            raise TypeError(f"poutine.seed needs an integer rng_seed, got {rng_seed!r}")
        self.rng_seed = rng_seed
        self._saved: list[dict] = []

    def __enter__(self):
        self._saved.append(get_rng_state())
        set_rng_seed(self.rng_seed)
        return super().__enter__()

    def __exit__(self, *args) -> None:
        set_rng_state(self._saved.pop())
        return super().__exit__(*args)
