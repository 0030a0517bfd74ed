"""The distributions the core language needs itself (re-exported by ``pyro.distributions``):
:class:`Delta` (``pyro.deterministic``), :class:`Unit` (``pyro.factor``) and
:class:`TorchDistributionMixin` (Pyro's extras on any torch distribution)."""
from . import delta, torch_distribution, unit, util
from .delta import *  # noqa: F403
from .torch_distribution import *  # noqa: F403
from .unit import *  # noqa: F403
from .util import *  # noqa: F403

# each module's public names, listed once in that module
__all__: list[str] = []
__all__ += delta.__all__
__all__ += torch_distribution.__all__
__all__ += unit.__all__
__all__ += util.__all__
