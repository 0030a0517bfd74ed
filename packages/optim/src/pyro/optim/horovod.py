"""``HorovodOptimizer``: Pyro's distributed optimizer on `Horovod <https://horovod.ai>`_.

Horovod is optional and imported only when a ``HorovodOptimizer`` is made. Without it,
:class:`pyro.optim.DistributedOptim` gives the same data-parallel SVI on
``torch.distributed`` (see :mod:`pyro.optim.distributed`).
"""
from __future__ import annotations

from typing import Any

import torch

import pyro

from .optim import PyroOptim

__all__ = ["HorovodOptimizer"]


def _import_horovod() -> Any:
    try:
        import horovod.torch as hvd
    except ImportError as e:
        raise ImportError(
            "HorovodOptimizer needs the horovod package (pip install horovod[pytorch]); "
            "pyro.optim.DistributedOptim does the same on torch.distributed with no extra "
            "package"
        ) from e
    return hvd


class HorovodOptimizer(PyroOptim):
    """Distributed wrapper of a :class:`~pyro.optim.PyroOptim`: every per-parameter torch
    optimizer is wrapped in ``horovod.torch.DistributedOptimizer``, which averages the
    parameter's gradient over the Horovod ranks before it steps. Each parameter is named
    after its ParamStore name, so all ranks must create the same parameters.

    Call ``hvd.init()`` first, then use it as any PyroOptim (``SVI(model, guide,
    HorovodOptimizer(Adam({"lr": 0.01})), loss)``).

    :param pyro_optim: the optimizer to distribute (its constructor, arguments and
        clipping are reused; it runs one torch optimizer per parameter, as in Pyro).
    :param horovod_kwargs: passed to ``horovod.torch.DistributedOptimizer`` (e.g.
        ``compression``, ``backward_passes_per_step``, ``op``).
    :raises ImportError: naming horovod, when it is not installed.
    :raises TypeError: if ``pyro_optim`` is not a PyroOptim.
    """

    def __init__(self, pyro_optim: PyroOptim, **horovod_kwargs: Any) -> None:
        if not isinstance(pyro_optim, PyroOptim):
            raise TypeError(f"HorovodOptimizer wraps a pyro.optim.PyroOptim such as "
                            f"pyro.optim.Adam({{'lr': 0.01}}), got {type(pyro_optim).__name__}")
        hvd = _import_horovod()
        base = pyro_optim.pt_optim_constructor

        def constructor(params: list[torch.Tensor], **settings: Any) -> Any:
            params = list(params)
            store = pyro.get_param_store()
            named = [(store.param_name(p) or f"param{i}", p) for i, p in enumerate(params)]
            return hvd.DistributedOptimizer(base(params, **settings), named_parameters=named,
                                            **horovod_kwargs)

        constructor.__name__ = f"Horovod{getattr(base, '__name__', 'Optimizer')}"
        super().__init__(constructor, pyro_optim.pt_optim_args, pyro_optim.pt_clip_args,
                         grouped=False)
        self.pyro_optim = pyro_optim
        self.horovod_kwargs = horovod_kwargs
