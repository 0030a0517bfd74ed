"""Conditional independence: plate frames, tensor-dim allocation, ``IndepMessenger``."""
from __future__ import annotations

import numbers
from collections.abc import Iterator
from typing import NamedTuple

import torch

from .messenger import Messenger


class CondIndepStackFrame(NamedTuple):
    """One enclosing plate of a site: its ``name``, tensor ``dim`` (negative; ``None`` for
    a sequential plate), ``size`` (the subsample size when subsampled), ``counter``
    (iteration of a sequential plate) and ``full_size`` (the size before subsampling)."""

    name: str
    dim: int | None
    size: int
    counter: int
    full_size: int | None = None

    @property
    def vectorized(self) -> bool:
        return self.dim is not None


class _DimAllocator:
    """Gives each vectorized plate a batch dim (-1, -2, ... leftwards) that no enclosing
    plate uses; a plate's dim is freed when the plate exits."""

    def __init__(self) -> None:
        self._names: list[str | None] = []

    def allocate(self, name: str, dim: int | None) -> int:
        names = self._names
        if dim is None:
            i = 0
            while i < len(names) and names[i] is not None:
                i += 1
        else:
            if not isinstance(dim, int) or dim >= 0:
                raise ValueError(f"plate {name!r}: dim must be a negative int, got {dim!r}")
            i = -1 - dim
            if i < len(names) and names[i] is not None:
                raise ValueError(
                    f"plate {name!r} asks for dim {dim}, already used by the enclosing plate "
                    f"{names[i]!r}; give one of them another dim="
                )
        if name in names:
            raise ValueError(f"plate {name!r} is already active: nested plates need distinct names")
        while len(names) <= i:
            names.append(None)
        names[i] = name
        return -1 - i

    def free(self, name: str, dim: int) -> None:
        i = -1 - dim
        names = self._names
        if i < len(names) and names[i] == name:
            names[i] = None
            while names and names[-1] is None:
                names.pop()


_DIM_ALLOCATOR = _DimAllocator()


class IndepMessenger(Messenger):
    """Mark the sites inside as conditionally independent along a batch dim (vectorized,
    used as a context manager) or across iterations (sequential, used as an iterator).

    Adds a :class:`CondIndepStackFrame` to each site's ``cond_indep_stack``.
    """

    def __init__(self, name: str | None = None, size: int | None = None,
                 dim: int | None = None, device=None) -> None:
        super().__init__()
        if not isinstance(name, str):
            raise TypeError(f"a plate needs a name (str), got {name!r}")
        if size is not None and not isinstance(size, int) and (
                isinstance(size, numbers.Integral)  # e.g. numpy integers
                or (isinstance(size, torch.Tensor) and size.numel() == 1)):
            size = int(size)
        if size is None:
            size = -1  # sized by the sites it meets (Pyro's convention)
        elif not isinstance(size, int) or size < 0:
            raise ValueError(f"plate {name!r}: size must be a non-negative int, got {size!r}")
        if dim is not None and (not isinstance(dim, int) or dim >= 0):
            raise ValueError(f"plate {name!r}: dim must be a negative int, got {dim!r}")
        self.name = name
        self.size = size
        self.dim = dim
        self._requested_dim = dim
        self.device = device
        self._vectorized: bool | None = None
        self.counter = 0
        self._frame: CondIndepStackFrame | None = None

    @property
    def full_size(self) -> int | None:
        """The number of elements of the plate (an alias of :attr:`size`, which is the
        full size as in Pyro)."""
        return self.size

    def _make_frame(self) -> CondIndepStackFrame:
        return CondIndepStackFrame(self.name, self.dim, self.size, self.counter, self.size)

    def __enter__(self):
        if self._vectorized is not False:
            self._vectorized = True
            self.dim = _DIM_ALLOCATOR.allocate(self.name, self._requested_dim)
        self._frame = self._make_frame()
        return super().__enter__()

    def __exit__(self, *args) -> None:
        if self._vectorized and self.dim is not None:
            _DIM_ALLOCATOR.free(self.name, self.dim)
            self.dim = self._requested_dim
        return super().__exit__(*args)

    def next_context(self) -> None:
        """Advance to the next iteration of a sequential plate."""
        self.counter += 1

    def _iter_indices(self) -> Iterator[int]:
        return iter(range(self.size))

    def __iter__(self) -> Iterator[int]:
        if self._vectorized:
            raise ValueError(f"plate {self.name!r} is already used as a context manager; "
                             f"make a new plate to iterate")
        if self._requested_dim is not None:
            raise ValueError(f"plate {self.name!r} has dim={self._requested_dim}: a sequential "
                             f"(iterated) plate has no tensor dim, drop dim=")
        self._vectorized = False
        self.dim = None
        for i in self._iter_indices():
            with self:
                yield i
            self.next_context()

    def _pyro_sample(self, msg) -> None:
        msg["cond_indep_stack"] = (self._frame,) + msg["cond_indep_stack"]

    _pyro_param = _pyro_sample
    _pyro_plate = _pyro_sample  # poutine.runtime.get_plates()
