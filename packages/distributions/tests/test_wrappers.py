"""Pyro's methods on torch families: expand without copies, to_event, mask, the wrapper
classes (Independent, MaskedDistribution, ExpandedDistribution) and the generation of the
torch wrappers from torch's own list."""
import inspect
import math

import pytest
import torch

import pyro.distributions as dist
import pyro.distributions.torch as dist_torch
from pyro.distributions.torch_distribution import (
    ExpandedDistribution,
    MaskedDistribution,
    TorchDistributionMixin,
)


def test_every_torch_family_is_wrapped():
    expected = {
        name for name in torch.distributions.__all__
        if inspect.isclass(getattr(torch.distributions, name))
        and issubclass(getattr(torch.distributions, name), torch.distributions.Distribution)
    } - {"Distribution"}
    assert set(dist_torch.__all__) == expected
    for name in expected:
        cls = getattr(dist, name)
        assert issubclass(cls, getattr(torch.distributions, name))
        assert issubclass(cls, TorchDistributionMixin)


def test_wrapping_a_new_torch_family_without_expand_falls_back_to_expanded():
    class Bump(torch.distributions.Distribution):  # a family with no expand of its own
        arg_constraints = {}
        support = torch.distributions.constraints.real

        def __init__(self, loc):
            self.loc = loc
            super().__init__(loc.shape, validate_args=False)

        def sample(self, sample_shape=torch.Size()):
            return self.loc.expand(self._extended_shape(sample_shape)).clone()

        def log_prob(self, value):
            return -(value - self.loc) ** 2

    Wrapped = dist_torch._wrap(Bump)
    d = Wrapped(torch.zeros(3)).expand((2, 3))
    assert isinstance(d, ExpandedDistribution) and d.batch_shape == (2, 3)
    assert d.sample().shape == (2, 3)


def test_expand_keeps_class_and_shares_parameters():
    loc = torch.randn(3)
    d = dist.Normal(loc, 1.0)
    e = d.expand((4, 3))
    assert type(e) is dist.Normal
    assert e.loc.data_ptr() == loc.data_ptr() and e.loc.stride() == (0, 1)
    assert d.expand((3,)) is d
    with pytest.raises(RuntimeError):
        d.expand((2,))


def test_expand_by_and_shape():
    d = dist.Bernoulli(torch.full((3,), 0.3)).expand_by((2,))
    assert d.batch_shape == (2, 3)
    assert d.shape((5,)) == (5, 2, 3)


def test_call_uses_rsample_when_reparameterizable():
    loc = torch.tensor(0.5, requires_grad=True)
    x = dist.Normal(loc, 1.0)()
    assert x.requires_grad
    y = dist.Bernoulli(torch.tensor(0.5, requires_grad=True))()
    assert not y.requires_grad


# ------------------------------------------------------------------------ to_event


def test_to_event_and_its_inverse():
    d = dist.Normal(torch.zeros(2, 3, 4), 1.0)
    assert d.to_event(0) is d
    e = d.to_event(2)
    assert isinstance(e, dist.Independent)
    assert (e.batch_shape, e.event_shape) == ((2,), (3, 4))
    f = e.to_event(1)  # merged, not nested
    assert f.base_dist is d and f.reinterpreted_batch_ndims == 3
    assert e.to_event(-2) is d
    g = e.to_event(-1)
    assert (g.batch_shape, g.event_shape) == ((2, 3), (4,))
    assert e.to_event().event_shape == (2, 3, 4)


@pytest.mark.parametrize("n", [4, -1])
def test_to_event_errors_name_the_shapes(n):
    with pytest.raises(ValueError, match="batch shape|reinterpreted|to_event"):
        dist.Normal(torch.zeros(2, 3), 1.0).to_event(n)


def test_independent_rejects_too_many_dims():
    with pytest.raises(ValueError, match=r"\(2,\)"):
        dist.Independent(dist.Normal(torch.zeros(2), 1.0), 2)


def test_independent_expand_and_score_parts():
    d = dist.Normal(torch.zeros(3), 1.0).to_event(1).expand((5,))
    assert isinstance(d, dist.Independent)
    assert (d.batch_shape, d.event_shape) == ((5,), (3,))
    x = d.sample()
    parts = d.score_parts(x)
    assert parts.log_prob.shape == (5,) and parts.score_function == 0
    expected = -1.5 * math.log(2 * math.pi) - 0.5 * (x**2).sum(-1)
    assert torch.allclose(parts.entropy_term, expected)


# ---------------------------------------------------------------------------- mask


def test_mask_broadcasts_batch_shape():
    d = dist.Normal(torch.zeros(3), 1.0).mask(torch.tensor([[True], [False]]))
    assert isinstance(d, MaskedDistribution)
    assert d.batch_shape == (2, 3)
    lp = d.log_prob(torch.zeros(3))
    assert lp.shape == (2, 3)
    assert torch.allclose(lp[0], torch.full((3,), -0.5 * math.log(2 * math.pi)))
    assert lp[1].eq(0).all()


def test_mask_zeroes_infinite_log_densities_and_gradients():
    p = torch.tensor([0.0, 0.5], requires_grad=True)
    d = dist.Bernoulli(p, validate_args=False).mask(torch.tensor([False, True]))
    lp = d.log_prob(torch.tensor([1.0, 1.0]))
    assert torch.equal(lp, torch.tensor([0.0, math.log(0.5)]))
    lp.sum().backward()
    assert torch.isfinite(p.grad[1])


def test_mask_score_parts_are_masked():
    d = dist.Bernoulli(torch.full((2,), 0.3)).mask(torch.tensor([True, False]))
    parts = d.score_parts(torch.ones(2))
    assert torch.allclose(parts.log_prob, torch.tensor([math.log(0.3), 0.0]))
    assert torch.allclose(parts.score_function, parts.log_prob)  # masked entries add nothing
    assert parts.entropy_term == 0
    zero = dist.Normal(0.0, 1.0).mask(False).score_parts(torch.ones(4))
    assert all(torch.equal(t, torch.zeros(4)) for t in zero)


def test_mask_accepts_indicators_and_rejects_bad_masks():
    d = dist.Normal(torch.zeros(3), 1.0)
    lp = d.mask(torch.tensor([1.0, 0.0, 1.0])).log_prob(torch.zeros(3))  # AIR's z_pres
    assert lp[1] == 0 and lp[0] == lp[2] != 0
    with pytest.raises(ValueError, match="bool"):
        d.mask([True, False, True])
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        d.mask(torch.ones(2, dtype=torch.bool))


def test_masked_distribution_delegates():
    base = dist.Categorical(torch.ones(2, 3) / 3)
    d = base.mask(torch.tensor([True, False]))
    assert d.has_enumerate_support and not d.has_rsample
    assert d.enumerate_support().shape == (3, 2)
    assert repr(d.support) == repr(base.support)
    assert d.expand((4, 2)).batch_shape == (4, 2)


# --------------------------------------------------------------- ExpandedDistribution


def test_expanded_distribution_draws_independent_entries_in_place():
    # base batch (3, 1) stretched to (2, 3, 4): every entry must be its own draw with the
    # base parameters of its row.
    loc = torch.tensor([[-10.0], [0.0], [10.0]])
    base = dist.Normal(loc, 0.1)
    d = ExpandedDistribution(base, (2, 3, 4))
    x = d.sample((5,))
    assert x.shape == (5, 2, 3, 4)
    # rows keep their locations (0.1 noise << the 10 spacing)
    assert torch.allclose(x.mean((0, 1, 3)), loc.squeeze(-1), atol=0.1)
    # distinct draws along the stretched dims
    assert x.std(-1).min() > 0 and x.std(1).min() > 0
    lp = d.log_prob(x)
    assert torch.allclose(lp, base.log_prob(x))
    assert d.mean.shape == (2, 3, 4) and d.variance.shape == (2, 3, 4)


def test_expanded_distribution_rejects_incompatible_shapes():
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        ExpandedDistribution(dist.Normal(torch.zeros(3), 1.0), (2,))


def test_expanded_distribution_rsample_gradient():
    loc = torch.tensor([1.0], requires_grad=True)
    d = ExpandedDistribution(dist.Normal(loc, 1.0), (4, 1))
    d.rsample((3,)).sum().backward()
    assert loc.grad.item() == 12.0  # d/dloc of 12 draws loc + eps


def test_expanded_enumerate_support():
    d = ExpandedDistribution(dist.Bernoulli(torch.tensor([0.2])), (3, 1))
    assert d.enumerate_support(expand=False).shape == (2, 1, 1)
    assert d.enumerate_support().shape == (2, 3, 1)


# ----------------------------------------------------------------- Pyro's extra classes


def test_delta_log_density_and_event_dim():
    v = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    d = dist.Delta(v, log_density=torch.tensor([0.5, -1.0]), event_dim=1)
    assert (d.batch_shape, d.event_shape) == ((2,), (2,))
    assert torch.equal(d.log_prob(v), torch.tensor([0.5, -1.0]))
    off = v.clone()
    off[1, 0] = 0.0
    assert torch.equal(d.log_prob(off), torch.tensor([0.5, -math.inf]))
    assert torch.equal(d.mean, v) and torch.equal(d.variance, torch.zeros(2, 2))
    assert d.expand((3, 2)).sample().shape == (3, 2, 2)


def test_empirical_sample_log_prob_and_moments():
    samples = torch.tensor([0.0, 1.0, 1.0, 5.0])
    log_weights = torch.tensor([0.1, 0.2, 0.3, 0.4]).log()
    d = dist.Empirical(samples, log_weights)
    assert d.sample_size == 4 and d.batch_shape == () and d.event_shape == ()
    assert torch.allclose(d.log_prob(torch.tensor(1.0)), torch.tensor(0.5).log())
    assert d.log_prob(torch.tensor(2.0)) == -math.inf
    assert torch.allclose(d.mean, torch.tensor(0.2 + 0.3 + 2.0))
    # E[x^2] = 0.5 + 10 = 10.5
    assert torch.allclose(d.variance, torch.tensor(10.5 - 2.5**2))
    assert torch.equal(d.enumerate_support(), torch.tensor([0.0, 1.0, 5.0]))
    # the frequency of 5 in 20000 draws: p = 0.4, sd = sqrt(.24/20000) = 0.0035 -> 5 sd
    x = d.sample((20000,))
    assert abs((x == 5).double().mean().item() - 0.4) < 0.018


def test_empirical_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="log_weights"):
        dist.Empirical(torch.zeros(4, 2), torch.zeros(3))


def test_unit_has_empty_values():
    d = dist.Unit(torch.tensor([0.5, -2.0]))
    x = d.sample((3,))
    assert x.shape == (3, 2, 0) and x.numel() == 0
    assert torch.equal(d.log_prob(x), torch.tensor([0.5, -2.0]).expand(3, 2))
    assert not d.has_rsample and dist.Unit(0.0, has_rsample=True).has_rsample


def test_improper_uniform_cannot_be_sampled_and_scores_zero():
    d = dist.ImproperUniform(dist.constraints.positive_ordered_vector, (2,), (3,))
    with pytest.raises(NotImplementedError, match="sampling"):
        d.sample((4,))
    x = torch.tensor([0.5, 1.0, 3.0]).expand(4, 2, 3)
    assert torch.equal(d.log_prob(x), torch.zeros(4, 2))
    assert d.expand((5, 2)).log_prob(x[0]).shape == (5, 2)
    with pytest.raises(ValueError, match="event_shape"):
        dist.ImproperUniform(dist.constraints.simplex, (), ())


def test_masked_mixture_picks_components():
    mask = torch.tensor([True, False])
    d = dist.MaskedMixture(mask, dist.Normal(0.0, 1.0), dist.Delta(torch.tensor(3.0)))
    x = d.sample()
    assert x[0] == 3.0
    lp = d.log_prob(torch.tensor([3.0, 0.0]))
    assert torch.allclose(lp, torch.tensor([0.0, -0.5 * math.log(2 * math.pi)]))
    # Pyro's mask() still works on a MaskedMixture
    assert d.mask(torch.tensor([False, True])).log_prob(torch.tensor([3.0, 0.0]))[0] == 0


def test_zero_inflated_gate_and_logits_agree():
    x = torch.arange(6.0)
    a = dist.ZeroInflatedPoisson(2.0, gate=torch.tensor(0.3))
    b = dist.ZeroInflatedPoisson(2.0, gate_logits=torch.tensor(0.3).logit())
    assert torch.allclose(a.log_prob(x), b.log_prob(x))
    # p(0) = 0.3 + 0.7 e^{-2}
    expected = torch.tensor(0.3 + 0.7 * math.exp(-2)).log()
    assert torch.allclose(a.log_prob(torch.tensor(0.0)), expected)
    with pytest.raises(ValueError, match="exactly one"):
        dist.ZeroInflatedPoisson(2.0)


def test_lkj_two_dimensional_density_is_beta():
    # For D = 2 the correlation r has density (1 - r^2)^(eta - 1) / (2^(2 eta - 1) B(eta, eta)):
    # (r + 1) / 2 ~ Beta(eta, eta).
    eta = torch.tensor(2.5, dtype=torch.float64)
    r = torch.tensor([-0.7, 0.1, 0.6], dtype=torch.float64)
    c = torch.stack([torch.stack([torch.ones_like(r), r], -1),
                     torch.stack([r, torch.ones_like(r)], -1)], -2)
    lp = dist.LKJ(2, eta).log_prob(c)
    expected = dist.Beta(eta, eta).log_prob((r + 1) / 2) - math.log(2)
    assert torch.allclose(lp, expected)


def test_lkj_cholesky_sampler_matches_its_density_in_three_dimensions():
    # uniform (eta = 1) 3x3 correlation matrices: every correlation has variance 1/4
    # (2 Beta(3/2, 3/2) - 1); 40000 draws: sd of the variance estimate ~ 0.0016 -> 5 sd.
    L = dist.LKJCholesky(3, 1.0).sample((40000,))
    c = L @ L.mT
    var = c.var(0)
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        assert abs(var[i, j].item() - 0.25) < 0.009, (i, j, var)


def test_ordered_logistic_probabilities():
    d = dist.OrderedLogistic(torch.tensor(0.5), torch.tensor([-1.0, 0.0, 2.0]))
    s = torch.sigmoid(torch.tensor([-1.5, -0.5, 1.5]))
    expected = torch.stack([s[0], s[1] - s[0], s[2] - s[1], 1 - s[2]])
    assert torch.allclose(d.probs, expected)
    assert d.expand((2,)).batch_shape == (2,)
    assert isinstance(d.expand((2,)), dist.OrderedLogistic)


def test_folded_normal_moments_and_other_bases():
    d = dist.FoldedDistribution(dist.Normal(0.0, 2.0))
    assert torch.allclose(d.mean, torch.tensor(2 * math.sqrt(2 / math.pi)))
    with pytest.raises(ValueError, match="univariate"):
        dist.FoldedDistribution(dist.Normal(torch.zeros(2), 1.0).to_event(1))
