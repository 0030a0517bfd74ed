"""The effect-handler runtime: the message type, the handler stack and ``apply_stack``.

A primitive (``pyro.sample``, ``pyro.param``, ...) builds one :class:`Message` and hands it
to :func:`apply_stack`, which sends it down the stack of active :class:`Messenger` s
(innermost first, ``process_message``), applies the default behaviour (drawing a sample,
reading a param) unless a handler already did, then sends it back up
(``postprocess_message``, outermost first) through the same handlers.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypedDict

import torch

from ..params.param_store import ParamStoreDict, WeakTensorRef

# The active handlers, outermost first. Messengers push themselves on __enter__.
_PYRO_STACK: list[Any] = []

# The process-wide parameter store that pyro.param reads and writes.
_PYRO_PARAM_STORE: ParamStoreDict = ParamStoreDict()


class InferDict(TypedDict, total=False):
    """The ``infer`` dict of a site: hints to inference algorithms, set by the user
    (``pyro.sample(..., infer={...})``, :func:`~pyro.infer.config_enumerate`,
    ``poutine.infer_config``) or by handlers. Every key is optional.

    - ``enumerate`` (str): ``"parallel"`` or ``"sequential"`` enumeration of a discrete site.
    - ``expand`` (bool): whether enumerated values are expanded to the batch shape.
    - ``num_samples`` (int): draws per site instead of exact enumeration.
    - ``tmc`` (str): ``"diagonal"`` / ``"mixture"``, tensor Monte Carlo.
    - ``is_auxiliary`` (bool): an auxiliary site (``pyro.factor``, guide-side helpers) that
      is not matched between model and guide.
    - ``baseline`` (dict): variance-reduction baseline of a non-reparameterized site.
    - ``obs`` (Tensor) / ``was_observed`` (bool): the data of a site made latent by
      ``poutine.uncondition`` / reparameterizers.
    - ``prior`` (distribution): the prior that a handler replaced (reparameterizers).
    - ``_deterministic`` (bool): the site was made by ``pyro.deterministic``.
    - ``_enumerate_dim`` (int), ``_dim_to_id`` (dict), ``_markov_scope``, ``_enum_total``:
      bookkeeping of enumeration, set by ``poutine.enum`` / ``poutine.markov``.
    - ``_dim_to_symbol`` (dict), ``_enumerate_symbol`` (str): tensor-dim symbols set by
      :meth:`~pyro.poutine.trace_struct.Trace.symbolize_dims`.
    """

    enumerate: str
    expand: bool
    num_samples: int
    tmc: str
    is_auxiliary: bool
    baseline: dict[str, Any]
    obs: torch.Tensor | None
    was_observed: bool
    prior: Any
    _deterministic: bool
    _enumerate_dim: int
    _dim_to_id: dict[int, int]
    _markov_scope: Any
    _enum_total: int
    _dim_to_symbol: dict[int, str]
    _enumerate_symbol: str


class NonlocalExit(Exception):
    """Raised to leave a program at a site (by :class:`~pyro.poutine.EscapeMessenger`);
    ``site`` is that site's message."""

    def __init__(self, site: Message, *args: Any, **kwargs: Any) -> None:
        super().__init__(f"escaped at site {site.get('name')!r}", *args, **kwargs)
        self.site = site
        # (trace, its number of nodes when the escape was entered) for each trace
        # recorded by a handler outside the escape
        self.snapshot: list[tuple[Any, int]] = []

    def reset_stack(self) -> None:
        """Undo what the aborted execution left in the handlers still on the stack: the
        traces recorded by :func:`~pyro.poutine.trace` handlers outside the escape lose
        the sites added since the escape handler was entered, so the program can be run
        again under them (what :func:`~pyro.poutine.queue` does after each escape)."""
        for trace, num_nodes in self.snapshot:
            nodes = trace.nodes
            for name in list(nodes)[num_nodes:]:
                del nodes[name]
        self.snapshot = []


class Message(TypedDict, total=False):
    """The message sent through the handler stack for each effectful call.

    Keys (all present on messages made by Pyro's primitives):

    - ``type`` (str): ``"sample"``, ``"param"``, or the name of a custom effect.
    - ``name`` (str): the site name, unique within one execution for sample sites.
    - ``fn`` (callable): the distribution (sample sites) or the function computing the
      value (other sites).
    - ``args`` / ``kwargs``: positional / keyword arguments for ``fn``.
    - ``value`` (Tensor or None): the value of the site; set by the default process step,
      by ``obs=`` or by a handler (replay, condition, substitute).
    - ``is_observed`` (bool): whether ``value`` is data rather than a draw.
    - ``infer`` (:class:`InferDict`): inference hints (``"enumerate"``, ``"baseline"``...).
    - ``scale`` (float or Tensor): multiplier of the site's log density (plates, ``scale``).
    - ``mask`` (None, bool or bool Tensor): which log-density terms count (``mask`` handler).
    - ``cond_indep_stack`` (tuple of :class:`~pyro.poutine.indep_messenger.CondIndepStackFrame`):
      the enclosing plates, outermost first.
    - ``done`` (bool): set when a handler has computed ``value``; skips the default step.
    - ``stop`` (bool): set to stop the message going further down the stack.
    - ``continuation`` (callable or None): called with the message after the up pass.
    """

    type: str
    name: str | None
    fn: Callable
    args: tuple
    kwargs: dict
    value: torch.Tensor | None
    is_observed: bool
    infer: InferDict
    scale: float | torch.Tensor
    mask: None | bool | torch.Tensor
    cond_indep_stack: tuple
    done: bool
    stop: bool
    continuation: Callable[[Message], None] | None


def am_i_wrapped() -> bool:
    """Whether any effect handler is active."""
    return bool(_PYRO_STACK)


def get_param_store() -> ParamStoreDict:
    """The process-wide :class:`~pyro.params.param_store.ParamStoreDict`."""
    return _PYRO_PARAM_STORE


def not_a_distribution_error(name: str, fn: Any) -> TypeError:
    """The error for ``pyro.sample(name, fn)`` whose ``fn`` cannot be drawn from."""
    return TypeError(
        f"pyro.sample({name!r}, ...) expects a distribution (e.g. dist.Normal(0., 1.)) as its "
        f"second argument, got {type(fn).__name__}; to sample from a stochastic function, "
        f"call the function itself"
    )


def _draw(name, fn, args, kwargs):
    # Checked here, when a value must be drawn, not at pyro.sample: as in Pyro, a handler
    # may give the site its value from any ``fn`` (the effect-handlers tutorial's lazy
    # evaluation passes unevaluated expressions). Reparameterized draws keep gradients.
    if isinstance(fn, type) or not hasattr(fn, "log_prob"):
        raise not_a_distribution_error(name, fn)
    value = fn.rsample(*args, **kwargs) if fn.has_rsample else fn.sample(*args, **kwargs)
    try:
        # weak: a distribution kept across steps must not keep a draw (and its graph) alive
        fn._pyro_own_draw = (WeakTensorRef(value), value._version)
    except (AttributeError, TypeError):
        pass  # a distribution without instance attributes, or a draw that is not a tensor
    return value


def is_own_draw(fn: Any, value: Any) -> bool:
    """Whether ``value`` is the last draw of ``fn`` made by a sample site's default effect,
    not modified in place since: such a value lies in ``fn``'s support with ``fn``'s
    shapes, so checking it again (Pyro validates each site's value) cannot fail and is
    skipped."""
    entry = getattr(fn, "_pyro_own_draw", None)
    return entry is not None and entry[0]() is value and entry[1] == value._version


def default_process_message(msg: Message) -> None:
    """The default effect: compute ``msg["value"]`` unless a handler already did."""
    if msg["done"] or msg["is_observed"] or msg["value"] is not None:
        msg["done"] = True
        return
    if msg["type"] == "sample":
        msg["value"] = _draw(msg["name"], msg["fn"], msg["args"], msg["kwargs"])
    else:
        msg["value"] = msg["fn"](*msg["args"], **msg["kwargs"])
    msg["done"] = True


def apply_stack(initial_msg: Message) -> Message:
    """Send ``initial_msg`` down the handler stack, apply the default effect, send it back
    up; the message is updated in place and returned.

    Handlers are visited innermost first by ``process_message``; a handler that sets
    ``msg["stop"]`` hides the message from the handlers outside it. ``postprocess_message``
    then runs, outermost first, on the handlers that saw the message. Finally
    ``msg["continuation"]``, if set, is called with the message.
    """
    msg = initial_msg
    stack = _PYRO_STACK
    pointer = 0
    for frame in reversed(stack):
        pointer += 1
        frame.process_message(msg)
        if msg["stop"]:
            break
    default_process_message(msg)
    for frame in stack[len(stack) - pointer:]:
        frame.postprocess_message(msg)
    cont = msg["continuation"]
    if cont is not None:
        cont(msg)
    return msg


def new_message(type: str, name: str | None, fn: Callable, args: tuple = (),
                kwargs: dict | None = None, value=None, is_observed: bool = False,
                infer: InferDict | None = None) -> Message:
    """A message with every key of :class:`Message` set to its default."""
    return {
        "type": type,
        "name": name,
        "fn": fn,
        "args": args,
        "kwargs": {} if kwargs is None else kwargs,
        "value": value,
        "is_observed": is_observed,
        "infer": {} if infer is None else infer,
        "scale": 1.0,
        "mask": None,
        "cond_indep_stack": (),
        "done": False,
        "stop": False,
        "continuation": None,
    }


def effectful(fn: Callable | None = None, type: str | None = None) -> Callable:
    """Make ``fn`` an effectful primitive of message type ``type``: outside any handler it
    is called directly; inside, each call sends a message through the stack. The wrapped
    function accepts an optional ``name=`` keyword naming the site.

    Example::

        @effectful(type="my_effect")
        def my_op(x):
            return 2 * x
    """
    if fn is None:
        return functools.partial(effectful, type=type)
    if type is None:
        raise ValueError("effectful needs type=, the message type handlers dispatch on")

    @functools.wraps(fn)
    def _fn(*args, name=None, infer=None, obs=None, **kwargs):
        if not _PYRO_STACK:
            return fn(*args, **kwargs) if obs is None else obs
        msg = new_message(type, name, fn, args, kwargs, value=obs,
                          is_observed=obs is not None, infer=infer)
        apply_stack(msg)
        return msg["value"]

    return _fn


def _no_value() -> None:
    return None


def get_plates() -> tuple:
    """The plates enclosing the caller, as a tuple of
    :class:`~pyro.poutine.indep_messenger.CondIndepStackFrame` (outermost first): what a
    sample site made here would record in its ``cond_indep_stack``. Handlers that hide
    sites (``poutine.block``) hide the plates outside them too."""
    if not _PYRO_STACK:
        return ()
    msg = new_message("plate", None, _no_value)
    apply_stack(msg)
    return msg["cond_indep_stack"]


def get_mask() -> None | bool | torch.Tensor:
    """The mask of the enclosing :func:`~pyro.poutine.mask` handlers (``None`` when there
    is none): lets a model skip a costly log density that would be masked out anyway,
    e.g. during prediction::

        if poutine.get_mask() is not False:
            pyro.factor("foo", expensive_log_density())

    :returns: ``None``, a bool, or a bool tensor (the conjunction of the masks).
    """
    if not _PYRO_STACK:
        return None
    msg = new_message("mask", None, _no_value)
    apply_stack(msg)
    return msg["mask"]
