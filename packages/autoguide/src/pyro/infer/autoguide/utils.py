"""Small helpers shared by the autoguides: :func:`deep_setattr`,
:func:`helpful_support_errors` and :func:`mean_field_entropy`."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

from pyro import poutine
from pyro.poutine.util import site_is_subsample

__all__ = ["deep_setattr", "helpful_support_errors", "mean_field_entropy"]


def deep_setattr(obj: Any, key: str, val: Any) -> None:
    """Set the attribute ``key`` of ``obj``, where ``key`` may be dotted (``"a.b.c"``);
    missing intermediate attributes are created as empty :class:`~pyro.nn.PyroModule`\\ s
    (so parameters set this way are registered in a module tree).

    :param obj: the root object (typically a ``torch.nn.Module``).
    :param str key: the attribute path.
    :param val: the value to set at the end of the path.
    """
    from pyro.nn import PyroModule  # pyro-nn: a dependency of pyro-autoguide

    *prefix, last = key.split(".")
    for part in prefix:
        child = getattr(obj, part, None)
        if child is None:
            child = PyroModule()
            setattr(obj, part, child)
        obj = child
    setattr(obj, last, val)


@contextmanager
def helpful_support_errors(site: dict) -> Iterator[None]:
    """A context manager around ``biject_to(site["fn"].support)`` (and similar) that turns
    the bare ``NotImplementedError`` of a support with no bijection to real space into a
    ``ValueError`` naming the site and saying what to do (enumerate a discrete site and
    hide it from the autoguide, or write a custom guide for it).

    :param dict site: a trace site (``name`` and ``fn`` are read).
    :raises ValueError: as described, chained to the original error.
    """
    try:
        yield
    except NotImplementedError as e:
        name = site.get("name")
        fn = site.get("fn")
        support = getattr(fn, "support", None)
        if support is not None and getattr(support, "is_discrete", False):
            raise ValueError(
                f"Continuous inference cannot handle discrete sample site {name!r} (support "
                f"{support}). Consider enumerating it (see "
                f"https://pyro.ai/examples/enumeration.html, TraceEnum_ELBO with "
                f"config_enumerate); if you already enumerate it, hide it when building the "
                f"autoguide, e.g. guide = AutoNormal(poutine.block(model, hide=[{name!r}]))"
            ) from e
        raise ValueError(
            f"Autoguides cannot handle sample site {name!r}: its support {support} has no "
            f"bijection to real space (biject_to is not registered for it). Write a custom "
            f"guide for this site (e.g. with AutoGuideList), or register a transform with "
            f"torch.distributions.biject_to.register"
        ) from e


def mean_field_entropy(model: Callable, args: tuple,
                       whitelist: Iterable[str] | None = None) -> torch.Tensor:
    """The entropy of ``model`` (run once with ``*args``) assuming all its sample sites
    are independent (mean field): the sum of the sites' ``fn.entropy()``.

    As in Pyro, observed sites count too (the model is typically a guide), plate
    subsample sites do not, and the per-site entropies are added elementwise with
    broadcasting (sites in the same plates give one entropy per plate element).

    :param model: a callable with Pyro sample sites whose distributions have
        ``entropy()``.
    :param tuple args: the positional arguments of ``model``.
    :param whitelist: if given, only the sites named in it are included.
    :returns: a tensor (broadcast shape of the sites' entropies).
    :raises ValueError: if two sites' entropy shapes do not broadcast (name them).
    """
    trace = poutine.trace(model).get_trace(*args)
    keep = None if whitelist is None else set(whitelist)
    entropy: Any = 0.0
    shape_from = None
    for name, site in trace.nodes.items():
        if site["type"] != "sample" or site_is_subsample(site):
            continue
        if keep is not None and name not in keep:
            continue
        term = site["fn"].entropy()
        try:
            entropy = entropy + term
        except RuntimeError as e:
            raise ValueError(
                f"mean_field_entropy: the entropy of site {name!r} has shape "
                f"{tuple(term.shape)}, which does not broadcast with the shape "
                f"{tuple(entropy.shape)} of the sites before it (from {shape_from!r}); pass "
                f"whitelist= to take sites of compatible shapes"
            ) from e
        shape_from = name
    if not isinstance(entropy, torch.Tensor):
        entropy = torch.tensor(float(entropy))
    return entropy


def check_init_scale(owner: str, init_scale: Any) -> float:
    """``init_scale`` as a float, or ``ValueError`` naming ``owner`` (a guide class) unless
    it is a positive number (``bool`` is refused, as in Pyro)."""
    if isinstance(init_scale, bool) or not isinstance(init_scale, (int, float)) or \
            not init_scale > 0:
        raise ValueError(f"{owner}: init_scale must be a positive number, got {init_scale!r}")
    return float(init_scale)
