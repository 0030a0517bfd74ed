"""``pyro.markov``: declare Markov structure so enumeration can recycle tensor dims."""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator

from .messenger import Messenger


class MarkovMessenger(Messenger):
    """Mark a sequence of steps in which each step depends only on the ``history``
    steps before it. Used as an iterator (``for t in pyro.markov(range(T))``: each
    iteration is a step) or as a context manager entered once per step (recursively
    nested contexts are successive steps).

    Each sample site inside records in ``infer["_markov_scope"]`` the names of the sites
    it may depend on (its own step and the ``history`` previous ones);
    :class:`~pyro.poutine.enum_messenger.EnumMessenger` reuses the dims of variables
    outside that scope, so a chain of any length needs only ``history + 1`` dims.
    ``keep=True`` keeps every step visible (no recycling), for branching structures.
    ``dim`` and ``name`` are accepted for compatibility with Pyro's vectorized markov
    (which only its funsor backend uses) and have no effect here.

    **References:** Obermeyer et al., "Tensor Variable Elimination for Plated Factor
    Graphs", ICML 2019.
    """

    def __init__(self, fn: Callable | None = None, history: int = 1, keep: bool = False,
                 dim: int | None = None, name: str | None = None) -> None:
        super().__init__(fn)
        if not isinstance(history, int) or history < 0:
            raise ValueError(f"pyro.markov: history must be a non-negative int, got {history!r}")
        self.history = history
        self.keep = keep
        self.dim = dim
        self.name = name
        self._stack: list[set] = []                  # nested steps (context-manager use)
        self._recent: deque = deque(maxlen=history if not keep else None)

    def __enter__(self):
        self._stack.append(set())
        return super().__enter__()

    def __exit__(self, *args) -> None:
        step = self._stack.pop()
        if not self._stack:
            self._recent.append(step)
        return super().__exit__(*args)

    def generator(self, iterable: Iterable) -> Iterator:
        for value in iterable:
            with self:
                yield value

    def _scope(self) -> set:
        if self.keep:
            return set().union(*self._stack, *self._recent)
        depth = self.history + 1
        scope = set().union(*self._stack[-depth:])
        if len(self._stack) < depth:
            for step in list(self._recent)[-(depth - len(self._stack)):]:
                scope |= step
        return scope

    def _pyro_sample(self, msg) -> None:
        if msg["done"] or msg["is_observed"]:
            return
        self._stack[-1].add(msg["name"])
        outer = msg["infer"].get("_markov_scope")
        scope = self._scope()
        msg["infer"] = {**msg["infer"], "_markov_scope": scope if outer is None else outer | scope}
