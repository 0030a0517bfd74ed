"""LinearHMMReparam: with heavy-tailed noises reparameterized by auxiliary variables the
site becomes a Gaussian HMM whose density (given the auxiliaries) is the dense Gaussian of
the sequence, and whose draws have the LinearHMM's law."""
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer.reparam import LinearHMMReparam, StudentTReparam, SymmetricStableReparam

T, H, O = 4, 2, 3


def _params():
    gen = torch.Generator().manual_seed(1)
    trans_matrix = 0.8 * torch.eye(H) + 0.1 * torch.randn(H, H, generator=gen)
    obs_matrix = torch.randn(H, O, generator=gen)
    return trans_matrix, obs_matrix


def _hmm(init_noise, trans_noise, obs_noise):
    trans_matrix, obs_matrix = _params()
    return dist.LinearHMM(init_noise, trans_matrix, trans_noise, obs_matrix, obs_noise,
                          duration=T)


def _dense_log_prob(y, init_scale, trans_scale, obs_scale):
    """log N(y) of the sequence for independent Normal noises of the given scales
    (shapes (H,), (T, H), (T, O)): y is linear in the noises, y = noise @ L."""
    trans_matrix, obs_matrix = _params()

    def sequence(noise):
        z = noise[:H]
        e = noise[H:H + T * H].reshape(T, H)
        v = noise[H + T * H:].reshape(T, O)
        ys = []
        for t in range(T):
            z = z @ trans_matrix + e[t]
            ys.append(z @ obs_matrix + v[t])
        return torch.stack(ys).reshape(-1)

    size = H + T * H + T * O
    L = torch.autograd.functional.jacobian(sequence, torch.zeros(size))
    var = torch.cat([init_scale**2, trans_scale.reshape(-1) ** 2, obs_scale.reshape(-1) ** 2])
    cov = L @ torch.diag(var) @ L.T
    return dist.MultivariateNormal(torch.zeros(T * O), cov).log_prob(y.reshape(-1))


def test_conditionally_gaussian_density():
    init = dist.Normal(torch.zeros(H), 1.0).to_event(1)
    trans = dist.StudentT(4.0, torch.zeros(H), 0.5).to_event(1)
    obs = dist.StudentT(5.0, torch.zeros(O), 0.3).to_event(1)
    hmm = _hmm(init, trans, obs)
    data = torch.randn(T, O)
    gammas = {"x_trans_gamma": torch.rand(T, H) + 0.5, "x_obs_gamma": torch.rand(T, O) + 0.5}

    def model():
        return pyro.sample("x", hmm, obs=data)

    reparam = LinearHMMReparam(trans=StudentTReparam(), obs=StudentTReparam())
    conditioned = poutine.condition(poutine.reparam(model, {"x": reparam}), gammas)
    trace = poutine.trace(conditioned).get_trace()
    site = trace.nodes["x"]
    assert isinstance(site["fn"], dist.GaussianHMM) and site["is_observed"]
    assert trace.nodes["x_trans_gamma"]["fn"].event_shape == (T, H)
    expected = _dense_log_prob(data, torch.ones(H), 0.5 * gammas["x_trans_gamma"].rsqrt(),
                               0.3 * gammas["x_obs_gamma"].rsqrt())
    assert torch.allclose(site["fn"].log_prob(data), expected, atol=1e-4)


def test_transformed_observations():
    init = dist.Normal(torch.zeros(H), 1.0).to_event(1)
    trans = dist.Normal(torch.zeros(H), 0.5).to_event(1)
    obs = dist.TransformedDistribution(dist.StudentT(5.0, torch.zeros(O), 0.3),
                                       [dist.transforms.ExpTransform()]).to_event(1)
    hmm = _hmm(init, trans, obs)
    data = torch.rand(T, O) + 0.5
    gamma = torch.rand(T, O) + 0.5

    def model():
        return pyro.sample("x", hmm, obs=data)

    conditioned = poutine.condition(
        poutine.reparam(model, {"x": LinearHMMReparam(obs=StudentTReparam())}),
        {"x_obs_gamma": gamma})
    trace = poutine.trace(conditioned).get_trace()
    fn = trace.nodes["x"]["fn"]
    assert isinstance(fn, dist.TransformedDistribution)
    expected = _dense_log_prob(data.log(), torch.ones(H), torch.full((T, H), 0.5),
                               0.3 * gamma.rsqrt()) - data.log().sum()
    assert torch.allclose(fn.log_prob(data), expected, atol=1e-4)


def test_latent_law_matches_linear_hmm():
    n = 20000
    init = dist.Stable(1.9, 0.0, torch.ones(H)).to_event(1)
    trans = dist.StudentT(5.0, torch.zeros(H), 0.5).to_event(1)
    obs = dist.Normal(torch.zeros(O), 0.3).to_event(1)
    hmm = _hmm(init, trans, obs)

    def model():
        with pyro.plate("draws", n):
            return pyro.sample("x", hmm)

    reparam = LinearHMMReparam(init=SymmetricStableReparam(), trans=StudentTReparam())
    trace = poutine.trace(poutine.reparam(model, {"x": reparam})).get_trace()
    x = trace.nodes["x"]["value"].detach()
    assert x.shape == (n, T, O)
    other = hmm.rsample((n,)).detach()
    # compare the bulk: medians and interquartile ranges per coordinate (the stable
    # initial noise has infinite variance); binomial error of a quantile <= 0.5/sqrt(n)
    for q in (0.25, 0.5, 0.75):
        qa, qb = x.quantile(q, dim=0), other.quantile(q, dim=0)
        level = (other <= qa).double().mean(0)
        assert ((level - q).abs() < 5 * 0.5 * math.sqrt(2 / n)).all(), (q, qa - qb)


def test_errors():
    with pytest.raises(TypeError, match="LinearHMM"):
        poutine.reparam(lambda: pyro.sample("x", dist.Normal(0.0, 1.0)),
                        {"x": LinearHMMReparam()})()
