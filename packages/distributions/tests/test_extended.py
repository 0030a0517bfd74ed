"""ExtendedBinomial / ExtendedBetaBinomial: the whole integer line as logical support."""
import math

import pytest
import torch

import pyro.distributions as dist


def test_extended_binomial_equals_binomial_inside_and_minus_inf_outside():
    n = torch.tensor([5.0, 3.0])
    p = torch.tensor([0.3, 0.6])
    d = dist.ExtendedBinomial(n, p)
    inside = torch.tensor([[2.0, 2.0], [0.0, 3.0], [5.0, 1.0]])
    assert torch.allclose(d.log_prob(inside), dist.Binomial(n, p).log_prob(inside))
    outside = torch.tensor([[6.0, -1.0], [-3.0, 4.0]])
    assert (d.log_prob(outside) == -math.inf).all()


def test_negative_total_count_has_empty_support():
    d = dist.ExtendedBinomial(-3.0, 0.5)
    assert (d.log_prob(torch.tensor([-3.0, -1.0, 0.0, 2.0])) == -math.inf).all()
    assert (d.sample((4,)) == 0).all()


def test_extended_beta_binomial_matches_beta_binomial():
    a, b, n = torch.tensor(1.5), torch.tensor(2.0), torch.tensor(5.0)
    d = dist.ExtendedBetaBinomial(a, b, n)
    k = torch.arange(6.0)
    assert torch.allclose(d.log_prob(k), dist.BetaBinomial(a, b, n).log_prob(k))
    assert torch.allclose(d.log_prob(k).exp().sum(), torch.tensor(1.0))
    assert (d.log_prob(torch.tensor([-1.0, 6.0, 100.0])) == -math.inf).all()
    assert (dist.ExtendedBetaBinomial(a, b, -2.0).log_prob(torch.tensor([0.0])) == -math.inf).all()


@pytest.mark.parametrize("cls", [dist.ExtendedBinomial, dist.ExtendedBetaBinomial])
def test_validation_accepts_any_integer(cls):
    args = (torch.tensor([-2.0, 4.0]), torch.tensor(0.4)) if cls is dist.ExtendedBinomial else \
        (torch.tensor(1.0), torch.tensor(1.0), torch.tensor([-2.0, 4.0]))
    d = cls(*args, validate_args=True)
    assert d.log_prob(torch.tensor([-7.0, 9.0])).tolist() == [-math.inf, -math.inf]
    with pytest.raises(ValueError):
        d.log_prob(torch.tensor([0.5, 1.0]))  # not an integer


def test_gradients_flow_inside_support():
    p = torch.tensor(0.3, requires_grad=True)
    dist.ExtendedBinomial(5.0, p).log_prob(torch.tensor(2.0)).backward()
    # d/dp [2 log p + 3 log(1 - p)] = 2/p - 3/(1-p)
    assert p.grad.item() == pytest.approx(2 / 0.3 - 3 / 0.7, rel=1e-5)
