"""``pyro.plate``'s messenger: a subsampled plate that also broadcasts distributions."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .broadcast_messenger import broadcast_to_plates
from .messenger import block_messengers
from .subsample_messenger import SubsampleMessenger


class PlateMessenger(SubsampleMessenger):
    """A :class:`SubsampleMessenger` that, when vectorized, expands each sample site's
    distribution to the plate's size at the plate's dim (see :func:`pyro.plate`)."""

    def _pyro_sample(self, msg) -> None:
        msg["cond_indep_stack"] = (self._frame,) + msg["cond_indep_stack"]
        if self._subsampled:
            msg["scale"] = msg["scale"] * (self.size / self.subsample_size)
        if self._vectorized and not msg["done"]:
            broadcast_to_plates(msg)


@contextmanager
def block_plate(
    name: str | None = None, dim: int | None = None, *, strict: bool = True
) -> Iterator[None]:
    """Temporarily leave the enclosing plate named ``name`` (or using ``dim``), e.g. to
    draw a global site from inside a plate."""
    found = []

    def predicate(m):
        hit = isinstance(m, PlateMessenger) and (
            m.name == name or (dim is not None and m.dim == dim))
        if hit:
            found.append(m)
        return hit

    with block_messengers(predicate):
        if strict and not found:
            raise ValueError(f"block_plate: no enclosing plate named {name!r} (dim={dim})")
        yield

