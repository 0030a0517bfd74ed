"""StudentT, ProjectedNormal, Gumbel-softmax and conjugate reparameterizers, and the
Reparam protocol: each keeps the original site's law."""
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer.reparam import (
    ConjugateReparam,
    GumbelSoftmaxReparam,
    ProjectedNormalReparam,
    StudentTReparam,
)
from pyro.infer.reparam.reparam import Reparam

N = 20000


def _draws(fn, reparam, n=N, obs=None):
    def model():
        with pyro.plate("draws", n):
            return pyro.sample("x", fn, obs=obs)

    return poutine.trace(poutine.reparam(model, {"x": reparam})).get_trace()


def test_studentt_marginal_density_by_quadrature():
    # int Normal(y; loc, scale / sqrt(tau)) Gamma(tau; df/2, df/2) dtau = StudentT(y)
    df, loc, scale = 3.5, 0.4, 1.7
    taus = torch.linspace(1e-4, 30.0, 30001, dtype=torch.float64)
    y = torch.tensor([-3.0, 0.0, 1.2, 6.0], dtype=torch.float64)

    def model():
        with pyro.plate("taus", len(taus), dim=-2), pyro.plate("points", len(y)):
            pyro.sample("y", dist.StudentT(torch.tensor(df, dtype=torch.float64), loc, scale),
                        obs=y)

    conditioned = poutine.condition(poutine.reparam(model, {"y": StudentTReparam()}),
                                    {"y_gamma": taus.unsqueeze(-1).expand(-1, len(y))})
    trace = poutine.trace(conditioned).get_trace()
    site = trace.nodes["y"]
    assert site["is_observed"] and isinstance(site["fn"], dist.Normal)
    integrand = (site["fn"].log_prob(y) + dist.Gamma(df / 2, df / 2).log_prob(
        taus.unsqueeze(-1))).exp()
    marginal = torch.trapezoid(integrand, taus, dim=0)
    exact = dist.StudentT(df, loc, scale).log_prob(y).exp()
    assert torch.allclose(marginal, exact, rtol=1e-4)


def test_studentt_latent_moments():
    df, loc, scale = 7.0, -1.0, 0.5
    trace = _draws(dist.StudentT(df, loc, scale), StudentTReparam())
    assert not trace.nodes["x"]["is_observed"]
    x = trace.nodes["x"]["value"]
    var = scale**2 * df / (df - 2)
    assert abs(x.mean() - loc) < 5 * math.sqrt(var / N)
    assert abs(x.var() - var) < 6 * math.sqrt(8 / N) * var
    with pytest.raises(TypeError, match="StudentT"):
        _draws(dist.Normal(0.0, 1.0), StudentTReparam(), n=2)


def test_projected_normal_law():
    conc = torch.tensor([1.0, -0.5, 2.0])
    trace = _draws(dist.ProjectedNormal(conc), ProjectedNormalReparam())
    x = trace.nodes["x"]["value"]
    normal = trace.nodes["x_normal"]
    assert normal["fn"].event_shape == (3,) and trace.nodes["x"]["is_observed"]
    assert torch.allclose(x.norm(dim=-1), torch.ones(N))
    # same mean resultant vector as the distribution's own sampler (two samples)
    other = dist.ProjectedNormal(conc).sample((N,))
    se = (x.var(0) / N + other.var(0) / N).sqrt()
    assert ((x.mean(0) - other.mean(0)).abs() < 5 * se).all()
    # as Pyro: the auxiliary is standard normal noise added to the concentration
    noise = torch.tensor([0.3, -1.0, 2.0])
    model = poutine.reparam(lambda: pyro.sample("x", dist.ProjectedNormal(conc)),
                            {"x": ProjectedNormalReparam()})
    trace = poutine.trace(poutine.condition(model, {"x_normal": noise})).get_trace()
    assert torch.allclose(trace.nodes["x_normal"]["fn"].base_dist.loc, torch.zeros(3))
    assert torch.allclose(trace.nodes["x"]["value"], (conc + noise) / (conc + noise).norm())
    with pytest.raises(NotImplementedError, match="observed"):
        _draws(dist.ProjectedNormal(conc), ProjectedNormalReparam(), n=2,
               obs=torch.tensor([1.0, 0.0, 0.0]).expand(2, 3))


def test_gumbel_softmax_law():
    logits = torch.tensor([0.5, -1.0, 1.5])
    temperature = torch.tensor(0.7)
    fn = dist.RelaxedOneHotCategorical(temperature, logits=logits)
    trace = _draws(fn, GumbelSoftmaxReparam())
    x = trace.nodes["x"]["value"]
    assert trace.nodes["x_uniform"]["fn"].event_shape == (3,)
    other = fn.sample((N,))
    se = (x.var(0) / N + other.var(0) / N).sqrt()
    assert ((x.mean(0) - other.mean(0)).abs() < 5 * se).all()
    # the argmax of a relaxed draw is Categorical(logits) (Gumbel-max)
    counts = torch.bincount(x.argmax(-1), minlength=3).double() / N
    probs = logits.softmax(-1).double()
    assert ((counts - probs).abs() < 5 * (probs * (1 - probs) / N).sqrt()).all()


def test_gumbel_softmax_straight_through():
    logits = torch.tensor([0.5, -1.0, 1.5], requires_grad=True)
    fn = dist.RelaxedOneHotCategoricalStraightThrough(torch.tensor(0.5), logits=logits)
    trace = _draws(fn, GumbelSoftmaxReparam(), n=100)
    x = trace.nodes["x"]["value"]
    assert ((x == 0) | (x == 1)).all() and (x.sum(-1) == 1).all()
    (x * torch.arange(3.0)).sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def _log_beta(d):
    a, b = d.concentration1, d.concentration0
    return torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)


@pytest.mark.parametrize("callable_guide", [False, True])
def test_conjugate_exact_posterior(callable_guide):
    total, count = torch.tensor(10.0), torch.tensor(2.0)

    def model(total):
        prob = pyro.sample("prob", dist.Beta(0.5, 1.5))  # Beta.conjugate_update
        pyro.sample("count", dist.Binomial(total, prob), obs=count)

    likelihood = dist.Beta(1 + count, 1 + total - count)
    guide = (lambda total: dist.Beta(1 + count, 1 + total - count)) if callable_guide \
        else likelihood
    reparam_model = poutine.reparam(model, {"prob": ConjugateReparam(guide)})
    # with the exact likelihood every draw has the same weight: the log evidence
    log_evidence = (torch.lgamma(total + 1) - torch.lgamma(count + 1)
                    - torch.lgamma(total - count + 1)
                    + torch.lgamma(0.5 + count) + torch.lgamma(1.5 + total - count)
                    - torch.lgamma(2.0 + total) - _log_beta(dist.Beta(0.5, 1.5)))
    for _ in range(3):
        trace = poutine.trace(reparam_model).get_trace(total)
        assert trace.nodes["prob"]["is_observed"]
        assert torch.allclose(trace.log_prob_sum(), log_evidence, atol=1e-4)
    # the draws follow the conjugate posterior Beta(2.5, 9.5)
    probs = torch.stack([poutine.trace(reparam_model).get_trace(total).nodes["prob"]["value"]
                         for _ in range(800)])
    mean = 2.5 / 12
    sd = math.sqrt(2.5 * 9.5 / (12**2 * 13))
    assert abs(probs.mean() - mean) < 5 * sd / math.sqrt(800)


def test_conjugate_errors():
    with pytest.raises(ValueError, match="observed"):
        poutine.reparam(lambda: pyro.sample("p", dist.Beta(1.0, 1.0), obs=torch.tensor(0.5)),
                        {"p": ConjugateReparam(dist.Beta(2.0, 2.0))})()
    with pytest.raises(NotImplementedError):
        poutine.reparam(lambda: pyro.sample("p", dist.Normal(0.0, 1.0)),
                        {"p": ConjugateReparam(dist.Normal(1.0, 1.0))})()


class _OldStyle(Reparam):
    # Pyro's deprecated interface __call__(name, fn, obs) -> (fn, obs)
    def __call__(self, name, fn, obs):
        return dist.Normal(fn.loc + 10.0, fn.scale), obs


def test_old_interface_and_base_class():
    model = poutine.reparam(lambda: pyro.sample("x", dist.Normal(0.0, 1.0)),
                            {"x": _OldStyle()})
    with pytest.warns(FutureWarning):
        trace = poutine.trace(model).get_trace()
    assert float(trace.nodes["x"]["fn"].loc) == 10.0
    with pytest.raises(NotImplementedError, match="apply"):
        Reparam().apply({"name": "x", "fn": dist.Normal(0.0, 1.0), "value": None,
                         "is_observed": False})
    # the deprecated call of a new-style reparameterizer still works
    with pytest.warns(FutureWarning):
        fn, value = StudentTReparam()("y", dist.StudentT(3.0, 0.0, 1.0), torch.tensor(0.5))
    assert isinstance(fn, dist.Normal) and float(value) == 0.5
