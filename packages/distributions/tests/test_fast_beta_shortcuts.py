"""FastBeta's shortcuts change nothing: the constant-parameter cache (keyed by value,
bounded, never hit by parameters with gradients), the skipped clamp of scalar draws and
the skipped broadcast / expand give the very bits of the full computation."""
import pytest
import scipy.stats
import torch

import pyro.distributions as dist
import pyro.distributions.fast_beta as fast_beta


def _full_log_prob(a, b, value):
    # the formula without any shortcut
    return (torch.xlogy(a - 1, value) + torch.xlogy(b - 1, 1 - value)
            - (torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)))


@pytest.fixture(autouse=True)
def _empty_cache():
    fast_beta._CONSTANT_TERMS.clear()
    yield
    fast_beta._CONSTANT_TERMS.clear()


def test_constant_parameters_cached_by_value_same_bits():
    value = torch.tensor(0.3)
    first = dist.Beta(torch.tensor(10.0), torch.tensor(4.0)).log_prob(value)
    assert len(fast_beta._CONSTANT_TERMS) == 1
    # a prior rebuilt from the same numbers hits the entry
    again = dist.Beta(torch.tensor(10.0), torch.tensor(4.0)).log_prob(value)
    assert len(fast_beta._CONSTANT_TERMS) == 1
    expected = _full_log_prob(torch.tensor(10.0), torch.tensor(4.0), value)
    assert torch.equal(first, expected) and torch.equal(again, expected)
    expected_scipy = scipy.stats.beta(10.0, 4.0).logpdf(0.3)
    assert abs(first.item() - expected_scipy) < 1e-5


def test_cache_follows_the_values_not_the_tensors():
    a = torch.tensor(2.0)
    d = dist.Beta(a, torch.tensor(3.0))
    value = torch.tensor(0.6)
    before = d.log_prob(value)
    a.fill_(5.0)  # the same tensor, modified in place: a new key
    after = d.log_prob(value)
    assert torch.equal(before, _full_log_prob(torch.tensor(2.0), torch.tensor(3.0), value))
    assert torch.equal(after, _full_log_prob(torch.tensor(5.0), torch.tensor(3.0), value))
    assert len(fast_beta._CONSTANT_TERMS) == 2
    # another dtype is another entry
    d64 = dist.Beta(torch.tensor(5.0, dtype=torch.float64), torch.tensor(3.0, dtype=torch.float64))
    assert d64.log_prob(value.double()).dtype == torch.float64
    assert len(fast_beta._CONSTANT_TERMS) == 3


def test_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(fast_beta, "_CONSTANT_TERMS_MAX", 4)
    value = torch.tensor(0.5)
    for i in range(10):
        lp = dist.Beta(torch.tensor(1.0 + i), torch.tensor(2.0)).log_prob(value)
        assert torch.equal(lp, _full_log_prob(torch.tensor(1.0 + i), torch.tensor(2.0), value))
        assert len(fast_beta._CONSTANT_TERMS) <= 4


@pytest.mark.parametrize("a,b", [
    (torch.tensor(2.0, requires_grad=True), torch.tensor(3.0)),  # a gradient to keep
    (torch.tensor([2.0, 4.0]), torch.tensor([3.0, 1.5])),  # not scalars
])
def test_parameters_not_cached(a, b):
    value = torch.tensor(0.4)
    lp = dist.Beta(a, b).log_prob(value)
    assert not fast_beta._CONSTANT_TERMS
    assert torch.equal(lp, _full_log_prob(a, b, value))


def test_gradients_unchanged_by_the_cache():
    value = torch.tensor(0.35, requires_grad=True)
    dist.Beta(torch.tensor(10.0), torch.tensor(10.0)).log_prob(value).backward()
    cached = value.grad.clone()
    value.grad = None
    _full_log_prob(torch.tensor(10.0), torch.tensor(10.0), value).backward()
    assert torch.equal(cached, value.grad)


def test_scalar_draw_without_clamp_same_bits_and_generator_use():
    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(5.0, requires_grad=True)
    torch.manual_seed(7)
    draw = dist.Beta(a, b).rsample()
    after = torch.rand(())
    torch.manual_seed(7)
    x, y = torch._standard_gamma(a), torch._standard_gamma(b)
    finfo = torch.finfo(torch.float32)
    expected = (x / (x + y)).clamp(min=finfo.tiny, max=1 - finfo.eps)
    assert torch.equal(draw, expected) and torch.equal(after, torch.rand(()))
    draw.backward()
    ga = a.grad.clone()
    a.grad = None
    expected.backward()
    assert torch.equal(ga, a.grad)


def test_draws_at_the_bounds_are_clamped():
    # concentrations so small that the gammas underflow: the ratio is 0/0 or 1 and the
    # clamp applies, as before
    torch.manual_seed(0)
    d = dist.Beta(torch.tensor(1e-3), torch.tensor(1e-3))
    draws = torch.stack([d.rsample() for _ in range(200)])
    finfo = torch.finfo(torch.float32)
    ok = draws[~draws.isnan()]
    assert ((ok >= finfo.tiny) & (ok <= 1 - finfo.eps)).all()
    assert (ok == 1 - finfo.eps).any() or (ok == finfo.tiny).any()


def test_broadcast_and_expand_shapes():
    d = dist.Beta(torch.tensor([1.0, 2.0]), torch.tensor(3.0))  # broadcast needed
    assert d.batch_shape == (2,) and d.concentration0.shape == (2,)
    a, b = torch.tensor([[1.0], [2.0]]), torch.tensor([[3.0], [4.0]])
    d = dist.Beta(a, b)  # one shape: kept as given
    assert d.concentration1 is a and d.concentration0 is b
    torch.manual_seed(1)
    s = d.rsample((3,))
    assert s.shape == (3, 2, 1)
    e = d.expand((2, 4))
    assert e.batch_shape == (2, 4) and e.rsample().shape == (2, 4)
    assert e.log_prob(torch.full((2, 4), 0.5)).shape == (2, 4)
