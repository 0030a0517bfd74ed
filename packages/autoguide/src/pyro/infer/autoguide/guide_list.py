"""Composite guides: :class:`AutoGuideList` (one guide made of parts, each guiding some of
the model's latent sites) and :class:`AutoCallable` (a hand-written guide as a part)."""
from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

import torch

from pyro import poutine
from pyro.poutine.trace_messenger import TraceMessenger
from pyro.poutine.util import site_is_subsample
from pyro.util import get_rng_state, set_rng_state

from .continuous import AutoContinuous
from .guides import AutoGuide

__all__ = ["AutoCallable", "AutoGuideList"]


def _latent_values(trace) -> dict[str, torch.Tensor]:
    return {
        name: site["value"]
        for name, site in trace.nodes.items()
        if site["type"] == "sample" and not site["is_observed"]
        and not site_is_subsample(site) and not site["infer"].get("is_auxiliary")
    }


class AutoCallable(AutoGuide):
    """A hand-written guide used as a part of an :class:`AutoGuideList` (``append``
    wraps plain callables in it).

    Calling it runs ``guide(*args, **kwargs)`` and returns ``{name: value}`` of the latent
    sample sites it drew, updated with the guide's return value when that is a dict.

    :param model: the model.
    :param guide: the guide (a callable with Pyro primitives).
    :param median: optional ``(*args, **kwargs) -> {name: value}`` giving the part's
        posterior medians (default: the part contributes none).
    :param quantiles: optional ``(quantiles, *args, **kwargs) -> {name: tensor}``
        (default: the part contributes none).
    """

    def __init__(self, model: Callable, guide: Callable,
                 median: Callable | None = None,
                 quantiles: Callable | None = None) -> None:
        if not callable(guide):
            raise ValueError(f"AutoCallable expects a guide (callable), got "
                             f"{type(guide).__name__}")
        super().__init__(model, prefix=getattr(guide, "__name__", "AutoCallable"))
        self._guide = guide
        self._median = median
        self._quantiles = quantiles

    def _ensure_setup(self, args, kwargs) -> None:
        # a hand-written guide needs no prototype trace
        return None

    def forward(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        """Run the guide; returns its latent sample sites (and its dict return value)."""
        with TraceMessenger() as tracer:
            returned = self._guide(*args, **kwargs)
        result = _latent_values(tracer.trace)
        if isinstance(returned, dict):
            result.update(returned)
        return result

    def median(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        """The ``median`` callable's result (``{}`` without one)."""
        return {} if self._median is None else dict(self._median(*args, **kwargs))

    def quantiles(self, quantiles: Sequence[float] | torch.Tensor, *args,
                  **kwargs) -> dict[str, torch.Tensor]:
        """The ``quantiles`` callable's result (``{}`` without one)."""
        if self._quantiles is None:
            return {}
        return dict(self._quantiles(quantiles, *args, **kwargs))


class AutoGuideList(AutoGuide):
    """A guide made of parts, each guiding some latent sites of the same model::

        guide = AutoGuideList(model)
        guide.append(AutoDelta(poutine.block(model, expose=["a"])))
        guide.append(AutoDiagonalNormal(poutine.block(model, hide=["a"])))

    Calling it calls every part in order and returns the merged ``{name: value}``;
    :meth:`median` and :meth:`quantiles` merge the parts' answers. Plates are created once
    per call by the list and shared by all parts, so parts with local latents in the same
    subsampled plate visit the same subsample. ``guide[i]`` is the ``i``-th part.

    :param model: the model (the parts usually guide blocked versions of it).
    :param create_plates: see :class:`~pyro.infer.autoguide.AutoGuide`.
    :param str prefix: the list's name (default ``"AutoGuideList"``); the parts keep
        their own prefixes.
    :raises ValueError: (at the first call) when two parts guide the same site, or a part
        guides a site that the model does not sample (or with another shape).
    """

    def __init__(self, model: Callable, *, create_plates: Callable | None = None,
                 prefix: str | None = None) -> None:
        super().__init__(model, create_plates=create_plates, prefix=prefix)
        self._parts = torch.nn.ModuleList()
        self.plates: dict[str, Any] | None = None
        self._parts_ready = False

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for part in self._each():
            part._master = weakref.ref(self)

    # ------------------------------------------------------------ container

    def append(self, part: AutoGuide | Callable) -> None:
        """Add a part: an :class:`~pyro.infer.autoguide.AutoGuide` or a callable custom
        guide (wrapped in :class:`AutoCallable`).

        :raises RuntimeError: if the part already belongs to an AutoGuideList.
        :raises ValueError: if two AutoContinuous parts share a prefix (their parameters
            and latent site would collide; pass ``prefix=`` to one).
        """
        if not isinstance(part, AutoGuide):
            if not callable(part):
                raise TypeError(f"AutoGuideList.append expects an AutoGuide or a callable "
                                f"guide, got {type(part).__name__}")
            part = AutoCallable(self.model, part)
        if isinstance(part, AutoGuideList):
            raise TypeError("AutoGuideList.append: nested AutoGuideLists are not supported; "
                            "append their parts instead")
        if part._master is not None:
            raise RuntimeError(f"{type(part).__name__} (prefix {part.prefix!r}) is already a "
                               f"part of an AutoGuideList")
        if isinstance(part, AutoContinuous):
            for other in self._parts:
                if isinstance(other, AutoContinuous) and other.prefix == part.prefix:
                    raise ValueError(
                        f"AutoGuideList.append: two AutoContinuous parts share the prefix "
                        f"{part.prefix!r}, so their parameters would collide; give one "
                        f"another prefix (e.g. {type(part).__name__}(model, "
                        f"prefix={part.prefix + '_' + str(len(self._parts))!r}))"
                    )
        part._master = weakref.ref(self)
        self._parts.append(part)
        self._parts_ready = False

    def add(self, part: AutoGuide | Callable) -> None:
        """Alias of :meth:`append` (Pyro's older name)."""
        self.append(part)

    def _each(self) -> list[AutoGuide]:
        """The parts (held by a ``ModuleList``, which registers their parameters but types
        its items as plain modules)."""
        return cast("list[AutoGuide]", list(self._parts))

    def __len__(self) -> int:
        return len(self._parts)

    def __getitem__(self, index: int) -> AutoGuide:
        return self._each()[index]

    def __iter__(self) -> Iterator[AutoGuide]:
        return iter(self._each())

    # ---------------------------------------------------------------- setup

    def _setup_prototype(self, *args, **kwargs) -> None:
        """Trace the whole model once (hidden) to check the parts against it."""
        with poutine.block():
            self.prototype_trace = poutine.trace(self.model).get_trace(*args, **kwargs)

    def _setup_parts(self, args, kwargs) -> None:
        if not self._parts:
            raise ValueError("AutoGuideList has no parts; append guides first")
        rng = get_rng_state()  # restored below if every part's parameters exist
        if self.prototype_trace is None:
            self._setup_prototype(*args, **kwargs)
        model_sites = _latent_values(self.prototype_trace)
        owner: dict[str, int] = {}
        frames: dict[str, Any] = {}
        for i, part in enumerate(self._each()):
            if isinstance(part, AutoCallable):
                continue
            part._ensure_setup(args, kwargs)
            for site in part._sites:
                name = site.name
                if name in owner:
                    raise ValueError(
                        f"AutoGuideList: site {name!r} is guided by part {owner[name]} "
                        f"({type(self._each()[owner[name]]).__name__}) and part {i} "
                        f"({type(part).__name__}); hide it from one of them with "
                        f"poutine.block"
                    )
                if name not in model_sites:
                    raise ValueError(f"AutoGuideList: part {i} ({type(part).__name__}) guides "
                                     f"site {name!r}, which is not a latent site of the model")
                shape = model_sites[name].shape
                if site.shape != shape:
                    raise ValueError(
                        f"AutoGuideList: part {i} ({type(part).__name__}) sees site {name!r} "
                        f"with shape {tuple(site.shape)}, the model with shape {tuple(shape)}"
                    )
                owner[name] = i
            frames.update(part._prototype_frames)
        self._prototype_frames = frames
        self._parts_ready = True
        autos = [part for part in self._each() if not isinstance(part, AutoCallable)]
        if autos and all(part._params_exist() for part in autos):
            set_rng_state(rng)  # resuming: setting up consumed no randomness

    def _ensure_setup(self, args, kwargs) -> None:
        if not self._parts_ready:
            self._setup_parts(args, kwargs)

    # ------------------------------------------------------------------ API

    def forward(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        """Call every part (sharing this list's plates); returns the merged
        ``{name: value}``."""
        if not self._parts_ready:
            self._setup_parts(args, kwargs)
        if self._prototype_frames or self.create_plates is not None:
            self.plates = self._create_plates(*args, **kwargs)
        try:
            result: dict[str, torch.Tensor] = {}
            for part in self._each():
                result.update(part(*args, **kwargs))
        finally:
            self.plates = None
        return result

    def median(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        """The parts' medians, merged into one ``{name: value}``."""
        self._ensure_setup(args, kwargs)
        result: dict[str, torch.Tensor] = {}
        for part in self._each():
            result.update(part.median(*args, **kwargs))
        return result

    def quantiles(self, quantiles: Sequence[float] | torch.Tensor, *args,
                  **kwargs) -> dict[str, torch.Tensor]:
        """The parts' quantiles, merged: ``{name: tensor (len(quantiles),) + shape}``.

        :raises TypeError: if a part has no ``quantiles`` method.
        """
        self._ensure_setup(args, kwargs)
        result: dict[str, torch.Tensor] = {}
        for i, part in enumerate(self._each()):
            method = getattr(part, "quantiles", None)
            if method is None:
                raise TypeError(f"AutoGuideList.quantiles: part {i} ({type(part).__name__}) "
                                f"has no quantiles() method")
            result.update(method(quantiles, *args, **kwargs))
        return result
