"""TraceGraph_ELBO finds the downstream cost of a non-reparameterized site by provenance:
sites drawn after it that do not depend on it stay out of its score-function term, and
sites that depend on it (through a distribution parameter) are in it."""
import math

import pytest
import torch
from scipy import stats

import pyro
import pyro.distributions as dist
from pyro.distributions.testing.rejection_gamma import RejectionStandardGamma
from pyro.infer import Trace_ELBO, TraceGraph_ELBO
from pyro.ops.provenance import ProvenanceTensor


def _single_draw_grad(model, guide, logit):
    pyro.set_rng_seed(0)
    loss = TraceGraph_ELBO().differentiable_loss(model, guide)
    assert not isinstance(loss, ProvenanceTensor)  # the labels stay inside the ELBO
    (g,) = torch.autograd.grad(loss, [logit])
    pyro.set_rng_seed(0)
    b = pyro.poutine.trace(guide).get_trace().nodes["b"]["value"].item()
    q1 = torch.sigmoid(logit).item()
    return g.item(), b, math.log(q1 if b else 1 - q1), (1 - q1) if b else -q1


def test_later_independent_sites_are_not_in_the_cost():
    logit = torch.tensor(0.3, requires_grad=True)

    def model():
        b = pyro.sample("b", dist.Bernoulli(0.5))
        pyro.sample("xb", dist.Normal(b, 1.0), obs=torch.tensor(1.0))
        c = pyro.sample("c", dist.Normal(0.0, 1.0))  # drawn after b, independent of it
        pyro.sample("xc", dist.Normal(c, 0.01), obs=torch.tensor(5.0))

    def guide():
        pyro.sample("b", dist.Bernoulli(logits=logit))
        pyro.sample("c", dist.Normal(0.0, 1.0))

    g, b, log_q, dlogq = _single_draw_grad(model, guide, logit)
    cost = math.log(0.5) + stats.norm(b, 1).logpdf(1.0) - log_q
    assert g == pytest.approx(-dlogq * cost, abs=1e-4)


def test_dependent_sites_are_in_the_cost():
    logit = torch.tensor(-0.2, requires_grad=True)
    c_value = torch.tensor(0.7)

    def model():
        b = pyro.sample("b", dist.Bernoulli(0.5))
        pyro.sample("c", dist.Normal(b, 1.0), obs=c_value)  # depends on b via its loc
        pyro.sample("d", dist.Normal(0.0, 1.0), obs=torch.tensor(3.0))  # does not

    def guide():
        pyro.sample("b", dist.Bernoulli(logits=logit))

    g, b, log_q, dlogq = _single_draw_grad(model, guide, logit)
    cost = math.log(0.5) + stats.norm(b, 1).logpdf(0.7) - log_q
    assert g == pytest.approx(-dlogq * cost, abs=1e-4)


def test_partially_reparameterized_sites_keep_their_score_term():
    # a rejection sampler has rsample and a score term; its draw is not labelled, so
    # everything after it is its downstream cost, as Trace_ELBO's cost is for a first site
    alpha = torch.tensor(2.5, requires_grad=True)

    def model():
        z = pyro.sample("z", dist.Gamma(2.0, 1.0))
        pyro.sample("x", dist.Normal(z, 1.0), obs=torch.tensor(1.5))

    def guide():
        pyro.sample("z", RejectionStandardGamma(alpha))

    grads = []
    for elbo in (Trace_ELBO(), TraceGraph_ELBO()):
        pyro.set_rng_seed(3)
        (g,) = torch.autograd.grad(elbo.differentiable_loss(model, guide), [alpha])
        grads.append(g.item())
    assert grads[1] == pytest.approx(grads[0], rel=1e-5, abs=1e-6)
