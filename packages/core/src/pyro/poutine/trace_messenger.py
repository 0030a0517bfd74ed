"""``poutine.trace``: record every site of an execution in a :class:`Trace`."""
from __future__ import annotations

from typing import Any, Callable, Optional

from .messenger import Messenger
from .trace_struct import Trace


class TraceMessenger(Messenger):
    """Record the sites of ``fn`` into ``self.trace``.

    Sample and param sites (and custom effects) become nodes keyed by site name; when
    used as a wrapper, an ``"_INPUT"`` node (``type="args"``) and a ``"_RETURN"`` node
    (``type="return"``) record the call. With ``param_only=True`` only param sites are
    recorded (what SVI needs to find the parameters to optimize).

    Example::

        tr = poutine.trace(model).get_trace(data)
        tr.log_prob_sum()

        with poutine.trace() as tracer:
            model(data)
        tracer.trace.nodes["z"]["value"]
    """

    def __init__(self, fn: Optional[Callable] = None, graph_type: Optional[str] = None,
                 param_only: Optional[bool] = None) -> None:
        super().__init__(fn)
        self.graph_type = graph_type or "flat"
        self.param_only = bool(param_only)
        self.trace = Trace(self.graph_type)

    def __enter__(self):
        self.trace = Trace(self.graph_type)
        return super().__enter__()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.fn is None:
            return super().__call__(*args, **kwargs)
        with self:
            nodes = self.trace.nodes
            nodes["_INPUT"] = {"name": "_INPUT", "type": "args", "args": args, "kwargs": kwargs}
            ret = self.fn(*args, **kwargs)
            nodes["_RETURN"] = {"name": "_RETURN", "type": "return", "value": ret}
        return ret

    def get_trace(self, *args: Any, **kwargs: Any) -> Trace:
        """Run ``fn(*args, **kwargs)`` and return its trace."""
        self(*args, **kwargs)
        return self.trace

    def process_message(self, msg) -> None:
        pass

    def postprocess_message(self, msg) -> None:
        if self.param_only and msg["type"] != "param":
            return
        name = msg["name"]
        if name is None:
            return
        self.trace.add_node(name, **msg)
