"""Names of pyro.optim.optim that Pyro 1.9 has there: is_scheduler and the wrappers of
Pyro's own optimizers (the same objects as pyro.optim's)."""
import torch

import pyro.optim
from pyro.optim import optim as optim_module
from pyro.optim.optim import AdagradRMSProp, ClippedAdam, DCTAdam, is_scheduler


def test_wrappers_are_pyro_optims():
    assert ClippedAdam is pyro.optim.ClippedAdam
    assert AdagradRMSProp is pyro.optim.AdagradRMSProp
    assert DCTAdam is pyro.optim.DCTAdam
    opt = ClippedAdam({"lr": 0.1, "clip_norm": 1.0})
    assert isinstance(opt, pyro.optim.PyroOptim)
    assert opt.pt_optim_constructor is pyro.optim.clipped_adam.ClippedAdam


def test_unknown_name():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        optim_module.Nope


def test_is_scheduler():
    p = torch.nn.Parameter(torch.zeros(1))
    sgd = torch.optim.SGD([p], lr=1.0)
    assert is_scheduler(torch.optim.lr_scheduler.StepLR(sgd, step_size=1))
    assert is_scheduler(torch.optim.lr_scheduler.ReduceLROnPlateau(sgd))
    assert not is_scheduler(sgd)
    assert not is_scheduler(object())
    # Pyro's own wrappers are PyroOptim objects, not torch schedulers
    assert not is_scheduler(pyro.optim.Adam({"lr": 0.1}))
    assert not is_scheduler(pyro.optim.StepLR({"optimizer": torch.optim.SGD,
                                               "optim_args": {"lr": 0.1}, "step_size": 1}))
