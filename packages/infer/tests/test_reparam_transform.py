"""TransformReparam, SplitReparam and the unit-Jacobian reparameterizers (DCT, Haar): the
original site keeps its law / log density; given values map to the new sites."""
import math

import pytest
import torch
from torch.distributions import constraints

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.distributions.transforms import DiscreteCosineTransform, HaarTransform
from pyro.infer.reparam import (
    DiscreteCosineReparam,
    HaarReparam,
    SplitReparam,
    TransformReparam,
    UnitJacobianReparam,
)
from pyro.infer.reparam.split import default_support, real_support, same_support


def _trace(fn, reparam, obs=None, n=None):
    def model():
        if n is None:
            return pyro.sample("x", fn, obs=obs)
        with pyro.plate("draws", n):
            return pyro.sample("x", fn, obs=obs)

    return poutine.trace(poutine.reparam(model, {"x": reparam})).get_trace()


def test_transform_latent_law():
    n = 20000
    trace = _trace(dist.LogNormal(0.5, 0.8), TransformReparam(), n=n)
    x = trace.nodes["x"]["value"]
    assert trace.nodes["x_base"]["fn"].batch_shape == (n,)
    assert torch.allclose(x, trace.nodes["x_base"]["value"].exp())
    log_x = x.log()
    assert abs(log_x.mean() - 0.5) < 5 * 0.8 / math.sqrt(n)
    assert abs(log_x.std() - 0.8) < 5 * 0.8 / math.sqrt(2 * n)


def test_transform_observed_and_event_dims():
    value = torch.tensor([1.0, 2.0, 0.5])
    fn = dist.LogNormal(torch.zeros(3), 1.0).to_event(1)
    trace = _trace(fn, TransformReparam(), obs=value)
    base = trace.nodes["x_base"]
    assert base["is_observed"] and base["fn"].event_shape == (3,)
    assert torch.allclose(base["value"], value.log())
    assert torch.allclose(trace.nodes["x"]["value"], value)


def test_transform_requires_transformed_distribution():
    with pytest.raises(TypeError, match="TransformedDistribution"):
        _trace(dist.Normal(0.0, 1.0), TransformReparam())


def test_split_observed_keeps_log_density():
    fn = dist.MultivariateNormal(torch.zeros(5), torch.eye(5) + 0.5)
    value = torch.tensor([0.3, -1.0, 0.2, 2.0, 0.1])
    trace = _trace(fn, SplitReparam([2, 3], -1), obs=value)
    assert torch.equal(trace.nodes["x_split_0"]["value"], value[:2])
    assert torch.equal(trace.nodes["x_split_1"]["value"], value[2:])
    assert trace.nodes["x_split_1"]["fn"].event_shape == (3,)
    assert torch.allclose(trace.log_prob_sum(), fn.log_prob(value))


def test_split_latent_given_parts():
    fn = dist.Normal(torch.zeros(2, 5), 2.0).to_event(1)
    parts = {"x_split_0": torch.randn(2, 1), "x_split_1": torch.randn(2, 4)}

    def model():
        return pyro.sample("x", fn)

    conditioned = poutine.condition(poutine.reparam(model, {"x": SplitReparam([1, 4], -1)}),
                                    parts)
    trace = poutine.trace(conditioned).get_trace()
    value = torch.cat([parts["x_split_0"], parts["x_split_1"]], -1)
    assert torch.equal(trace.nodes["x"]["value"], value)
    assert torch.allclose(trace.log_prob_sum(), fn.log_prob(value).sum())


def test_split_supports():
    fn = dist.Uniform(torch.arange(5.0), torch.arange(5.0) + 1).to_event(1)
    part = default_support(fn, slice(1, 3), -1)
    assert isinstance(part, constraints.independent)
    assert torch.equal(part.base_constraint.lower_bound, torch.tensor([1.0, 2.0]))
    assert real_support(fn, slice(1, 3), -1).check(torch.tensor([-9.0, 9.0]))
    assert torch.equal(same_support(fn).base_constraint.upper_bound, torch.arange(5.0) + 1)
    assert torch.equal(part.base_constraint.upper_bound, torch.tensor([2.0, 3.0]))
    simplex = dist.Dirichlet(torch.ones(4))
    assert default_support(simplex, slice(0, 2), -1) is simplex.support
    with pytest.raises(ValueError, match="add up"):
        _trace(dist.Normal(torch.zeros(5), 1.0).to_event(1), SplitReparam([2, 2], -1),
               obs=torch.zeros(5))
    with pytest.raises(ValueError, match="not an event dim"):
        _trace(dist.Normal(torch.zeros(5), 1.0), SplitReparam([2, 3], -1), obs=torch.zeros(5))


@pytest.mark.parametrize("reparam,transform", [
    (DiscreteCosineReparam(), DiscreteCosineTransform()),
    (DiscreteCosineReparam(smooth=1.0), DiscreteCosineTransform(smooth=1.0)),
    (HaarReparam(), HaarTransform()),
    (HaarReparam(flip=True), HaarTransform(flip=True)),
    (UnitJacobianReparam(HaarTransform(dim=-2), suffix="w"), HaarTransform(dim=-2)),
])
def test_unit_jacobian_log_density(reparam, transform):
    # a correlated series: the log density of the new site is the original's at x
    fn = dist.Normal(torch.zeros(6, 4).cumsum(0), torch.linspace(0.5, 2.0, 4)).to_event(2)
    value = torch.randn(6, 4).cumsum(0)
    trace = _trace(fn, reparam, obs=value)
    suffix = reparam.suffix
    y = trace.nodes[f"x_{suffix}"]
    assert y["is_observed"]
    assert torch.allclose(y["value"], transform(value), atol=1e-5)
    assert torch.allclose(trace.nodes["x"]["value"], value, atol=1e-5)
    trace.compute_log_prob()
    assert torch.allclose(y["log_prob"], fn.log_prob(value), atol=1e-4)
    assert (trace.nodes["x"]["log_prob"] == 0).all()


def test_unit_jacobian_latent_law():
    # a Gaussian random walk sampled through the DCT keeps its covariance min(i, j) + 1
    n, T = 20000, 4
    fn = dist.MultivariateNormal(torch.zeros(T), scale_tril=torch.ones(T, T).tril())
    trace = _trace(fn, DiscreteCosineReparam(), n=n)
    x = trace.nodes["x"]["value"]
    assert x.shape == (n, T)
    cov = x.T @ x / n
    exact = torch.ones(T, T).tril() @ torch.ones(T, T).tril().T
    # sd of a sample covariance entry: sqrt((s_ii s_jj + s_ij^2) / n) <= sqrt(2 / n) s_max
    assert torch.allclose(cov, exact, atol=6 * math.sqrt(2 / n) * T)


def test_unit_jacobian_batch_dims():
    fn = dist.Normal(torch.zeros(4), 1.0)
    with pytest.raises(ValueError, match="experimental_allow_batch"):
        _trace(fn, DiscreteCosineReparam())
    value = torch.tensor([1.0, 2.0, 0.0, -1.0])
    trace = _trace(fn, DiscreteCosineReparam(experimental_allow_batch=True), obs=value)
    assert trace.nodes["x_dct"]["value"].shape == (1, 4)
    assert torch.allclose(trace.nodes["x"]["value"], value, atol=1e-6)
    trace.compute_log_prob()
    assert torch.allclose(trace.nodes["x_dct"]["log_prob"].sum(), fn.log_prob(value).sum(),
                          atol=1e-5)


def test_split_trains_with_autoguide():
    optim = pytest.importorskip("pyro.optim", reason="SVI needs pyro-optim")
    autoguide = pytest.importorskip("pyro.infer.autoguide", reason="needs pyro-autoguide")
    from pyro.infer import SVI, Trace_ELBO

    data = torch.tensor([1.0, 2.0, 3.0])

    def model():
        x = pyro.sample("x", dist.Normal(torch.zeros(3), 1.0).to_event(1))
        pyro.sample("y", dist.Normal(x, 1.0).to_event(1), obs=data)

    reparam_model = poutine.reparam(model, {"x": SplitReparam([1, 2], -1)})
    guide = autoguide.AutoDelta(reparam_model)
    svi = SVI(reparam_model, guide, optim.Adam({"lr": 0.1}), Trace_ELBO())
    for _ in range(300):
        svi.step()
    # MAP of the conjugate model: data / 2, split into its parts
    median = guide.median()
    assert torch.allclose(median["x_split_0"].detach(), data[:1] / 2, atol=0.02)
    assert torch.allclose(median["x_split_1"].detach(), data[1:] / 2, atol=0.02)
