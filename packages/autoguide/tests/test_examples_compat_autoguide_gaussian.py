"""AutoGaussian starts its precision square roots as Pyro's: the identity on each site's
own block and, elsewhere, Uniform(-init_scale/2, init_scale/2) draws taken right after the
prototype run of the model, factor by factor in model order; a seed then gives Pyro's
initial parameters (and Pyro's training trajectory)."""
import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer.autoguide import AutoGaussian

Y = torch.tensor([1.0, 2.0, 0.5, 3.0])


def model(y):
    mu = pyro.sample("mu", dist.Normal(0.0, 5.0))
    tau = pyro.sample("tau", dist.HalfCauchy(2.0))
    with pyro.plate("J", 4):
        theta = pyro.sample("theta", dist.Normal(mu, tau))
        pyro.sample("obs", dist.Normal(theta, 1.0), obs=y)


def prec_sqrts(init_scale):
    pyro.clear_param_store()
    pyro.set_rng_seed(0)
    AutoGaussian(model, init_scale=init_scale)(Y)
    store = pyro.get_param_store()
    return {name: store[f"AutoGaussianDense.prec_sqrts.{name}"].detach()
            for name in ("mu", "tau", "theta", "obs")}


def test_prec_sqrts_are_the_seeded_uniform_draws_after_one_model_run():
    got = prec_sqrts(0.1)
    pyro.set_rng_seed(0)
    poutine.trace(model).get_trace(Y)  # the prototype run
    shapes = {"mu": (1, 1), "tau": (1, 1), "theta": (4, 3, 1), "obs": (4, 1, 1)}
    for name, shape in shapes.items():  # model order
        expected = 0.1 * (torch.rand(shape) - 0.5)
        if name != "obs":  # a latent site's own block is the identity
            expected[..., :1, :] = 1.0
        torch.testing.assert_close(got[name], expected)


@pytest.mark.parametrize("init_scale", [0.02, 0.3])
def test_prec_sqrt_noise_scales_with_init_scale(init_scale):
    base, scaled = prec_sqrts(0.1), prec_sqrts(init_scale)
    torch.testing.assert_close(scaled["obs"], base["obs"] * (init_scale / 0.1))
    off = scaled["theta"][..., 1:, :]
    torch.testing.assert_close(off, base["theta"][..., 1:, :] * (init_scale / 0.1))
    assert off.abs().max() < init_scale / 2
