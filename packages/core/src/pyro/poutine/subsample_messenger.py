"""Subsampled plates: the ``_Subsample`` site, log-density scaling, param subsampling."""
from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterator

import torch

from ..util import is_validation_enabled
from .indep_messenger import CondIndepStackFrame, IndepMessenger
from .runtime import _PYRO_STACK, apply_stack, new_message

_EMPTY = torch.Size()


class _Subsample(torch.distributions.Distribution):
    """Uniform distribution over subsets of ``range(size)`` of ``subsample_size``
    elements; the value of a subsampled plate's site. Its log density is 0 (constant),
    so it never enters an ELBO."""

    arg_constraints = {}

    def __init__(self, size: int, subsample_size: int | None, device=None) -> None:
        self.size = size
        self.subsample_size = size if subsample_size is None else subsample_size
        self.device = device
        # what Distribution.__init__(validate_args=False) sets (one per plate and step)
        self._batch_shape = self._event_shape = _EMPTY
        self._validate_args = False

    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        if sample_shape:
            raise NotImplementedError("_Subsample draws one subset at a time")
        n, k = self.size, self.subsample_size
        if k >= n:
            # the whole range, in order, drawing nothing (as Pyro 1.9)
            device = self.device
            return torch.arange(n) if device is None else torch.arange(n, device=device)
        # The first k of a uniform permutation: the draw Pyro 1.9 makes, so that a seed
        # gives the same indices and leaves the generator in the same state as Pyro's.
        # On a CPU the permutation does not depend on its dtype; int32 halves the memory
        # it shuffles (about 15% faster for n = 50000).
        if n < 2**31 and (self.device is None or torch.device(self.device).type == "cpu"):
            return torch.randperm(n, dtype=torch.int32, device=self.device)[:k].long()
        return torch.randperm(n, device=self.device)[:k]

    def __call__(self, sample_shape=torch.Size()) -> torch.Tensor:
        """Draw, as Pyro's distributions do when called."""
        return self.sample(sample_shape)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros((), device=x.device)


class SubsampleMessenger(IndepMessenger):
    """An :class:`IndepMessenger` over ``size`` elements that visits a subsample of them:
    ``subsample_size`` random indices, or the given ``subsample`` indices. Log densities
    inside are scaled by ``size / subsample_size`` so they estimate the full-data sum
    without bias.

    Attributes, as in Pyro: ``size`` is the number of elements (the full size),
    ``subsample_size`` the number visited (``size`` when not subsampled) and ``indices``
    the indices visited. The ``CondIndepStackFrame`` of a site inside has
    ``size=subsample_size`` (its batch size) and ``full_size=size``.

    Inside a handler stack each plate with a size is recorded as a sample site named after
    it (a plate's *subsample site*, distribution ``_Subsample``, value: the indices
    visited), as in Pyro: traces list their plates, and replaying a guide's trace gives
    the model the guide's subsample. A plate with no ``size`` takes its size from the
    distributions it meets (frame size -1) and records no site.

    :param str name: the plate's name (also its subsample site's).
    :param int size: the number of elements; ``None`` for a plate sized by its sites.
    :param int subsample_size: how many random elements to visit (default all).
    :param subsample: a 1-d tensor of the indices to visit.
    :param int dim: the batch dim (negative) of a vectorized plate.
    :param bool use_cuda: deprecated; ``device="cuda"``.
    :param device: the device of the indices.
    :raises ValueError: for sizes that are not non-negative ints, ``subsample_size``
        without ``size`` or disagreeing with ``subsample``.
    """

    def __init__(self, name: str | None = None, size: int | None = None,
                 subsample_size: int | None = None, subsample: torch.Tensor | None = None,
                 dim: int | None = None, use_cuda: bool | None = None,
                 device=None) -> None:
        if use_cuda is not None:
            warnings.warn("use_cuda= of a plate is deprecated; use device=", FutureWarning,
                          stacklevel=2)
            device = device or ("cuda" if use_cuda else "cpu")
        if size is None:
            if subsample is not None:
                size = len(subsample)
            elif subsample_size is not None:
                raise ValueError(f"plate {name!r}: subsample_size needs size=")
        super().__init__(name, size, dim, device)
        if subsample_size is not None and type(subsample_size) is not int and isinstance(
                subsample_size, numbers.Integral) and not isinstance(subsample_size, bool):
            subsample_size = int(subsample_size)  # e.g. numpy integers
        if subsample_size is not None and (
                not isinstance(subsample_size, int) or subsample_size < 0):
            raise ValueError(f"plate {name!r}: subsample_size must be a non-negative int, "
                             f"got {subsample_size!r}")
        if subsample is not None:
            subsample = torch.as_tensor(subsample)
            if subsample.dim() != 1:
                raise ValueError(f"plate {name!r}: subsample must be a 1-d index tensor, got "
                                 f"shape {tuple(subsample.shape)}")
            if subsample_size is not None and subsample_size != len(subsample):
                raise ValueError(f"plate {name!r}: subsample_size={subsample_size} disagrees with "
                                 f"len(subsample)={len(subsample)}")
            subsample_size = len(subsample)
        self._subsampled = (subsample is not None or
                            (subsample_size is not None and subsample_size < self.size))
        self._indices: torch.Tensor | None = None
        if self.size >= 0 and _PYRO_STACK:
            # A traced site, so that guide and model share the subsample (replay).
            msg = new_message("sample", name, _Subsample(self.size, subsample_size, device),
                              value=subsample)
            apply_stack(msg)
            drawn = msg["value"]
            if drawn is None:  # a handler stopped the site without giving it a value
                drawn = _Subsample(self.size, subsample_size, device).sample()
            self._subsampled = self._subsampled or drawn.shape[0] != self.size
            self._indices = subsample = drawn
        elif self._subsampled and subsample is None:
            subsample = _Subsample(self.size, subsample_size, device).sample()
        self.subsample_size = self.size
        if self._subsampled and subsample is not None:
            self._indices = subsample
            self.subsample_size = len(subsample)

    def _make_frame(self) -> CondIndepStackFrame:
        return CondIndepStackFrame(self.name, self.dim, self.subsample_size, self.counter,
                                   self.size)

    @property
    def indices(self) -> torch.Tensor | None:
        """The indices this plate visits, ``subsample_size`` of them (``arange(size)`` when
        not subsampled; ``None`` for a plate with no size)."""
        if self.size < 0:
            return None
        if self._indices is None:
            self._indices = torch.arange(self.size, device=self.device)
        return self._indices

    def __enter__(self):
        super().__enter__()
        return self.indices

    def _iter_indices(self) -> Iterator[int]:
        if self.size < 0:
            raise ValueError(f"plate {self.name!r} has no size: give size= to iterate over it")
        indices = self.indices
        if not self._subsampled or indices is None:
            return iter(range(self.size))
        return iter(indices.tolist())

    def _pyro_sample(self, msg) -> None:
        msg["cond_indep_stack"] = (self._frame,) + msg["cond_indep_stack"]
        if self._subsampled:
            msg["scale"] = msg["scale"] * (self.size / self.subsample_size)

    def _pyro_param(self, msg) -> None:
        msg["cond_indep_stack"] = (self._frame,) + msg["cond_indep_stack"]

    def _subsample_value(self, msg, what: str) -> None:
        # Tensors with batch semantics (params with event_dim=, pyro.subsample data) are
        # indexed by the plate's subsample along its dim.
        event_dim = msg["kwargs"].get("event_dim")
        if event_dim is None or self.dim is None:
            return
        value = msg["value"]
        dim = self.dim - event_dim
        if value.dim() < -dim or value.shape[dim] == 1:
            return
        if value.shape[dim] != self.size:
            if is_validation_enabled() and value.shape[dim] != self.subsample_size:
                raise ValueError(
                    f"Inside pyro.plate({self.name!r}, {self.size}, dim={self.dim}): "
                    f"{what} with event_dim={event_dim} has shape {tuple(value.shape)}, whose dim "
                    f"{dim} should have size {self.size} (or 1)"
                )
            return
        if self._subsampled:
            new_value = value.index_select(dim, self.indices)
            unconstrained = getattr(value, "unconstrained", None)
            if unconstrained is not None:
                new_value.unconstrained = unconstrained
            msg["value"] = new_value

    def _pyro_post_param(self, msg) -> None:
        self._subsample_value(msg, f"pyro.param({msg['name']!r}, ...)")

    def _pyro_post_subsample(self, msg) -> None:
        self._subsample_value(msg, "pyro.subsample(...)")


__all__ = ["CondIndepStackFrame", "SubsampleMessenger", "_Subsample"]
