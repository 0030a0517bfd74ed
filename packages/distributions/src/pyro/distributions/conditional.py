"""Distributions and transforms conditioned on a context (conditional normalizing flows)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch
from torch.distributions.transforms import Transform

from ._torch_fixes import _clear_transform_cache
from .torch import TransformedDistribution
from .torch_transform import ComposeTransformModule

__all__ = [
    "ConditionalComposeTransformModule",
    "ConditionalDistribution",
    "ConditionalTransform",
    "ConditionalTransformModule",
    "ConditionalTransformedDistribution",
    "ConstantConditionalDistribution",
    "ConstantConditionalTransform",
]


class ConditionalDistribution(ABC):
    """A family of distributions indexed by a context: ``condition(context)`` returns one."""

    @abstractmethod
    def condition(self, context: torch.Tensor):
        """The distribution for ``context``."""


class ConditionalTransform(ABC):
    """A family of transforms indexed by a context: ``condition(context)`` returns one."""

    @abstractmethod
    def condition(self, context: torch.Tensor) -> Transform:
        """The transform for ``context``."""


class ConditionalTransformModule(ConditionalTransform, torch.nn.Module):
    """A :class:`ConditionalTransform` with learnable parameters (an ``nn.Module``)."""

    def __init__(self, *args, **kwargs) -> None:
        torch.nn.Module.__init__(self, *args, **kwargs)

    def __hash__(self) -> int:
        return torch.nn.Module.__hash__(self)


class ConditionalComposeTransformModule(ConditionalTransformModule, torch.nn.ModuleList):
    """A chain of transforms, any of which may be conditional, that is itself a conditional
    transform module: ``condition(context)`` conditions every conditional part and returns
    their :class:`~pyro.distributions.transforms.ComposeTransformModule` (applied left to
    right). The parts that are ``nn.Module`` s are registered, so ``pyro.module`` or
    ``.parameters()`` reach every network.

    :param transforms: a list of transforms and conditional transforms.
    :param int cache_size: the cache size of the composed transform.
    """

    def __init__(self, transforms: Sequence, cache_size: int = 0) -> None:
        torch.nn.ModuleList.__init__(self)
        self.transforms = [
            t if isinstance(t, ConditionalTransform) else ConstantConditionalTransform(t)
            for t in transforms
        ]
        self.cache_size = cache_size
        for t in transforms:
            if isinstance(t, torch.nn.Module):
                self.append(t)

    def condition(self, context: torch.Tensor) -> ComposeTransformModule:
        return ComposeTransformModule(
            [t.condition(context) for t in self.transforms], cache_size=self.cache_size
        )


class ConstantConditionalDistribution(ConditionalDistribution):
    """Ignore the context: ``condition(context)`` always returns ``base_dist``."""

    def __init__(self, base_dist) -> None:
        self.base_dist = base_dist

    def condition(self, context):
        return self.base_dist


class ConstantConditionalTransform(ConditionalTransform):
    """Ignore the context: ``condition(context)`` always returns ``transform``."""

    def __init__(self, transform: Transform) -> None:
        self.transform = transform

    def condition(self, context):
        return self.transform

    def clear_cache(self) -> None:
        """Forget the ``(x, y)`` pair(s) the transform cached."""
        _clear_transform_cache(self.transform)


class ConditionalTransformedDistribution(ConditionalDistribution):
    """A base distribution and transforms, any of which may be conditional.

    ``condition(context)`` conditions every conditional part and returns the resulting
    :class:`~pyro.distributions.TransformedDistribution`.

    :param base_dist: a distribution or a :class:`ConditionalDistribution`.
    :param transforms: a transform (conditional or not) or a list of them.
    """

    def __init__(self, base_dist, transforms) -> None:
        if not isinstance(base_dist, ConditionalDistribution):
            base_dist = ConstantConditionalDistribution(base_dist)
        if not isinstance(transforms, Sequence):
            transforms = [transforms]
        self.base_dist = base_dist
        self.transforms = [
            t if isinstance(t, ConditionalTransform) else ConstantConditionalTransform(t)
            for t in transforms
        ]

    def condition(self, context):
        base_dist = self.base_dist.condition(context)
        transforms = [t.condition(context) for t in self.transforms]
        return TransformedDistribution(base_dist, transforms)

    def clear_cache(self) -> None:
        """Forget the caches of the unconditional transforms (the conditional ones are made
        afresh by each ``condition``); call it after each optimizer step when scoring the
        same data tensor repeatedly."""
        for t in self.transforms:
            if isinstance(t, ConstantConditionalTransform):
                t.clear_cache()
