"""AdagradRMSProp against equations 10-11 of the ADVI paper computed by hand."""
import pytest
import torch

import pyro
import pyro.optim
from pyro.optim.adagrad_rmsprop import AdagradRMSProp


def by_hand(x0, grads, eta=1.0, delta=1e-16, t=0.1):
    x = x0.double().clone()
    s = None
    out = []
    for k, g in enumerate(grads, start=1):
        g = g.double()
        s = g * g if s is None else t * g * g + (1 - t) * s
        x = x - eta * k ** (-0.5 + delta) * g / (1 + s.sqrt())
        out.append(x.clone())
    return out


@pytest.mark.parametrize("kwargs", [{}, {"eta": 0.5, "delta": 0.1, "t": 0.3}])
def test_matches_equations(kwargs):
    x = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
    grads = [torch.randn(3, dtype=torch.float64) for _ in range(5)]
    expected = by_hand(x.detach(), grads, **kwargs)
    opt = AdagradRMSProp([x], **kwargs)
    for g, e in zip(grads, expected):
        x.grad = g.clone()
        opt.step()
        torch.testing.assert_close(x.detach(), e)


def test_first_step_closed_form():
    # s_1 = g^2: the first move is eta * g / (1 + |g|)
    x = torch.zeros(2, requires_grad=True)
    opt = AdagradRMSProp([x])
    x.grad = torch.tensor([-7.0, 3.0])
    opt.step()
    torch.testing.assert_close(x.detach(), torch.tensor([7 / 8, -3 / 4]))


def test_pyro_optim_wrapper_minimizes():
    pyro.clear_param_store()
    loc = pyro.param("loc", torch.tensor([3.0, -2.0]))
    optim = pyro.optim.AdagradRMSProp({"eta": 0.5})
    for _ in range(300):
        loss = (pyro.param("loc") ** 2).sum()
        loss.backward()
        unconstrained = pyro.param("loc").unconstrained()
        optim([unconstrained])
        unconstrained.grad = None
    assert pyro.param("loc").abs().max() < 0.05
    assert loc.shape == (2,)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="eta"):
        AdagradRMSProp([torch.zeros(1, requires_grad=True)], eta=-1.0)
    with pytest.raises(ValueError, match="t="):
        AdagradRMSProp([torch.zeros(1, requires_grad=True)], t=0.0)
