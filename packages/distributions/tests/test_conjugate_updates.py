"""conjugate_update of Beta, Gamma and Dirichlet: f.log_prob(x) + g.log_prob(x) ==
fg.log_prob(x) + log_normalizer at many x, and the updated parameters in closed form."""
import pytest
import torch

import pyro.distributions as dist


def _pairs():
    torch.manual_seed(0)
    pos = lambda *shape: torch.rand(shape, dtype=torch.float64) * 3 + 1.0  # noqa: E731
    return {
        "Beta": (dist.Beta(pos(3), pos(3)), dist.Beta(pos(2, 1), pos(2, 1))),
        "Gamma": (dist.Gamma(pos(3), pos(3)), dist.Gamma(pos(2, 1), pos(2, 1))),
        "Dirichlet": (dist.Dirichlet(pos(3, 4)), dist.Dirichlet(pos(2, 1, 4))),
    }


@pytest.mark.parametrize("family", ["Beta", "Gamma", "Dirichlet"])
def test_product_identity(family):
    f, g = _pairs()[family]
    fg, log_normalizer = f.conjugate_update(g)
    assert type(fg) is type(f)
    assert fg.batch_shape == (2, 3) and log_normalizer.shape == (2, 3)
    x = fg.sample((50,))
    expected = f.log_prob(x) + g.log_prob(x)
    assert torch.allclose(fg.log_prob(x) + log_normalizer, expected, atol=1e-10)


def test_updated_parameters():
    f, g = dist.Beta(0.5, 1.5), dist.Beta(3.0, 4.0)
    fg, _ = f.conjugate_update(g)
    assert (fg.concentration1.item(), fg.concentration0.item()) == (2.5, 4.5)
    fg, _ = dist.Gamma(0.5, 1.5).conjugate_update(dist.Gamma(3.0, 4.0))
    assert (fg.concentration.item(), fg.rate.item()) == (2.5, 5.5)
    fg, _ = dist.Dirichlet(torch.tensor([0.5, 2.0, 1.0])).conjugate_update(
        dist.Dirichlet(torch.tensor([3.0, 4.0, 2.0])))
    assert fg.concentration.tolist() == [2.5, 5.0, 2.0]


def test_log_normalizer_is_marginal_likelihood():
    # Beta(a, b) prior times a Beta(k + 1, n - k + 1) pseudo-likelihood: the normalizer is
    # B(a + k, b + n - k) / (B(a, b) B(k + 1, n - k + 1)), computed here with lgamma on floats
    import math

    a, b, n, k = 0.5, 1.5, 10.0, 2.0

    def log_b(p, q):
        return math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q)

    _, log_normalizer = dist.Beta(a, b).conjugate_update(dist.Beta(k + 1, n - k + 1))
    expected = log_b(a + k, b + n - k) - log_b(a, b) - log_b(k + 1, n - k + 1)
    assert abs(log_normalizer.item() - expected) < 1e-5


def test_errors():
    with pytest.raises(TypeError, match="expected another Beta"):
        dist.Beta(1.0, 1.0).conjugate_update(dist.Gamma(1.0, 1.0))
    with pytest.raises(TypeError, match="expected another Gamma"):
        dist.Gamma(1.0, 1.0).conjugate_update(dist.Normal(1.0, 1.0))
    with pytest.raises(ValueError, match="event shapes differ"):
        dist.Dirichlet(torch.ones(3)).conjugate_update(dist.Dirichlet(torch.ones(4)))
    with pytest.raises(NotImplementedError):
        dist.Normal(0.0, 1.0).conjugate_update(dist.Normal(0.0, 1.0))
