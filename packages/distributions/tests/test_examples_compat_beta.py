"""Pyro's toy_mixture_model_discrete_enumeration example samples a batched
``Beta(b[:, 0], b[:, 1]).to_event(1)`` in its guide: for a seed, Pyro (torch's Beta, a
two-component Dirichlet) draws particular values, and so must we."""
import pytest
import torch
from torch.distributions import Beta as TorchBeta

import pyro.distributions as dist


@pytest.mark.parametrize("a_shape, b_shape, sample_shape", [
    ((4,), (4,), ()),
    ((4,), (4,), (5,)),
    ((2, 3), (3,), ()),  # broadcast parameters
    ((3,), (), (2, 2)),
    ((), (), (6,)),  # scalar parameters, several draws
])
def test_draws_equal_torchs_for_a_seed(a_shape, b_shape, sample_shape):
    torch.manual_seed(0)
    a = torch.rand(a_shape) * 5 + 0.2
    b = torch.rand(b_shape) * 5 + 0.2
    torch.manual_seed(3)
    expected = TorchBeta(a, b).rsample(sample_shape)
    after_expected = torch.rand(())
    torch.manual_seed(3)
    actual = dist.Beta(a, b).rsample(sample_shape)
    after_actual = torch.rand(())
    assert actual.shape == expected.shape
    # the same gammas; the ratio is rounded once (torch's kernel normalizes its own way)
    assert torch.allclose(actual, expected, rtol=2e-7, atol=0)
    assert torch.equal(after_actual, after_expected)  # the same random numbers used


def test_batched_draws_keep_their_gradients():
    torch.manual_seed(0)
    a = torch.tensor([1.0, 10.0, 0.5], requires_grad=True)
    b = torch.tensor([10.0, 1.0, 0.7], requires_grad=True)
    x = dist.Beta(a, b).rsample((4000,))
    ga, gb = torch.autograd.grad(x.mean(0).sum(), (a, b))
    # d E[x] / d a = b / (a + b)^2, d E[x] / d b = -a / (a + b)^2 (pathwise: unbiased)
    exact_a = (b / (a + b) ** 2).detach()
    exact_b = (-a / (a + b) ** 2).detach()
    # Monte Carlo tolerance: the per-draw gradients' sd is about their mean here, so
    # 5 sd / sqrt(4000) is 0.08 of it
    assert torch.allclose(ga, exact_a, rtol=0.08)
    assert torch.allclose(gb, exact_b, rtol=0.08)
