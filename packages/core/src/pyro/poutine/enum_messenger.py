"""``poutine.enum``: parallel enumeration of discrete sample sites."""
from __future__ import annotations

from collections.abc import Callable

import torch

from ..params.param_store import WeakTensorRef
from .messenger import Messenger

__all__ = ["EnumMessenger", "enumerate_site", "free_enum_dim"]


def enumerate_site(msg) -> torch.Tensor:
    """The values a sample site marked for enumeration takes: its distribution's
    ``enumerate_support(expand=False)``, of shape ``(K,) + (1,) * len(batch_shape) +
    event_shape`` (torch's convention).
    :class:`EnumMessenger` then moves ``K`` to a fresh enumeration dim.

    :raises ValueError: naming the site when its distribution has no finite support, or
        when it asks for Monte Carlo enumeration (``infer={"num_samples": ...}``), which
        this project does not support (sum the site out exactly instead).
    """
    name = msg["name"]
    fn = msg["fn"]
    # (Monte Carlo enumeration is asked for continuous sites too, e.g. by
    # config_enumerate(guide, num_samples=K): that request is what is refused)
    if msg["infer"].get("num_samples") is not None:
        raise ValueError(
            f"site {name!r}: Monte Carlo enumeration (infer={{'num_samples': ...}}) is not "
            f"supported by enumeration here; use TraceTMC_ELBO, which draws num_samples "
            f"values of such sites, or drop num_samples to sum a discrete site out exactly"
        )
    if not getattr(fn, "has_enumerate_support", False):
        raise ValueError(
            f"site {name!r} is marked for enumeration but {type(fn).__name__} has no finite "
            f"support; remove infer={{'enumerate': ...}} from it (config_enumerate only "
            f"marks discrete sites)"
        )
    return fn.enumerate_support(expand=False)


def free_enum_dim(batch_shape: torch.Size, used: set[int], first_available_dim: int) -> int:
    """The rightmost dim at or left of ``first_available_dim`` that is neither in ``used``
    (the dims of enumerated variables in scope) nor a non-singleton dim of ``batch_shape``
    (dims the distribution already depends on: upstream variables)."""
    used = set(used)
    for d in range(-len(batch_shape), first_available_dim + 1):
        if batch_shape[d] != 1:
            used.add(d)
    dim = first_available_dim
    while dim in used:
        dim -= 1
    return dim


class EnumMessenger(Messenger):
    """Enumerate in parallel every latent sample site marked
    ``infer={"enumerate": "parallel"}`` (see ``pyro.infer.config_enumerate``).

    Such a site's value is its whole support, ``fn.enumerate_support(expand=False)``,
    reshaped so that the support lies along a fresh batch dim at or left of
    ``first_available_dim`` (left of every plate: ``-1 - max_plate_nesting``). Downstream
    sites then carry that dim in their batch shapes, and an ELBO sums it out exactly.

    Inside :func:`pyro.markov` contexts, dims are recycled: a new variable may reuse the
    dim of a variable more than ``history`` steps back. Each enumerated site records in
    its ``infer`` dict ``_enumerate_dim`` (its dim) and ``_dim_to_id`` (for every
    enumeration dim visible at the site, a unique id of the variable using it), so that
    an algorithm tells variables apart when dims are reused. Every other sample site
    seen after the first enumerated one records ``_dim_to_id`` too: the variable that
    last received each dim, i.e. the one its log density depends on along that dim.
    """

    def __init__(self, fn: Callable | None = None,
                 first_available_dim: int | None = None) -> None:
        super().__init__(fn)
        if first_available_dim is not None and (not isinstance(first_available_dim, int)
                                                or first_available_dim >= 0):
            raise ValueError(f"poutine.enum: first_available_dim must be a negative int, got "
                             f"{first_available_dim!r}")
        self.first_available_dim = first_available_dim
        self._reset()

    def _reset(self) -> None:
        self._dims: dict[str, int] = {}       # site name -> enumeration dim
        self._ids: dict[str, int] = {}        # site name -> unique variable id
        self._in_markov: set = set()          # sites enumerated inside a markov context
        self._current: dict[int, int] = {}    # dim -> id of the variable last given it

    def __enter__(self):
        self._reset()
        return super().__enter__()

    def _pyro_sample(self, msg) -> None:
        if msg["done"] or msg["is_observed"] or msg["infer"].get("enumerate") != "parallel":
            if self._current or "_dim_to_id" in msg["infer"]:
                # which variable each enumeration dim of this site's log density stands for
                # (replacing a map copied from another program, e.g. a replayed guide)
                msg["infer"] = {**msg["infer"], "_dim_to_id": dict(self._current)}
            return
        name = msg["name"]
        fn = msg["fn"]
        support = enumerate_site(msg)
        if self.first_available_dim is None:
            raise ValueError(
                f"site {name!r} is marked for parallel enumeration but poutine.enum has no "
                f"first_available_dim; use TraceEnum_ELBO(max_plate_nesting=...) or "
                f"poutine.enum(fn, first_available_dim=-1 - max_plate_nesting)"
            )
        scope = msg["infer"].get("_markov_scope")
        visible = {n: d for n, d in self._dims.items()
                   if scope is None or n not in self._in_markov or n in scope}
        batch_shape = fn.batch_shape
        dim = free_enum_dim(batch_shape, set(visible.values()), self.first_available_dim)
        # The support along `dim`, singleton elsewhere (upstream enumeration dims of the
        # distribution's batch shape may lie left of `dim`).
        event_shape = fn.event_shape
        value = support.reshape(support.shape[:1] + (1,) * (-1 - dim) + event_shape)
        if msg["infer"].get("expand", False):
            batch = torch.broadcast_shapes(value.shape[:value.dim() - len(event_shape)],
                                           batch_shape)
            value = value.expand(batch + event_shape)
        self._dims[name] = dim
        self._ids[name] = len(self._ids)
        self._current[dim] = self._ids[name]
        if scope is not None:
            self._in_markov.add(name)
        dim_to_id = {d: self._ids[n] for n, d in visible.items()}
        dim_to_id[dim] = self._ids[name]
        msg["infer"] = {**msg["infer"], "_enumerate_dim": dim, "_dim_to_id": dim_to_id}
        msg["value"] = value
        msg["done"] = True
        _mark_enumerated(fn, value)


def _mark_enumerated(fn, value: torch.Tensor) -> None:
    # The values of a torch family's own enumerate_support lie in its support, and the
    # reshape above keeps them broadcastable with its shapes: recorded as the family's
    # own draw (pyro.poutine.runtime.is_own_draw), the site's log density skips checking
    # them again. Distributions with an enumerate_support of their own are checked.
    method = getattr(type(fn), "enumerate_support", None)
    if not getattr(method, "__module__", "").startswith("torch.distributions."):
        return
    try:
        fn._pyro_own_draw = (WeakTensorRef(value), value._version)
    except (AttributeError, TypeError):
        pass  # a distribution without instance attributes
