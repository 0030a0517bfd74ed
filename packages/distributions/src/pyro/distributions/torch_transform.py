"""Transforms that are also :class:`torch.nn.Module` s, so that their parameters are learned
(``pyro.module("flow", transform)`` registers them with the ParamStore)."""
from __future__ import annotations

import torch
from torch.distributions.transforms import ComposeTransform, Transform

from ._torch_fixes import _clear_transform_cache

__all__ = ["ComposeTransformModule", "TransformModule"]


class TransformModule(Transform, torch.nn.Module):
    """A :class:`~torch.distributions.transforms.Transform` with learnable parameters.

    Subclasses set ``domain``, ``codomain``, ``bijective`` and implement ``_call``,
    ``_inverse`` and ``log_abs_det_jacobian`` exactly as for a torch ``Transform``, and
    register their parameters as for any ``nn.Module``. Hashing is by identity (so that the
    module can be used as a dictionary key and in ``torch.distributions`` caches).
    """

    def __init__(self, cache_size: int = 0) -> None:
        # Transform.__init__ ends with super().__init__(), i.e. nn.Module.__init__.
        super().__init__(cache_size=cache_size)

    def __hash__(self) -> int:
        return torch.nn.Module.__hash__(self)

    def __repr__(self) -> str:
        return torch.nn.Module.__repr__(self)

    def clear_cache(self) -> None:
        """Forget the cached ``(x, y)`` pair (e.g. after an optimizer step changed the
        parameters while the same input tensor will be transformed again)."""
        _clear_transform_cache(self)


class ComposeTransformModule(ComposeTransform, torch.nn.ModuleList):
    """A :class:`~torch.distributions.transforms.ComposeTransform` of transforms that is
    also an :class:`torch.nn.ModuleList`, so that the parameters of every
    :class:`TransformModule` part are registered.

    :param parts: the transforms, applied left to right.
    """

    def __init__(self, parts, cache_size: int = 0) -> None:
        ComposeTransform.__init__(self, parts, cache_size=cache_size)
        for part in parts:
            if isinstance(part, torch.nn.Module):
                self.append(part)

    def __hash__(self) -> int:
        return torch.nn.Module.__hash__(self)

    def __repr__(self) -> str:
        return torch.nn.Module.__repr__(self)

    def clear_cache(self) -> None:
        """Forget the cached ``(x, y)`` pairs of the composition and of every part."""
        _clear_transform_cache(self)
