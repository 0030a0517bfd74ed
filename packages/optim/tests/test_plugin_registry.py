"""pyro-optim registers optimizer factories only (not its helpers or exceptions)."""
import pyro.optim
from pyro.optim import pytorch_optimizers
from pyro.optim.plugin import ABSTRACT_SCHEDULERS, PYRO_OPTIMIZERS
from pyro.plugins import format_plugins, get_registry


def test_optim_registers_factories_only():
    reg = get_registry("optimizers")
    mine = {name for name, _, provider in reg.items() if provider == "optim"}
    assert mine == (set(PYRO_OPTIMIZERS) | set(pytorch_optimizers.__all__)) - set(
        ABSTRACT_SCHEDULERS)
    for name in ("OptimStateError", "is_groupable", "optimizer_wrapper", "scheduler_wrapper",
                 "MultiOptimizer", "LRScheduler", "_LRScheduler"):
        assert name not in reg and hasattr(pyro.optim, name)
    listing = format_plugins()
    assert "OptimStateError" not in listing and "is_groupable" not in listing


def test_registered_factories_build_optimizers():
    reg = get_registry("optimizers")
    assert isinstance(reg.get("Adam")({"lr": 0.1}), pyro.optim.PyroOptim)
    assert isinstance(reg.get("ClippedAdam")({"lr": 0.1}), pyro.optim.PyroOptim)
