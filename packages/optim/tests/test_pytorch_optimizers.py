"""One pyro.optim wrapper per torch optimizer and scheduler, generated from torch's lists;
the plugin registers them."""
import importlib

import pytest
import torch

import pyro
import pyro.optim
import pyro.plugins
from pyro.optim import PyroLRScheduler, PyroOptim, pytorch_optimizers

ISSUE_OPTIMIZERS = ["Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam",
                    "RAdam", "ASGD", "Rprop", "SparseAdam", "LBFGS"]
ISSUE_SCHEDULERS = ["ExponentialLR", "StepLR", "MultiStepLR", "CosineAnnealingLR", "OneCycleLR",
                    "ReduceLROnPlateau"]
TORCH_OPTIMIZERS = sorted(
    n for n in dir(torch.optim)
    if isinstance(getattr(torch.optim, n), type)
    and issubclass(getattr(torch.optim, n), torch.optim.Optimizer) and n != "Optimizer"
)


def test_every_torch_optimizer_and_scheduler_has_a_wrapper():
    for name in TORCH_OPTIMIZERS + ISSUE_OPTIMIZERS:
        wrapper = getattr(pyro.optim, name)
        assert wrapper.optim_constructor is getattr(torch.optim, name)
        assert name in pyro.optim.__all__
    for name in ISSUE_SCHEDULERS:
        wrapper = getattr(pyro.optim, name)
        assert wrapper.scheduler_constructor is getattr(torch.optim.lr_scheduler, name)
    assert "Optimizer" not in pyro.optim.__all__
    # as in Pyro, torch's scheduler base classes are wrapped too, the private one included
    for name in ["LRScheduler", "_LRScheduler"]:
        assert name in pyro.optim.__all__
        wrapper = getattr(pyro.optim, name)
        assert wrapper.scheduler_constructor is getattr(torch.optim.lr_scheduler, name)
    assert pyro.optim.Adam.__name__ == "Adam"
    assert "torch.optim" in pyro.optim.Adam.__doc__


def quadratic_step(optim, sparse=False, matrix=False):
    """One step on 0.5 ||x - 1||^2 from x = 0; return (loss before, loss after)."""
    x = pyro.param("x", torch.zeros(3, 2) if matrix else torch.zeros(3)).unconstrained()

    def loss_and_grad():
        x.grad = None
        loss = 0.5 * ((x - 1) ** 2).sum()
        loss.backward()
        if sparse:
            x.grad = x.grad.to_sparse()
        return loss

    before = loss_and_grad().item()
    if optim.pt_optim_constructor is torch.optim.LBFGS:
        optim([x], loss_and_grad)  # LBFGS steps with its closure
    else:
        loss_and_grad()
        optim([x])
    with torch.no_grad():
        after = (0.5 * ((x - 1) ** 2).sum()).item()
    return before, after


LR = {"Adadelta": 1.0, "ASGD": 0.1, "SGD": 0.1, "Rprop": 0.1, "Muon": 0.05}


@pytest.mark.parametrize("name", TORCH_OPTIMIZERS)
def test_each_wrapped_optimizer_decreases_a_quadratic(name):
    optim = getattr(pyro.optim, name)({"lr": LR.get(name, 0.1)})
    assert isinstance(optim, PyroOptim)
    before, after = quadratic_step(optim, sparse=name == "SparseAdam", matrix=name == "Muon")
    assert after < before


SCHEDULER_ARGS = {
    "LambdaLR": {"lr_lambda": lambda e: 0.5**e},
    "MultiplicativeLR": {"lr_lambda": lambda e: 0.5},
    "StepLR": {"step_size": 1},
    "MultiStepLR": {"milestones": [1]},
    "ConstantLR": {},
    "LinearLR": {},
    "ExponentialLR": {"gamma": 0.5},
    "SequentialLR": {"schedulers": [(torch.optim.lr_scheduler.ConstantLR, {})],
                     "milestones": []},
    "CosineAnnealingLR": {"T_max": 3},
    "ChainedScheduler": {"schedulers": [(torch.optim.lr_scheduler.ConstantLR, {})]},
    "ReduceLROnPlateau": {},
    "CyclicLR": {"base_lr": 0.01, "max_lr": 0.1, "cycle_momentum": False},
    "CosineAnnealingWarmRestarts": {"T_0": 2},
    "OneCycleLR": {"max_lr": 0.1, "total_steps": 5},
    "PolynomialLR": {"total_iters": 3},
}


@pytest.mark.parametrize("name", sorted(torch.optim.lr_scheduler.__all__))
def test_each_wrapped_scheduler_builds_and_steps(name):
    if name == "LRScheduler":
        # the abstract base builds a PyroLRScheduler (as in Pyro); its torch scheduler,
        # made at the first step, has no schedule: torch's get_lr raises
        sched = pyro.optim.LRScheduler({"optimizer": torch.optim.SGD, "optim_args": {"lr": 0.1}})
        assert isinstance(sched, PyroLRScheduler)
        x = pyro.param("x", torch.zeros(2)).unconstrained()
        x.grad = torch.ones(2)
        with pytest.raises(NotImplementedError):
            sched([x])
        return
    if name not in SCHEDULER_ARGS:
        pytest.skip(f"a scheduler newer than this test ({name}): wrapped, not exercised")
    sched = getattr(pyro.optim, name)(
        {"optimizer": torch.optim.SGD, "optim_args": {"lr": 0.1}, **SCHEDULER_ARGS[name]}
    )
    assert isinstance(sched, PyroLRScheduler)
    x = pyro.param("x", torch.zeros(2)).unconstrained()
    for _ in range(2):
        x.grad = torch.ones(2)
        sched([x])
        sched.step(1.0) if name == "ReduceLROnPlateau" else sched.step()
    assert (x.detach() < 0).all()


def test_a_new_torch_optimizer_appears_without_new_code(monkeypatch):
    class Lion(torch.optim.SGD):  # stands for an optimizer added by a future torch
        pass

    monkeypatch.setattr(torch.optim, "Lion", Lion, raising=False)
    monkeypatch.setattr(torch.optim, "__all__", list(torch.optim.__all__) + ["Lion"])
    saved = dict(vars(pytorch_optimizers))
    try:
        module = importlib.reload(pytorch_optimizers)
        assert "Lion" in module.__all__
        assert module.Lion({"lr": 0.1}).pt_optim_constructor is Lion
    finally:
        monkeypatch.undo()
        # restore the very wrapper objects pyro.optim and the plugin registry hold
        vars(pytorch_optimizers).clear()
        vars(pytorch_optimizers).update(saved)
    assert "Lion" not in pytorch_optimizers.__all__


def test_plugin_registers_the_wrappers():
    registry = pyro.plugins.get_registry("optimizers")
    for name in ["PyroOptim", "ClippedAdam", "Adam", "LBFGS", "ExponentialLR",
                 "PyroLRScheduler", "MixedMultiOptimizer"]:
        assert name in registry, name
        assert registry.provider(name) == "optim"
    assert registry.get("Adam") is pyro.optim.Adam


def test_names_from_other_plugins_appear_in_pyro_optim():
    class ThirdParty:
        @pyro.plugins.hookimpl
        def pyro_register_optimizers(self, registry):
            registry.add("MyMadeUpOptim", pyro.optim.SGD)

    plugin = ThirdParty()
    pyro.plugins.register(plugin, name="third-party-optim")
    try:
        assert pyro.optim.MyMadeUpOptim is pyro.optim.SGD
    finally:
        pyro.plugins.unregister(plugin)
    with pytest.raises(AttributeError, match="MyMadeUpOptim"):
        pyro.optim.MyMadeUpOptim
