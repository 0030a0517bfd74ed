"""The error of parameter files and stored parameter state."""
from __future__ import annotations

__all__ = ["ParamStoreError"]


class ParamStoreError(ValueError):
    """A parameter file or state that cannot be loaded."""
