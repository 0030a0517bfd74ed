"""FastBernoulli (the Bernoulli wrapper's direct log_prob): scipy's densities, torch's
draws, shapes, broadcasting, expand, clamping at 0 and 1, gradients and errors."""
import numpy as np
import pytest
import scipy.stats
import torch
import torch.distributions as td

import pyro.distributions as dist
from pyro.distributions.fast_bernoulli import FastBernoulli


def test_is_the_bernoulli_wrapper():
    assert issubclass(dist.Bernoulli, FastBernoulli)
    assert isinstance(dist.Bernoulli(torch.tensor(0.3)), td.Bernoulli)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_log_prob_matches_scipy(dtype):
    torch.manual_seed(0)
    probs = torch.rand(200, dtype=dtype).clamp(0.01, 0.99)
    value = torch.bernoulli(probs)
    lp = dist.Bernoulli(probs).log_prob(value)
    expected = scipy.stats.bernoulli(probs.double().numpy()).logpmf(value.double().numpy())
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    np.testing.assert_allclose(lp.double().numpy(), expected, rtol=tol, atol=tol)
    assert lp.dtype == dtype


def test_log_prob_equals_torchs_to_rounding_and_logits_untouched():
    torch.manual_seed(1)
    probs = torch.cat([torch.rand(1000), torch.tensor([1e-9, 1 - 1e-9, 0.5])])
    value = torch.bernoulli(torch.full_like(probs, 0.5))
    ours = dist.Bernoulli(probs).log_prob(value)
    theirs = td.Bernoulli(probs).log_prob(value)
    scale = theirs.abs().clamp(min=1.0)
    assert ((ours - theirs).abs() / scale).max() < 4 * torch.finfo(torch.float32).eps
    d = dist.Bernoulli(probs)
    d.log_prob(value)
    assert "logits" not in vars(d)  # the lazy property is torch's, computed when read
    assert torch.equal(d.logits, td.Bernoulli(probs).logits)


def test_probs_zero_and_one_clamped_like_torch():
    probs = torch.tensor([0.0, 1.0, 0.0, 1.0])
    value = torch.tensor([0.0, 1.0, 1.0, 0.0])
    ours = dist.Bernoulli(probs).log_prob(value)
    theirs = td.Bernoulli(probs).log_prob(value)
    assert torch.isfinite(ours).all()
    assert torch.allclose(ours, theirs, rtol=1e-6, atol=1e-6)


def test_gradient_matches_torchs_including_outside_the_clamp():
    probs = torch.tensor([0.0, 0.2, 0.7, 1.0])
    value = torch.tensor([1.0, 0.0, 1.0, 0.0])
    p1 = probs.clone().requires_grad_()
    p2 = probs.clone().requires_grad_()
    dist.Bernoulli(p1).log_prob(value).sum().backward()
    td.Bernoulli(p2).log_prob(value).sum().backward()
    assert torch.allclose(p1.grad, p2.grad, rtol=1e-5)
    assert p1.grad[0] == 0 and p1.grad[3] == 0  # clamped: no gradient, as torch


def test_logits_parameterization_is_torchs():
    logits = torch.tensor([-3.0, 0.0, 2.5])
    value = torch.tensor([1.0, 0.0, 1.0])
    assert torch.equal(dist.Bernoulli(logits=logits).log_prob(value),
                       td.Bernoulli(logits=logits).log_prob(value))


def test_same_draws_and_generator_use_as_torch():
    probs = torch.tensor([0.1, 0.5, 0.9])
    torch.manual_seed(3)
    ours = dist.Bernoulli(probs).sample((5,))
    after_ours = torch.rand(())
    torch.manual_seed(3)
    theirs = td.Bernoulli(probs).sample((5,))
    after_theirs = torch.rand(())
    assert torch.equal(ours, theirs) and torch.equal(after_ours, after_theirs)


def test_shapes_and_broadcasting():
    d = dist.Bernoulli(torch.full((3, 1), 0.4))
    assert d.batch_shape == (3, 1) and d.event_shape == ()
    lp = d.log_prob(torch.ones(2, 3, 4))  # value broadcasts with the batch shape
    assert lp.shape == (2, 3, 4)
    assert torch.allclose(lp, torch.tensor(0.4).log().expand(2, 3, 4))
    assert dist.Bernoulli(0.3).batch_shape == ()  # a number: torch's path
    assert dist.Bernoulli(torch.tensor(0.3)).sample((4,)).shape == (4,)


def test_expand_shares_the_parameter_and_keeps_validation():
    probs = torch.tensor([0.25])
    d = dist.Bernoulli(probs, validate_args=True)
    e = d.expand((5, 1))
    assert type(e) is dist.Bernoulli and e.batch_shape == (5, 1)
    assert e.probs.data_ptr() == probs.data_ptr()
    assert e._validate_args is True
    assert torch.equal(e.log_prob(torch.ones(5, 1)), torch.full((5, 1), 0.25).log())
    with pytest.raises(ValueError):
        e.log_prob(torch.full((5, 1), 0.5))  # outside the support: validated
    assert d.expand((1,)) is d
    f = dist.Bernoulli(logits=torch.tensor([0.0])).expand((3,))
    assert f.logits.shape == (3,) and "probs" not in vars(f)


def test_errors_name_the_parameter():
    with pytest.raises(ValueError, match="Expected parameter probs"):
        dist.Bernoulli(torch.tensor([0.5, 1.5]), validate_args=True)
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        dist.Bernoulli(torch.tensor(0.5), logits=torch.tensor(0.0))
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        dist.Bernoulli()
    with pytest.raises(ValueError, match="Expected value argument"):
        dist.Bernoulli(torch.tensor(0.5), validate_args=True).log_prob(torch.tensor(0.5))
