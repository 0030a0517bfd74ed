"""The step loop shared by pyro.optim's own optimizers: closures, parameters without a
gradient, learning-rate decay and the grouped-mode declaration."""
import pytest
import torch

from pyro.optim.adagrad_rmsprop import AdagradRMSProp
from pyro.optim.clipped_adam import ClippedAdam
from pyro.optim.dct_adam import DCTAdam
from pyro.optim.per_parameter import PerParameterOptimizer


def _closure_step(opt, x):
    def closure():
        opt.zero_grad()
        loss = (x**2).sum()
        loss.backward()
        return loss

    return opt.step(closure)


@pytest.mark.parametrize("make", [
    lambda ps: ClippedAdam(ps, lr=0.1),
    lambda ps: DCTAdam(ps, lr=0.1),
    lambda ps: AdagradRMSProp(ps, eta=0.1),
])
def test_closure_loss_is_returned_and_gradless_params_are_kept(make):
    x = torch.ones(3, requires_grad=True)
    y = torch.ones(3, requires_grad=True)
    opt = make([x, y])
    loss = _closure_step(opt, x)
    assert loss.item() == 3.0  # evaluated before the update, with gradients enabled
    assert torch.equal(y.detach(), torch.ones(3))
    assert not torch.equal(x.detach(), torch.ones(3))
    assert opt.step() is None


def test_adagrad_rmsprop_first_steps_match_the_formula():
    # s_1 = g_1^2, s_2 = t g_2^2 + (1 - t) s_1; step k moves by eta k^(-1/2+delta) g/(1+sqrt s)
    eta, delta, t = 0.5, 1e-16, 0.1
    x = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    opt = AdagradRMSProp([x], eta=eta, delta=delta, t=t)
    expected = x.detach().clone()
    s = None
    for k in (1, 2):
        g = 2 * expected
        s = g * g if s is None else t * g * g + (1 - t) * s
        expected = expected - eta * k ** (-0.5 + delta) * g / (1 + s.sqrt())
        _closure_step(opt, x)
        assert torch.allclose(x.detach(), expected, rtol=1e-12, atol=0)


def test_learning_rate_decays_once_per_step_per_group():
    x = torch.ones(2, requires_grad=True)
    opt = ClippedAdam([x], lr=0.1, lrd=0.5)
    for _ in range(3):
        _closure_step(opt, x)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**3)


@pytest.mark.parametrize("settings, groupable", [
    ({}, True), ({"lrd": 1.0}, True), ({"lrd": 0.99}, False),
])
def test_grouped_mode_declaration(settings, groupable):
    assert PerParameterOptimizer.pyro_groupable(settings) is groupable
    assert ClippedAdam.pyro_groupable(settings) is groupable
    assert AdagradRMSProp.pyro_groupable(settings) is groupable


def test_a_subclass_without_an_update_says_so():
    class NoUpdate(PerParameterOptimizer):
        pass

    x = torch.ones(1, requires_grad=True)
    x.grad = torch.ones(1)
    with pytest.raises(NotImplementedError, match="NoUpdate must define _step_param"):
        NoUpdate([x], {}).step()
