"""The functional handler API: ``poutine.trace(fn, ...)`` and friends.

Each function takes the function to wrap first (or none, to get a context manager /
decorator) and returns a :class:`~pyro.poutine.messenger.Messenger`.
"""
from __future__ import annotations

from collections.abc import Callable

from . import util
from .block_messenger import BlockMessenger
from .broadcast_messenger import BroadcastMessenger
from .condition_messenger import ConditionMessenger
from .do_messenger import DoMessenger
from .enum_messenger import EnumMessenger
from .equalize_messenger import EqualizeMessenger
from .escape_messenger import EscapeMessenger, NonlocalExit
from .infer_config_messenger import InferConfigMessenger
from .lift_messenger import LiftMessenger
from .markov_messenger import MarkovMessenger
from .mask_messenger import MaskMessenger
from .reparam_messenger import ReparamHandler, ReparamMessenger
from .replay_messenger import ReplayMessenger
from .scale_messenger import ScaleMessenger
from .seed_messenger import SeedMessenger
from .substitute_messenger import SubstituteMessenger
from .trace_messenger import TraceHandler, TraceMessenger
from .uncondition_messenger import UnconditionMessenger


def trace(fn: Callable | None = None, graph_type: str | None = None,
          param_only: bool | None = None) -> TraceMessenger | TraceHandler:
    """Record the sites of ``fn``: ``trace(fn).get_trace(*args)`` returns a
    :class:`~pyro.poutine.trace_struct.Trace`. ``trace(fn)`` and ``trace()(fn)`` give the
    same :class:`~pyro.poutine.trace_messenger.TraceHandler`; ``trace()`` alone is a
    :class:`TraceMessenger` (a context manager whose ``.trace`` holds the record)."""
    msngr = TraceMessenger(graph_type=graph_type, param_only=param_only)
    return msngr if fn is None else msngr(fn)


def replay(fn: Callable | None = None, trace=None, params=None) -> ReplayMessenger:
    """Reuse the sample values of ``trace`` (and param values of ``params``)."""
    return ReplayMessenger(fn, trace=trace, params=params)


def block(fn: Callable | None = None, hide_fn=None, expose_fn=None, hide_all=True,
          expose_all=False, hide=None, expose=None, hide_types=None,
          expose_types=None) -> BlockMessenger:
    """Hide sites from the handlers outside (all of them by default)."""
    return BlockMessenger(fn, hide_fn=hide_fn, expose_fn=expose_fn, hide_all=hide_all,
                          expose_all=expose_all, hide=hide, expose=expose,
                          hide_types=hide_types, expose_types=expose_types)


def condition(fn: Callable | None = None, data=None) -> ConditionMessenger:
    """Observe the sample sites named in ``data`` at the given values."""
    return ConditionMessenger(fn, data=data)


def do(fn: Callable | None = None, data=None) -> DoMessenger:
    """Intervene on the sample sites named in ``data`` (Pearl's do-operator)."""
    return DoMessenger(fn, data=data)


def scale(fn: Callable | None = None, scale=1.0) -> ScaleMessenger:
    """Multiply every sample site's log density by ``scale``."""
    return ScaleMessenger(fn, scale=scale)


def mask(fn: Callable | None = None, mask=None) -> MaskMessenger:
    """Keep only the log-density terms where ``mask`` is True."""
    return MaskMessenger(fn, mask=mask)


def lift(fn: Callable | None = None, prior=None) -> LiftMessenger:
    """Turn param sites into sample sites drawn from ``prior``."""
    return LiftMessenger(fn, prior=prior)


def seed(fn: Callable | None = None, rng_seed: int | None = None) -> SeedMessenger:
    """Run ``fn`` with the RNGs seeded by ``rng_seed`` (the global stream is restored)."""
    return SeedMessenger(fn, rng_seed=rng_seed)


def substitute(fn: Callable | None = None, data=None, substitute_fn=None) -> SubstituteMessenger:
    """Replace the values of param sites."""
    return SubstituteMessenger(fn, data=data, substitute_fn=substitute_fn)


def infer_config(fn: Callable | None = None, config_fn=None) -> InferConfigMessenger:
    """Update each site's ``infer`` dict with ``config_fn(msg)``."""
    return InferConfigMessenger(fn, config_fn=config_fn)


def escape(fn: Callable | None = None, escape_fn=None) -> EscapeMessenger:
    """Leave ``fn`` with :class:`NonlocalExit` at the first site where ``escape_fn`` holds."""
    return EscapeMessenger(fn, escape_fn=escape_fn)


def enum(fn: Callable | None = None, first_available_dim: int | None = None) -> EnumMessenger:
    """Enumerate sites marked ``infer={"enumerate": "parallel"}`` in parallel."""
    return EnumMessenger(fn, first_available_dim=first_available_dim)


def broadcast(fn: Callable | None = None) -> BroadcastMessenger:
    """Expand distributions to the sizes of their enclosing plates."""
    return BroadcastMessenger(fn)


def equalize(fn: Callable | None = None, sites=None, type: str | None = "sample",
             keep_dist: bool | None = False) -> EqualizeMessenger:
    """Give the sites whose names match ``sites`` (regular expressions) the value of the
    first of them; see :class:`~pyro.poutine.equalize_messenger.EqualizeMessenger`."""
    return EqualizeMessenger(fn, sites=sites, type=type, keep_dist=keep_dist)


def reparam(fn: Callable | None = None, config=None) -> ReparamMessenger | ReparamHandler:
    """Reparameterize the sample sites ``config`` selects (a dict site name ->
    reparameterizer, or a callable msg -> reparameterizer or None); see
    :class:`~pyro.poutine.reparam_messenger.ReparamMessenger` for the protocol."""
    msngr = ReparamMessenger(config=config)
    return msngr if fn is None else msngr(fn)


def uncondition(fn: Callable | None = None) -> UnconditionMessenger:
    """Sample observed sites as if they were latent."""
    return UnconditionMessenger(fn)


def markov(fn=None, history: int = 1, keep: bool = False, dim=None, name=None):
    """Markov structure for enumeration: an iterator over ``fn`` when it is iterable
    (``for t in markov(range(T))``), a wrapper when it is callable, else a context manager."""
    if fn is not None and not callable(fn):
        return MarkovMessenger(history=history, keep=keep, dim=dim, name=name).generator(fn)
    return MarkovMessenger(fn, history=history, keep=keep, dim=dim, name=name)


def queue(fn: Callable | None = None, queue=None, max_tries: int | None = None,
          extend_fn: Callable | None = None, escape_fn: Callable | None = None,
          num_samples: int | None = None):
    """Run ``fn`` once per partial trace taken from ``queue`` (a ``queue.Queue`` of
    traces), extending the queue at each unseen discrete site: systematic search over
    the discrete choices of a program (as Pyro's ``Search`` uses it).

    Each call pops a partial trace, replays ``fn`` on it and returns ``fn``'s value if
    it completes. If ``fn`` reaches a site ``escape_fn(trace, msg)`` selects (by default
    a discrete latent site the trace lacks), the partial trace is extended by
    ``extend_fn(trace, msg, num_samples=num_samples)`` (by default one trace per support
    value) and the extensions are put back on the queue.

    :raises ValueError: after ``max_tries`` (default 10**6) escapes without completion,
        or when the queue is empty.
    """
    if queue is None:
        raise ValueError("poutine.queue needs queue=, a queue.Queue of partial traces")
    max_tries = int(1e6) if max_tries is None else max_tries
    extend_fn = util.enum_extend if extend_fn is None else extend_fn
    escape_fn = util.discrete_escape if escape_fn is None else escape_fn

    def wrapper(wrapped: Callable) -> Callable:
        def _fn(*args, **kwargs):
            for _ in range(max_tries):
                if queue.empty():
                    raise ValueError("poutine.queue: the queue of partial traces is empty; seed it "
                                     "with an empty Trace before the first call")
                partial = queue.get()
                tracer = TraceMessenger(EscapeMessenger(
                    ReplayMessenger(wrapped, trace=partial),
                    escape_fn=lambda msg, partial=partial: escape_fn(partial, msg)))
                try:
                    return tracer(*args, **kwargs)
                except NonlocalExit as exit_:
                    extensions = extend_fn(tracer.trace.copy(), exit_.site,
                                           num_samples=num_samples)
                    for extended in extensions:
                        queue.put(extended)
                    # Handlers outside (e.g. poutine.trace(poutine.queue(...))) forget the
                    # sites of the aborted attempt.
                    exit_.reset_stack()
            raise ValueError(f"poutine.queue: max_tries ({max_tries}) exceeded")

        return _fn

    return wrapper(fn) if fn is not None else wrapper
