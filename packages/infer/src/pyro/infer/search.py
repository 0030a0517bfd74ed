"""``Search``: exact posterior of a discrete program by exhaustive enumeration."""
from __future__ import annotations

import queue as _queue
from collections.abc import Callable, Iterator

from pyro import poutine
from pyro.poutine.escape_messenger import NonlocalExit
from pyro.poutine.util import discrete_escape, enum_extend

from .abstract_infer import TracePosterior

__all__ = ["Search", "iter_complete_traces"]


def iter_complete_traces(
    model: Callable, args: tuple, kwargs: dict, max_tries: int = int(1e6),
    escape_fn: Callable = discrete_escape, extend_fn: Callable = enum_extend,
) -> Iterator:
    """Yield one complete trace of ``model`` per combination of the values of its
    discrete latent sites (breadth-first over a queue of partial traces, as
    ``poutine.queue`` does).

    Each attempt replays a partial trace and escapes at the first site
    ``escape_fn(partial, msg)`` selects; the partial trace is then extended with each
    support value (``extend_fn``). Every attempt is traced separately, so failed attempts
    leave nothing behind.

    :raises ValueError: after ``max_tries`` attempts.
    """
    q: _queue.Queue = _queue.Queue()
    q.put(poutine.Trace())
    tries = 0
    while not q.empty():
        if tries >= max_tries:
            raise ValueError(
                f"Search: max_tries={max_tries} executions were not enough to enumerate the "
                f"model; increase max_tries"
            )
        tries += 1
        partial = q.get()
        tracer = poutine.trace(
            poutine.escape(
                poutine.replay(model, trace=partial),
                escape_fn=lambda msg, partial=partial: escape_fn(partial, msg),
            )
        )
        try:
            tr = tracer.get_trace(*args, **kwargs)
        except NonlocalExit as e:
            for extended in extend_fn(tracer.trace.copy(), e.site):
                q.put(extended)
            continue
        yield tr


class Search(TracePosterior):
    """Exact inference by systematic search (Pyro 0.1's ``Search``): run ``model`` once for
    every combination of values of its discrete latent sample sites (those whose distribution
    has ``enumerate_support``), weighting each complete execution by its log joint
    density (``trace.log_prob_sum()``, with scales and ``pyro.factor`` terms).

    ``Search(model).run(*args)`` then holds the traces and weights;
    ``EmpiricalMarginal(posterior, "x")`` gives exact posterior marginals.

    :param model: a stochastic function whose latent sites are all discrete (a
        continuous latent site is sampled once per execution, not enumerated).
    :param int max_tries: the maximum number of (partial) executions.
    """

    def __init__(self, model: Callable, max_tries: int = int(1e6), **kwargs) -> None:
        self.model = model
        self.max_tries = int(max_tries)
        super().__init__(**kwargs)

    def _traces(self, *args, **kwargs):
        for tr in iter_complete_traces(self.model, args, kwargs, max_tries=self.max_tries):
            yield tr, tr.log_prob_sum().detach()
