"""``poutine.trace``: record every site of an execution in a :class:`Trace`."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .messenger import Messenger
from .trace_struct import Trace
from .util import site_is_subsample


def identify_dense_edges(trace: Trace) -> None:
    """Add to ``trace`` the edges of a dense dependency graph: an edge from every sample
    site to each later one, except between sites in different iterations of one
    sequential plate (which are conditionally independent). Plate subsample sites take
    no part. Used by ``graph_type="dense"`` traces (e.g. TraceGraph_ELBO's
    Rao-Blackwellization)."""
    seen: list = []  # (name, {plate name: counter}) of earlier sample sites
    for name, site in trace.nodes.items():
        if site.get("type") != "sample" or site_is_subsample(site):
            continue
        counters = {f.name: f.counter for f in site["cond_indep_stack"]}
        for past_name, past_counters in seen:
            if not any(counters.get(plate, counter) != counter
                       for plate, counter in past_counters.items()):
                trace.add_edge(past_name, name)
        seen.append((name, counters))


class TraceMessenger(Messenger):
    """Record the sites of ``fn`` into ``self.trace``.

    Sample and param sites (and custom effects) become nodes keyed by site name; when
    used as a wrapper, an ``"_INPUT"`` node (``type="args"``) and a ``"_RETURN"`` node
    (``type="return"``) record the call. With ``param_only=True`` only param sites are
    recorded (what SVI needs to find the parameters to optimize). With
    ``graph_type="dense"`` the trace also holds the dependency edges of
    :func:`identify_dense_edges`.

    Example::

        tr = poutine.trace(model).get_trace(data)
        tr.log_prob_sum()

        with poutine.trace() as tracer:
            model(data)
        tracer.trace.nodes["z"]["value"]
    """

    def __init__(self, fn: Callable | None = None, graph_type: str | None = None,
                 param_only: bool | None = None) -> None:
        super().__init__(fn)
        self.graph_type = graph_type or "flat"
        self.param_only = bool(param_only)
        self.trace = Trace(self.graph_type)

    def __enter__(self):
        self.trace = Trace(self.graph_type)
        return super().__enter__()

    def __exit__(self, *args: Any) -> None:
        if self.graph_type == "dense" and args[0] is None:
            identify_dense_edges(self.trace)
        return super().__exit__(*args)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.fn is None:
            if len(args) == 1 and not kwargs and callable(args[0]):
                return TraceHandler(self, args[0])
            return super().__call__(*args, **kwargs)  # its error message
        return TraceHandler(self, self.fn)(*args, **kwargs)

    def get_trace(self, *args: Any, **kwargs: Any) -> Trace:
        """Run ``fn(*args, **kwargs)`` and return its trace (with no ``fn``, the trace
        recorded by the last ``with`` block)."""
        if self.fn is not None:
            self(*args, **kwargs)
        return self.trace

    def process_message(self, msg) -> None:
        pass  # records on the way up only; no per-message dispatch on the hot path

    def postprocess_message(self, msg) -> None:
        if self.param_only and msg["type"] != "param":
            return
        name = msg["name"]
        if name is None:
            return
        nodes = self.trace.nodes
        if name in nodes:
            self.trace.add_node(name, **msg)  # its duplicate-name rules
        else:
            nodes[name] = msg.copy()  # what add_node stores: a shallow copy of the message


class TraceHandler:
    """``fn`` run under the :class:`TraceMessenger` ``msngr``: what both
    ``poutine.trace(fn)`` and ``poutine.trace()(fn)`` return. Each call records a fresh
    trace with ``"_INPUT"`` (the arguments) and ``"_RETURN"`` (the return value) nodes."""

    def __init__(self, msngr: TraceMessenger, fn: Callable) -> None:
        self.fn = fn
        self.msngr = msngr
        functools.update_wrapper(self, fn, updated=())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self.msngr:
            nodes = self.msngr.trace.nodes
            nodes["_INPUT"] = {"name": "_INPUT", "type": "args", "args": args, "kwargs": kwargs}
            ret = self.fn(*args, **kwargs)
            nodes["_RETURN"] = {"name": "_RETURN", "type": "return", "value": ret}
        return ret

    @property
    def trace(self) -> Trace:
        """The trace of the last call."""
        return self.msngr.trace

    def get_trace(self, *args: Any, **kwargs: Any) -> Trace:
        """Run ``fn(*args, **kwargs)`` and return its :class:`Trace`."""
        self(*args, **kwargs)
        return self.msngr.trace
