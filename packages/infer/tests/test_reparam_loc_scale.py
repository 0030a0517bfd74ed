"""LocScaleReparam: the decentered model has the original site's law, maps given values by
the inverse map, learns its centeredness, and trains under SVI."""
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer.reparam import LocScaleReparam

N = 20000


def _draws(fn, reparam, n=N):
    def model():
        with pyro.plate("draws", n):
            return pyro.sample("x", fn)

    trace = poutine.trace(poutine.reparam(model, {"x": reparam})).get_trace()
    return trace, trace.nodes["x"]["value"].detach()


@pytest.mark.parametrize("centered", [0.0, 0.3, 1.0, None])
@pytest.mark.parametrize("family", ["normal", "studentt", "laplace"])
def test_moments_match(family, centered):
    loc, scale = torch.tensor(1.5), torch.tensor(2.0)
    if family == "normal":
        fn, shape, var = dist.Normal(loc, scale), (), scale**2
    elif family == "studentt":
        fn, shape, var = dist.StudentT(6.0, loc, scale), ("df",), scale**2 * 6 / 4
    else:
        fn, shape, var = dist.Laplace(loc, scale), (), 2 * scale**2
    _, x = _draws(fn, LocScaleReparam(centered, shape))
    sd = var.sqrt()
    assert abs(x.mean() - loc) < 5 * sd / math.sqrt(N)
    # the variance of the sample variance needs the fourth moment: a loose 6-sigma bound
    # with kurtosis at most 9 (Student-t with 6 df) gives sd(s^2) <= sqrt(8/N) var
    assert abs(x.var() - var) < 6 * math.sqrt(8 / N) * var


def test_centered_one_leaves_site():
    trace, _ = _draws(dist.Normal(0.0, 1.0), LocScaleReparam(1.0), n=3)
    assert "x_decentered" not in trace.nodes
    assert not trace.nodes["x"]["is_observed"]


def test_decentered_sites_and_param_shape():
    def model():
        with pyro.plate("p", 4):
            pyro.sample("x", dist.Normal(torch.zeros(3), 1.0).to_event(1))
            pyro.sample("y", dist.Normal(0.0, 1.0))

    config = {"x": LocScaleReparam(), "y": LocScaleReparam()}
    trace = poutine.trace(poutine.reparam(model, config)).get_trace()
    store = pyro.get_param_store()
    assert store["x_centered"].shape == (3,)
    assert store["y_centered"].shape == ()
    assert torch.allclose(store["x_centered"], torch.full((3,), 0.5))
    x = trace.nodes["x"]
    assert x["is_observed"] and x["value"].shape == (4, 3)
    assert trace.nodes["x_decentered"]["fn"].event_shape == (3,)
    # the deterministic site has no density of its own
    trace.compute_log_prob()
    assert (x["log_prob"] == 0).all()


@pytest.mark.parametrize("centered", [0.0, 0.4])
def test_given_value_maps_to_decentered(centered):
    loc, scale = torch.tensor([1.0, 2.0]), torch.tensor([2.0, 3.0])
    value = torch.tensor([0.5, -1.0])

    def model(obs):
        return pyro.sample("x", dist.Normal(loc, scale).to_event(1), obs=obs)

    reparam_model = poutine.reparam(model, {"x": LocScaleReparam(centered)})
    trace = poutine.trace(reparam_model).get_trace(value)
    dec = trace.nodes["x_decentered"]
    expected = centered * loc + (value - loc) / scale ** (1 - centered)
    assert torch.allclose(dec["value"], expected)
    assert dec["is_observed"]
    assert torch.allclose(trace.nodes["x"]["value"], value)

    # a latent site with an initial value: the decentered site is latent with that image
    def init_model():
        return pyro.sample("x", dist.Normal(loc, scale).to_event(1), obs=value,
                           infer={"is_observed": False})

    trace = poutine.trace(poutine.reparam(init_model, {"x": LocScaleReparam(centered)})).get_trace()
    assert not trace.nodes["x_decentered"]["is_observed"]
    assert torch.allclose(trace.nodes["x_decentered"]["value"], expected)


def test_fully_decentered_log_density():
    # log N(x; mu, s) = log N(eps; 0, 1) - log s at x = mu + s eps
    loc, scale = torch.tensor(0.7), torch.tensor(1.9)
    trace, x = _draws(dist.Normal(loc, scale), LocScaleReparam(0.0), n=5)
    trace.compute_log_prob()
    eps = trace.nodes["x_decentered"]["value"]
    assert torch.allclose(x, loc + scale * eps)
    assert torch.allclose(trace.nodes["x_decentered"]["log_prob"],
                          dist.Normal(loc, scale).log_prob(x) + scale.log())


def test_stable_keeps_coords_and_shape_params():
    fn = dist.Stable(1.5, 0.5, 2.0, 1.0, coords="S")
    trace, _ = _draws(fn, LocScaleReparam(0.0, ["stability", "skew"]), n=2)
    dec = trace.nodes["x_decentered"]["fn"]
    assert dec.coords == "S" and float(dec.scale[0]) == 1.0 and float(dec.loc[0]) == 0.0


def test_errors():
    with pytest.raises(ValueError, match="centered"):
        LocScaleReparam(1.5)
    with pytest.raises(ValueError, match="loc and scale"):
        _draws(dist.Gamma(2.0, 1.0), LocScaleReparam(0.0), n=2)


def test_svi_learns_posterior_and_centering():
    optim = pytest.importorskip("pyro.optim", reason="SVI needs pyro-optim")
    from pyro.infer import SVI, Trace_ELBO

    data = torch.tensor([0.9, 1.4, 0.6, 1.1])
    prior_scale = 3.0

    def model():
        mu = pyro.sample("mu", dist.Normal(0.0, prior_scale))
        with pyro.plate("data", len(data)):
            pyro.sample("obs", dist.Normal(mu, 1.0), obs=data)

    def guide():
        q_loc = pyro.param("q_loc", torch.tensor(0.0))
        q_scale = pyro.param("q_scale", torch.tensor(1.0),
                             constraint=dist.constraints.positive)
        pyro.sample("mu_decentered", dist.Normal(q_loc, q_scale))

    reparam_model = poutine.reparam(model, {"mu": LocScaleReparam()})
    svi = SVI(reparam_model, guide, optim.Adam({"lr": 0.05}), Trace_ELBO())
    for _ in range(1500):
        svi.step()
    c = pyro.param("mu_centered").detach()
    q_loc, q_scale = pyro.param("q_loc").detach(), pyro.param("q_scale").detach()
    # mu = scale^(1-c) * mu_decentered (loc 0): the implied Gaussian posterior of mu
    factor = prior_scale ** (1 - c)
    post_prec = 1 / prior_scale**2 + len(data)
    post_mean, post_sd = data.sum() / post_prec, post_prec ** -0.5
    assert abs(factor * q_loc - post_mean) < 0.05
    assert abs(factor * q_scale - post_sd) < 0.05
    assert 0 < c < 1
