"""CSIS on the conjugate model of Pyro's CSIS tutorial: the loss gradient against the
analytic gradient of E_p(x,z)[-log q(z | x)], training recovers the exact posterior map,
and importance sampling with the trained guide matches the analytic posterior."""
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer import CSIS, EmpiricalMarginal

Adam = pytest.importorskip("pyro.optim", reason="training needs pyro-optim").Adam

PRIOR_VAR, LIK_VAR = 5.0, 2.0
N_SD = 4.5


def model(prior_mean, observations={"x1": 0.0, "x2": 0.0}):  # noqa: B006 (the tutorial's API)
    z = pyro.sample("z", dist.Normal(prior_mean, math.sqrt(PRIOR_VAR)))
    pyro.sample("x1", dist.Normal(z, math.sqrt(LIK_VAR)), obs=observations["x1"])
    pyro.sample("x2", dist.Normal(z, math.sqrt(LIK_VAR)), obs=observations["x2"])
    return z


def guide(prior_mean, observations={"x1": 0.0, "x2": 0.0}):  # noqa: B006
    a = pyro.param("a", torch.tensor(0.0))
    b = pyro.param("b", torch.tensor(0.0))
    s = pyro.param("s", torch.tensor(2.0), constraint=dist.constraints.positive)
    total = torch.as_tensor(observations["x1"]) + torch.as_tensor(observations["x2"])
    pyro.sample("z", dist.Normal(a * total + b, s))


def exact_posterior(prior_mean, x1, x2):
    prec = 1.0 / PRIOR_VAR + 2.0 / LIK_VAR
    return (prior_mean / PRIOR_VAR + (x1 + x2) / LIK_VAR) / prec, 1.0 / prec


def test_gradient_matches_analytic():
    # E[-log q] = log s + E[(z - a S - b)^2] / (2 s^2) + const with S = x1 + x2 drawn from
    # the joint: d/db = -E[z - a S - b] / s^2 = -(mu - 2 a mu - b) / s^2 at a=0, b=0
    prior_mean = 1.5
    n = 2000
    csis = CSIS(model, guide, Adam({"lr": 0.0}), training_batch_size=n)
    guide(prior_mean)  # create the parameters
    b = pyro.param("b").unconstrained()
    csis.loss_and_grads(True, None, torch.tensor(prior_mean))
    s = 2.0
    exact = -prior_mean / s**2
    # per-draw gradient -(z - b) / s^2 has sd sqrt(PRIOR_VAR) / s^2
    tol = N_SD * math.sqrt(PRIOR_VAR) / s**2 / math.sqrt(n)
    assert b.grad.item() == pytest.approx(exact, abs=tol)


def test_training_and_inference_match_posterior():
    prior_mean = torch.tensor(1.0)
    pyro.set_rng_seed(0)
    csis = CSIS(model, guide, Adam({"lr": 0.05}), num_inference_samples=1000,
                training_batch_size=10, validation_batch_size=50)
    first = csis.validation_loss(prior_mean)
    for _ in range(300):
        csis.step(prior_mean)
    assert csis.validation_loss(prior_mean) < first
    # the optimal guide is the exact posterior: a = 1/(LIK_VAR * prec), b = mu/(PRIOR_VAR prec)
    prec = 1.0 / PRIOR_VAR + 2.0 / LIK_VAR
    assert pyro.param("a").item() == pytest.approx(1.0 / (LIK_VAR * prec), abs=0.06)
    assert pyro.param("s").item() == pytest.approx(math.sqrt(1.0 / prec), abs=0.1)
    obs = {"x1": torch.tensor(8.0), "x2": torch.tensor(9.0)}
    posterior = csis.run(prior_mean, observations=obs)
    mean, var = exact_posterior(1.0, 8.0, 9.0)
    marginal = EmpiricalMarginal(posterior, "z")
    ess = posterior.get_ESS().item()
    assert ess > 250  # a good proposal
    assert marginal.mean.item() == pytest.approx(mean, abs=N_SD * math.sqrt(var / ess))
    assert marginal.variance.item() == pytest.approx(var, abs=N_SD * var * math.sqrt(2 / ess))


def test_guide_without_params_is_an_error():
    def fixed_guide(prior_mean, observations=None):
        pyro.sample("z", dist.Normal(0.0, 1.0))

    with pytest.raises(ValueError, match="no parameters"):
        CSIS(model, fixed_guide, Adam({"lr": 0.1})).step(torch.tensor(0.0))
    with pytest.raises(ValueError, match="training_batch_size"):
        CSIS(model, guide, Adam({}), training_batch_size=0)
