"""EnergyDistance and Trace_MMD on a conjugate Normal model: the losses' expectations and
gradients against closed forms (Gaussian energy score, Gaussian-kernel MMD between
Normals), with tolerances from the spread of the estimates over repetitions."""
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer import SVI, EnergyDistance, Trace_MMD

SIGMA = 0.5
X0 = torch.tensor(1.2)
N_SD = 4.5


def model(x):
    z = pyro.sample("z", dist.Normal(0.0, 1.0))
    pyro.sample("x", dist.Normal(z, SIGMA), obs=x)


def guide(x):
    loc = pyro.param("loc", torch.tensor(0.3))
    scale = pyro.param("scale", torch.tensor(0.6), constraint=dist.constraints.positive)
    pyro.sample("z", dist.Normal(loc, scale))


def _phi(u):
    return torch.exp(-0.5 * u * u) / math.sqrt(2 * math.pi)


def _Phi(u):
    return 0.5 * (1 + torch.erf(u / math.sqrt(2)))


def exact_energy(loc, scale):
    # X ~ N(loc, tau^2): E|X - x0| = tau (2 phi(u) + u (2 Phi(u) - 1)), E|X - X'| = 2 tau/sqrt(pi)
    tau = torch.sqrt(scale**2 + SIGMA**2)
    u = (X0 - loc) / tau
    return tau * (2 * _phi(u) + u * (2 * _Phi(u) - 1)) - tau / math.sqrt(math.pi)


def _estimates(loss_fn, reps):
    values, grads = [], []
    for _ in range(reps):
        loss = loss_fn(model, guide, X0)
        loc, scale = pyro.param("loc").unconstrained(), pyro.param("scale").unconstrained()
        g = torch.autograd.grad(loss, [loc, scale])
        values.append(loss.detach())
        grads.append(torch.stack(g))
    return torch.stack(values), torch.stack(grads)


def _check(values, grads, exact_value, exact_grads):
    reps = len(values)
    assert values.mean().item() == pytest.approx(
        exact_value, abs=N_SD * values.std().item() / math.sqrt(reps))
    mean, err = grads.mean(0), grads.std(0) / math.sqrt(reps)
    assert ((mean - exact_grads).abs() <= N_SD * err).all(), (mean, exact_grads, err)


def _exact_and_grads(fn):
    guide(X0)
    loc, scale = pyro.param("loc").unconstrained(), pyro.param("scale").unconstrained()
    value = fn(loc, scale.exp())
    return value.item(), torch.stack(torch.autograd.grad(value, [loc, scale]))


def test_energy_distance_expectation_and_gradient():
    exact, exact_grads = _exact_and_grads(exact_energy)
    values, grads = _estimates(EnergyDistance(num_particles=50), 200)
    _check(values, grads, exact, exact_grads)


def test_energy_distance_prior_term_and_fit():
    # prior_scale adds -lambda E log p(Z): E log N(Z; 0, 1) = -log sqrt(2 pi) - (loc^2+s^2)/2
    def with_prior(loc, scale):
        e_log_prior = -0.5 * math.log(2 * math.pi) - 0.5 * (loc**2 + scale**2)
        return exact_energy(loc, scale) - 0.7 * e_log_prior

    exact, exact_grads = _exact_and_grads(with_prior)
    values, grads = _estimates(EnergyDistance(prior_scale=0.7, num_particles=50), 200)
    _check(values, grads, exact, exact_grads)


def test_energy_distance_trains_with_svi():
    pytest.importorskip("pyro.optim", reason="training needs pyro-optim")
    # the energy score is minimized by the predictive matching the data: loc moves to X0
    svi = SVI(model, guide, pyro.optim.Adam({"lr": 0.05}), EnergyDistance(num_particles=16))
    for _ in range(300):
        svi.step(X0)
    assert pyro.param("loc").item() == pytest.approx(X0.item(), abs=0.25)


def test_energy_distance_validation():
    with pytest.raises(ValueError, match="beta"):
        EnergyDistance(beta=2.0)
    with pytest.raises(ValueError, match="num_particles"):
        EnergyDistance(num_particles=1)
    assert isinstance(EnergyDistance().loss(model, guide, X0), float)


LENGTH = 0.8


def rbf(x, y):
    return torch.exp(-torch.cdist(x, y).pow(2) / (2 * LENGTH**2))


def _gauss_kernel_mean(m1, v1, m2, v2):
    # E k(X, Y) for X ~ N(m1, v1), Y ~ N(m2, v2), k the RBF kernel of length LENGTH
    total = LENGTH**2 + v1 + v2
    return LENGTH / torch.sqrt(total) * torch.exp(-((m1 - m2) ** 2) / (2 * total))


def exact_mmd_loss(loc, scale, mmd_scale=2.0):
    v = scale**2
    neg_log_lik = 0.5 * math.log(2 * math.pi * SIGMA**2) + ((X0 - loc) ** 2 + v) / (2 * SIGMA**2)
    zero, one = torch.zeros(()), torch.ones(())
    mmd2 = (_gauss_kernel_mean(loc, v, loc, v) + _gauss_kernel_mean(zero, one, zero, one)
            - 2 * _gauss_kernel_mean(loc, v, zero, one))
    return neg_log_lik + mmd_scale * mmd2


@pytest.mark.parametrize("vectorize", [True, False])
def test_trace_mmd_expectation_and_gradient(vectorize):
    # a guide far from the prior, so that the MMD term is large
    pyro.param("loc", torch.tensor(1.5))
    pyro.param("scale", torch.tensor(0.3), constraint=dist.constraints.positive)
    exact, exact_grads = _exact_and_grads(exact_mmd_loss)
    elbo = Trace_MMD(kernel=rbf, mmd_scale=2.0, num_particles=20 if vectorize else 8,
                     vectorize_particles=vectorize)
    values, grads = _estimates(elbo.differentiable_loss, 200 if vectorize else 60)
    _check(values, grads, exact, exact_grads)


def test_trace_mmd_kernel_dict_and_svi():
    pytest.importorskip("pyro.optim", reason="training needs pyro-optim")
    elbo = Trace_MMD(kernel={"z": rbf}, mmd_scale={"z": 1.0}, num_particles=16)
    svi = SVI(model, guide, pyro.optim.Adam({"lr": 0.02}), elbo)
    losses = [svi.step(X0) for _ in range(50)]
    assert all(math.isfinite(v) for v in losses)
    assert pyro.param("loc").item() != pytest.approx(0.3, abs=0.05)  # it trained
    with pytest.raises(ValueError, match="'z'"):
        Trace_MMD(kernel={"w": rbf}, num_particles=4).loss(model, guide, X0)
    with pytest.raises(ValueError, match="at least 2"):
        Trace_MMD(kernel=rbf, num_particles=1)


def test_energy_distance_uses_whole_site_norm():
    # several observations: one point per particle is the whole data vector
    data = torch.tensor([0.5, 1.5, -0.3])
    record = []

    def plate_model(x):
        z = pyro.sample("z", dist.Normal(0.0, 1.0))
        with pyro.plate("data", len(x)):
            record.append(pyro.sample("x", dist.Normal(z, SIGMA), obs=x))

    loss = EnergyDistance(beta=0.7, num_particles=6)(plate_model, guide, data)
    draws = record[-1].detach().reshape(6, 3)
    term1 = (draws - data).norm(dim=-1).pow(0.7).mean()
    pair = torch.cdist(draws, draws).pow(0.7)
    term2 = pair.sum() / (6 * 5)
    assert loss.item() == pytest.approx((term1 - 0.5 * term2).item(), rel=1e-5)
