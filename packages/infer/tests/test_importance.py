"""Importance sampling against the exact conjugate posterior, with tolerances from the
effective sample size."""
import math

import pytest
import torch
from scipy import stats

import pyro
import pyro.distributions as dist
from pyro.infer import EmpiricalMarginal, Importance

X = torch.tensor([1.2, 0.4, 2.0])
# prior N(0, 1), likelihood N(x_i; z, 1): posterior N(sum x / 4, 1 / 4)
POST_MEAN, POST_SD = X.sum().item() / 4, 0.5


def model(x):
    z = pyro.sample("z", dist.Normal(0.0, 1.0))
    with pyro.plate("data", len(x)):
        pyro.sample("x", dist.Normal(z, 1.0), obs=x)
    return z


def test_prior_proposal_recovers_posterior_mean_within_ess_error():
    posterior = Importance(model, num_samples=1000).run(X)
    ess = posterior.get_ESS().item()
    assert 100 < ess < 1000
    marginal = EmpiricalMarginal(posterior, sites="z")
    # the weighted mean has sd about POST_SD / sqrt(ESS): allow 5 of them
    assert abs(marginal.mean.item() - POST_MEAN) < 5 * POST_SD / math.sqrt(ess)
    # variance estimate: sd ~ var * sqrt(2 / ESS)
    assert abs(marginal.variance.item() - POST_SD**2) < 5 * POST_SD**2 * math.sqrt(2 / ess)


def test_log_normalizer_estimates_the_evidence():
    posterior = Importance(model, num_samples=1500).run(X)
    cov = torch.eye(3) + torch.ones(3, 3)
    exact = stats.multivariate_normal(mean=[0.0] * 3, cov=cov.numpy()).logpdf(X.numpy())
    # log of a mean of weights with relative sd ~ sqrt(N / ESS - 1) / sqrt(N)
    ess = posterior.get_ESS().item()
    rel_sd = math.sqrt(max(1500 / ess - 1, 1e-6) / 1500)
    assert abs(posterior.get_log_normalizer().item() - exact) < 5 * rel_sd + 1e-3
    w = posterior.get_normalized_weights()
    assert w.shape == (1500,) and abs(w.sum().item() - 1) < 1e-5


def test_exact_guide_gives_equal_weights_and_full_ess():
    def guide(x):
        pyro.sample("z", dist.Normal(POST_MEAN, POST_SD))

    posterior = Importance(model, guide=guide, num_samples=200).run(X)
    lw = torch.stack([torch.as_tensor(w) for w in posterior.log_weights])
    assert torch.allclose(lw, lw[0].expand_as(lw), atol=1e-4)
    assert posterior.get_ESS().item() == pytest.approx(200, rel=1e-4)
    # return values are a marginal too (site "_RETURN")
    ret = EmpiricalMarginal(posterior)
    assert ret.sample((5,)).shape == (5,)


def test_traces_and_errors():
    posterior = Importance(model, num_samples=5).run(X)
    assert len(posterior.exec_traces) == 5
    first = posterior.exec_traces[0]
    assert "x" in first.nodes and first.nodes["x"]["is_observed"]
    with pytest.raises(ValueError, match="num_samples"):
        Importance(model, num_samples=0)
    with pytest.raises(ValueError, match="nope"):
        EmpiricalMarginal(posterior, sites="nope")
