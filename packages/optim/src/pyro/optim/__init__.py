"""``pyro.optim``: optimizers for Pyro's dynamically created parameters.

* :class:`~pyro.optim.optim.PyroOptim` wraps a ``torch.optim`` optimizer: parameters may
  appear at any step; per-parameter arguments; name-keyed state with atomic save / safe load;
  a grouped mode that steps all parameters of one setting with one torch optimizer.
* A wrapper for every ``torch.optim`` optimizer (``pyro.optim.Adam({"lr": 1e-3})``) and
  every ``torch.optim.lr_scheduler`` scheduler (``pyro.optim.ExponentialLR({...})``),
  generated from torch's own lists (:mod:`pyro.optim.pytorch_optimizers`).
* ``ClippedAdam``: Adam with per-parameter gradient clipping and learning-rate decay
  (the torch optimizer is :class:`pyro.optim.clipped_adam.ClippedAdam`);
  ``AdagradRMSProp`` (ADVI's step sizes, :mod:`pyro.optim.adagrad_rmsprop`) and
  ``DCTAdam`` (a frequency-domain Adam for time series, :mod:`pyro.optim.dct_adam`).
* :class:`~pyro.optim.lr_scheduler.PyroLRScheduler`; :mod:`pyro.optim.multi` compositions.
* Data-parallel SVI: :class:`~pyro.optim.distributed.DistributedOptim` (torch.distributed)
  and :class:`~pyro.optim.horovod.HorovodOptimizer` (Horovod, imported lazily).

Optimizers that plugins register appear here too (``pyro.optim.NAME``).
"""
import pyro.plugins

from . import adagrad_rmsprop as _adagrad_rmsprop
from . import clipped_adam as _clipped_adam
from . import dct_adam as _dct_adam
from . import pytorch_optimizers
from .distributed import DistributedOptim
from .grouping import is_groupable
from .horovod import HorovodOptimizer
from .lr_scheduler import PyroLRScheduler
from .multi import (
    MixedMultiOptimizer,
    MultiOptimizer,
    Newton,
    PyroMultiOptimizer,
    TorchMultiOptimizer,
)
from .optim import PyroOptim
from .pytorch_optimizers import *  # noqa: F403  (one wrapper per torch optimizer/scheduler)
from .state_io import OptimStateError
from .wrappers import optimizer_wrapper, scheduler_wrapper

#: ``ClippedAdam(optim_args, clip_args=None, grouped=None)``: the PyroOptim wrapper of
#: :class:`pyro.optim.clipped_adam.ClippedAdam`.
ClippedAdam = optimizer_wrapper(_clipped_adam.ClippedAdam)
#: ``AdagradRMSProp(optim_args, ...)``: the PyroOptim wrapper of
#: :class:`pyro.optim.adagrad_rmsprop.AdagradRMSProp`.
AdagradRMSProp = optimizer_wrapper(_adagrad_rmsprop.AdagradRMSProp)
#: ``DCTAdam(optim_args, ...)``: the PyroOptim wrapper of :class:`pyro.optim.dct_adam.DCTAdam`.
DCTAdam = optimizer_wrapper(_dct_adam.DCTAdam)

__all__ = [
    "AdagradRMSProp",
    "ClippedAdam",
    "DCTAdam",
    "DistributedOptim",
    "HorovodOptimizer",
    "MixedMultiOptimizer",
    "MultiOptimizer",
    "Newton",
    "OptimStateError",
    "PyroLRScheduler",
    "PyroMultiOptimizer",
    "PyroOptim",
    "TorchMultiOptimizer",
    "is_groupable",
    "optimizer_wrapper",
    "scheduler_wrapper",
] + list(pytorch_optimizers.__all__)

__getattr__ = pyro.plugins.namespace_getattr(__name__, "optimizers")
