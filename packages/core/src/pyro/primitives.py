"""The primitives of the language: sample, param, plate, module, factor, ..."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any, cast

import torch
from torch.distributions import constraints

from .params.module_params import store_named_parameters
from .params.param_store import param_with_module_name
from .poutine.broadcast_messenger import check_obs_shape
from .poutine.handlers import markov  # noqa: F401  (re-exported as pyro.markov)
from .poutine.messenger import Messenger
from .poutine.plate_messenger import PlateMessenger
from .poutine.replay_messenger import ReplayMessenger
from .poutine.runtime import (
    _PYRO_STACK,
    InferDict,
    Message,
    apply_stack,
    effectful,
    get_param_store,
    new_message,
    not_a_distribution_error,
)
from .poutine.trace_messenger import TraceMessenger
from .primitive_distributions import Delta, Unit
from .util import enable_validation, is_validation_enabled, validation_enabled  # noqa: F401


def sample(
    name: str,
    fn: Any,
    *args: Any,
    obs: torch.Tensor | None = None,
    obs_mask: torch.Tensor | None = None,
    infer: dict[str, Any] | None = None,
    **kwargs: Any,
) -> torch.Tensor:
    """Draw a random variable ``name`` from distribution ``fn`` (or observe it at ``obs``).

    :param str name: the site name, unique within one run of the model.
    :param fn: a ``torch.distributions.Distribution`` (any of ``pyro.distributions``).
    :param obs: observed data; the site's value and log-density argument. Must broadcast
        to ``fn.batch_shape + fn.event_shape`` (checked under validation).
    :param obs_mask: bool tensor marking which entries of ``obs`` are observed; the others
        are imputed (sampled) and scored as latent variables.
    :param dict infer: inference hints, e.g. ``{"enumerate": "parallel"}``.
    :returns: a tensor of shape ``fn.batch_shape + fn.event_shape`` (after plates).
    :raises TypeError: if a value must be drawn and ``fn`` is not a distribution.
    """
    if not _PYRO_STACK:
        # No handler: one draw, nothing recorded.
        if obs is not None and obs_mask is None:
            warnings.warn(f"trying to observe a value outside of inference at {name}",
                          RuntimeWarning, stacklevel=2)  # as Pyro warns: no handler sees it
            return obs
        try:
            value = fn.rsample(*args, **kwargs) if fn.has_rsample else fn.sample(*args, **kwargs)
        except (AttributeError, TypeError):
            if isinstance(fn, type) or not hasattr(fn, "log_prob"):
                raise not_a_distribution_error(name, fn) from None
            raise
        if obs is None or obs_mask is None:
            return value
        return torch.where(obs_mask, obs, value)
    if not isinstance(name, str):
        raise TypeError(f"pyro.sample expects a site name (str) first, got {type(name).__name__}")
    if obs_mask is not None and obs is not None:
        return _masked_observe(name, fn, obs, obs_mask, infer, args, kwargs)
    msg = new_message(
        "sample",
        name,
        fn,
        args,
        kwargs,
        value=obs,
        # infer={"is_observed": False} gives a latent site an initial value (reparameterizers)
        is_observed=obs is not None if infer is None else infer.get("is_observed", obs is not None),
        infer=None if infer is None else cast(InferDict, dict(infer)),
    )
    apply_stack(msg)
    if msg["is_observed"] and is_validation_enabled():
        check_obs_shape(msg)
    return _site_value(msg)


def _site_value(msg: Message) -> Any:
    # the value the handlers and the default effect gave the site (a tensor for sample and
    # param sites, whatever a handler substituted otherwise)
    return msg["value"]


def _masked_observe(name, fn, obs, obs_mask, infer, args, kwargs) -> torch.Tensor:
    # Partially observed data: observed entries scored as data, the rest imputed.
    if obs_mask.dtype != torch.bool:
        raise TypeError(
            f"pyro.sample({name!r}): obs_mask must be a bool tensor, got {obs_mask.dtype}"
        )
    from .poutine.mask_messenger import MaskMessenger

    with MaskMessenger(mask=obs_mask):
        observed = sample(f"{name}_observed", fn, *args, obs=obs, infer=infer, **kwargs)
    with MaskMessenger(mask=~obs_mask):
        unobserved = sample(f"{name}_unobserved", fn, *args, infer=infer, **kwargs)
    value = torch.where(obs_mask, observed, unobserved)
    return deterministic(name, value)


def param(
    name: str,
    init_tensor: torch.Tensor | None = None,
    constraint: constraints.Constraint = constraints.real,
    event_dim: int | None = None,
) -> torch.Tensor:
    """A learnable parameter ``name``, stored in the ParamStore.

    :param init_tensor: initial value (a tensor, or a callable returning one, called only
        when the parameter is new); ignored once the parameter exists.
    :param constraint: the set the value lives in; stored unconstrained.
    :param int event_dim: number of rightmost dims that are not batch dims; needed for a
        param inside a subsampled plate, which is then subsampled along the plate's dim.
    :returns: the constrained value.
    :raises KeyError: if the parameter does not exist and no ``init_tensor`` is given.
    Under validation, an ``init_tensor`` outside ``constraint`` is warned about (as in
    Pyro it is stored anyway).
    """
    store = get_param_store()
    if not _PYRO_STACK:
        return store.get_param(name, init_tensor, constraint, event_dim)
    msg = new_message(
        "param",
        name,
        store.get_param,
        (name, init_tensor),
        {"constraint": constraint, "event_dim": event_dim},
    )
    apply_stack(msg)
    return _site_value(msg)


class plate(PlateMessenger):
    """A conditionally independent set of ``size`` elements (a plate in graphical models).

    As a context manager it is vectorized: sample sites inside get a batch dim ``dim``
    (allocated right to left among the enclosing plates when not given) of size ``size``
    (or ``subsample_size``), and it yields the tensor of indices visited. As an iterator
    (``for i in pyro.plate(...)``) it is sequential and yields each index in turn.

    With ``subsample_size`` (random indices) or ``subsample`` (given indices) only part
    of the data is visited and log densities are scaled by ``size / subsample_size``.

    Example::

        with pyro.plate("data", len(data), subsample_size=100) as ind:
            pyro.sample("obs", dist.Normal(loc, 1.0), obs=data[ind])

        for i in pyro.plate("data_loop", len(data)):
            pyro.sample(f"obs_{i}", dist.Bernoulli(f), obs=data[i])

    :raises ValueError: if a distribution's batch shape disagrees with the plate size at
        the plate's dim (naming the site, plate, dim and shapes), or two enclosing
        plates ask for the same dim.
    """

    def __init__(
        self,
        name: str,
        size: int | None = None,
        subsample_size: int | None = None,
        subsample: torch.Tensor | None = None,
        dim: int | None = None,
        use_cuda: bool | None = None,
        device=None,
    ) -> None:
        super().__init__(name, size, subsample_size, subsample, dim, use_cuda, device)


@contextmanager
def plate_stack(prefix: str, sizes: Sequence[int], rightmost_dim: int = -1) -> Iterator[None]:
    """Nested plates ``prefix_0, prefix_1, ...`` covering the batch shape ``sizes``, the
    rightmost at ``rightmost_dim``."""
    with ExitStack() as stack:
        for i, size in enumerate(sizes):
            stack.enter_context(
                plate(f"{prefix}_{i}", size, dim=rightmost_dim - len(sizes) + 1 + i)
            )
        yield


def iarange(*args: Any, **kwargs: Any) -> plate:
    """Deprecated alias of :class:`plate` (Pyro 0.1-0.2)."""
    warnings.warn("pyro.iarange is deprecated; use pyro.plate instead", FutureWarning, stacklevel=2)
    return plate(*args, **kwargs)


def irange(*args: Any, **kwargs: Any) -> plate:
    """Deprecated alias of :class:`plate` used as an iterator (Pyro 0.1-0.2)."""
    warnings.warn("pyro.irange is deprecated; use pyro.plate instead", FutureWarning, stacklevel=2)
    return plate(*args, **kwargs)


def observe(name: str, fn: Any, obs: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    """Deprecated (Pyro 0.1): ``pyro.observe(name, fn, obs)`` is
    ``pyro.sample(name, fn, obs=obs)``."""
    warnings.warn(
        "pyro.observe is deprecated; use pyro.sample(name, fn, obs=obs)",
        FutureWarning,
        stacklevel=2,
    )
    return sample(name, fn, *args, obs=obs, **kwargs)


def factor(name: str, log_factor: torch.Tensor, *, has_rsample: bool | None = None) -> None:
    """Add ``log_factor`` (a tensor with the batch shape of the enclosing plates) to the
    model's log density, as an auxiliary observed site ``name``.

    In a guide, ``has_rsample`` tells whether ``log_factor`` is differentiable with
    respect to reparameterized draws (needed by the ELBOs)."""
    if not isinstance(log_factor, torch.Tensor):
        log_factor = torch.as_tensor(log_factor, dtype=torch.get_default_dtype())
    unit = Unit(log_factor, has_rsample=has_rsample)
    value = log_factor.new_empty(log_factor.shape + (0,))
    sample(name, unit, obs=value, infer={"is_auxiliary": True})


def deterministic(name: str, value: torch.Tensor, event_dim: int | None = None) -> torch.Tensor:
    """Record a deterministic function of other sites as site ``name`` (it adds nothing to
    the log density); returns ``value``. ``event_dim`` defaults to ``value.dim()``."""
    if not _PYRO_STACK:
        return value
    event_dim = value.dim() if event_dim is None else event_dim
    msg = new_message(
        "sample",
        name,
        Delta(value, event_dim=event_dim),
        value=value,
        is_observed=True,
        infer={"_deterministic": True},
    )
    msg["mask"] = False
    apply_stack(msg)
    return _site_value(msg)


def subsample(data: torch.Tensor, event_dim: int) -> torch.Tensor:
    """Index ``data`` by the subsamples of the enclosing subsampled plates, along each
    plate's dim (``event_dim`` rightmost dims are not batch dims). Lets a model written
    for all the data run on a minibatch."""
    if not _PYRO_STACK:
        return data
    msg = new_message(
        "subsample",
        None,
        lambda data, event_dim: data,
        (data,),
        {"event_dim": event_dim},
        value=data,
    )
    apply_stack(msg)
    return _site_value(msg)


def module(
    name: str, nn_module: torch.nn.Module, update_module_params: bool = False
) -> torch.nn.Module:
    """Register the parameters of ``nn_module`` in the ParamStore as ``name$$$param``
    (Pyro's ``pyro.module``), so an optimizer run by SVI trains them.

    Each parameter is a param site, seen by the handlers as :func:`param` would make it.
    Under plain tracing (SVI's ELBOs: ``trace`` and ``replay`` only) the sites go to the
    traces directly, without the round trip through every handler per parameter; the
    module's parameter names are remembered between calls while its tree is unchanged
    (:mod:`pyro.params.module_params`).

    :param bool update_module_params: make the module use the store's values (e.g. after
        ``ParamStoreDict.load``) instead of its own.
    :returns: the module.
    """
    if not isinstance(nn_module, torch.nn.Module):
        raise TypeError(
            f"pyro.module({name!r}, ...) expects a torch.nn.Module, got {type(nn_module).__name__}"
        )
    if not update_module_params:
        recorders = _param_recorders(_PYRO_STACK)
        if recorders is not None:
            _record_module_params(name, nn_module, recorders)
            return nn_module
    store = get_param_store()
    targets = {}
    for pname, full_name, p in store_named_parameters(name, nn_module):
        if update_module_params:
            # A stored value (e.g. loaded from disk) becomes an nn.Parameter *before* the
            # param site runs, so the tensor handlers record is the one the module uses.
            stored = store.get_unconstrained(full_name)
            if (
                stored is not None
                and not isinstance(stored, torch.nn.Parameter)
                and type(store.get_constraint(full_name)) is type(constraints.real)
            ):
                store.set_unconstrained(full_name, torch.nn.Parameter(stored.detach()))
        returned = param(full_name, p)
        if returned is not p:
            targets[pname] = returned
    if update_module_params:
        for pname, value in targets.items():
            owner_name, _, leaf = pname.rpartition(".")
            owner = nn_module.get_submodule(owner_name) if owner_name else nn_module
            # a store value, or a draw standing for the parameter (random_module's lift):
            # the module computes with it as it is, as in Pyro
            owner._parameters[leaf] = value  # type: ignore[assignment]
    return nn_module


# What a handler must have for a param message to pass it untouched (see
# _param_recorders): the hooks as this module is imported; Messenger.register or a patch
# that changes them sends param messages through apply_stack again.
_MESSENGER_HOOKS = (Messenger.process_message, Messenger.postprocess_message)
_TRACE_HOOKS = (TraceMessenger.process_message, TraceMessenger.postprocess_message)
_REPLAY_PARAM = ReplayMessenger._pyro_param
_INSTANCE_HOOKS = frozenset(("process_message", "postprocess_message", "_process_message",
                             "_postprocess_message", "_pyro_param", "_pyro_post_param"))


def _param_recorders(stack: list[Any]) -> list[TraceMessenger] | None:
    """The trace handlers on ``stack`` (outermost first) when no handler there can act on
    a param message but by recording it, else ``None``.

    Each handler must be a plain ``poutine.trace`` (recording), a ``poutine.replay`` of a
    trace only (no ``params=``), or a handler with no hook a param message reaches (the
    ``Messenger`` dispatch with no ``_pyro_param`` / ``_pyro_post_param``, e.g.
    ``poutine.condition``, ``scale``, ``mask``, which act on sample sites only). Plates
    (which add their frame), ``block``, ``lift``, ``substitute``, a subclass of trace or
    replay, a handler given a param hook later (``Messenger.register``)... give ``None``:
    param messages then go through :func:`~pyro.poutine.runtime.apply_stack`."""
    recorders = []
    for handler in stack:
        cls = type(handler)
        if not _INSTANCE_HOOKS.isdisjoint(getattr(handler, "__dict__", ())):
            return None
        hooks = (getattr(cls, "process_message", None), getattr(cls, "postprocess_message", None))
        if cls is TraceMessenger:
            if hooks != _TRACE_HOOKS:
                return None
            recorders.append(handler)
            continue
        if hooks != _MESSENGER_HOOKS or hasattr(cls, "_pyro_post_param"):
            return None
        hook = getattr(cls, "_pyro_param", None)
        if hook is None:
            continue
        if not (cls is ReplayMessenger and hook is _REPLAY_PARAM and handler.params is None):
            return None
    return recorders


def _record_module_params(
    name: str, nn_module: torch.nn.Module, recorders: list[TraceMessenger]
) -> None:
    """``pyro.module(name, nn_module)`` under the handlers of :func:`_param_recorders`:
    each parameter is read from (or put in) the store, and its param site shown to the
    recorders, as :func:`param` and :func:`~pyro.poutine.runtime.apply_stack` would."""
    get_param = get_param_store().get_param
    real = constraints.real
    for _, full_name, p in store_named_parameters(name, nn_module):
        value = get_param(full_name, p)
        if recorders:
            # the message of a param site once apply_stack has run it through handlers
            # that leave it alone: what param() sends, with the value the store gave
            msg = new_message("param", full_name, get_param, (full_name, p),
                              {"constraint": real, "event_dim": None}, value)
            msg["done"] = True
            for recorder in recorders:
                recorder.postprocess_message(msg)


def random_module(
    name: str, nn_module: torch.nn.Module, prior: Any, *args: Any, **kwargs: Any
) -> Callable[[], torch.nn.Module]:
    """A distribution over copies of ``nn_module`` whose parameters are drawn from
    ``prior`` (a distribution or a dict param name -> distribution): each call returns a
    fresh copy with sampled weights, as sites ``name$$$param`` (as in Pyro)."""
    from .poutine.lift_messenger import LiftMessenger

    warnings.warn(
        "pyro.random_module is deprecated; use pyro.nn.PyroModule with PyroSample",
        FutureWarning,
        stacklevel=2,
    )
    if isinstance(prior, dict):
        prior = {param_with_module_name(name, k): v for k, v in prior.items()}

    def _sampled_module() -> torch.nn.Module:
        copy_ = copy.deepcopy(nn_module)
        with LiftMessenger(prior=prior):
            return module(name, copy_, *args, **{"update_module_params": True, **kwargs})

    return _sampled_module


@effectful(type="barrier")
def barrier(data: torch.Tensor) -> torch.Tensor:
    """EXPERIMENTAL: make sure every value in ``data`` is ground (a concrete tensor), not a
    lazy value of an effect handler; the identity when no handler acts on ``"barrier"``
    messages. Meant for handlers that delay computation, such as Pyro's
    :func:`pyro.poutine.collapse`.

    :param data: a tensor, or a structure of tensors a handler knows how to ground.
    :returns: ``data`` (grounded by the handlers).
    """
    return data


def clear_param_store() -> None:
    """Remove every parameter from the global ParamStore."""
    get_param_store().clear()
