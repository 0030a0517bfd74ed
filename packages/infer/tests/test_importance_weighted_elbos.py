"""RenyiELBO, TraceTailAdaptive_ELBO and ReweightedWakeSleep on a conjugate Normal model:
exact values where the guide is the posterior, analytic ELBO / evidence bounds, and
gradient estimators checked against analytic gradients (Monte Carlo tolerances from the
number of particles) or recomputed by hand from the guide's draws."""
import math

import pytest
import torch
from scipy import stats

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer import SVI, Trace_ELBO
from pyro.infer.renyi_elbo import RenyiELBO
from pyro.infer.rws import ReweightedWakeSleep
from pyro.infer.trace_tail_adaptive_elbo import TraceTailAdaptive_ELBO

X = torch.tensor([0.4, 1.3, -0.2])
SIGMA = 0.5
N_SD = 4.5


def model(x, prior_loc=0.0):
    z = pyro.sample("z", dist.Normal(prior_loc, 1.0))
    with pyro.plate("data", len(x)):
        pyro.sample("x", dist.Normal(z, SIGMA), obs=x)


def posterior(x, prior_loc=0.0):
    prec = 1.0 + len(x) / SIGMA**2
    return (prior_loc + x.sum().item() / SIGMA**2) / prec, math.sqrt(1.0 / prec)


def log_evidence(x, prior_loc=0.0):
    cov = SIGMA**2 * torch.eye(len(x)) + torch.ones(len(x), len(x))
    return stats.multivariate_normal(mean=[prior_loc] * len(x), cov=cov.numpy()).logpdf(x.numpy())


def analytic_elbo(x, loc, scale):
    # E_q[log p(z) + sum log p(x_i | z) - log q(z)] for q = N(loc, scale^2)
    n = len(x)
    e_prior = -0.5 * math.log(2 * math.pi) - 0.5 * (loc**2 + scale**2)
    e_lik = sum(-0.5 * math.log(2 * math.pi * SIGMA**2)
                - 0.5 * ((xi - loc) ** 2 + scale**2) / SIGMA**2 for xi in x.tolist())
    entropy = 0.5 * math.log(2 * math.pi * math.e * scale**2)
    return e_prior + e_lik + entropy - 0 * n


def make_guide(loc, scale, record=None, reparam=True):
    def guide(x, prior_loc=0.0):
        q_loc = pyro.param("loc", torch.tensor(float(loc)))
        q_scale = pyro.param("scale", torch.tensor(float(scale)),
                             constraint=dist.constraints.positive)
        d = dist.Normal(q_loc, q_scale)
        if not reparam:
            d.has_rsample = False  # score-function gradients
        z = pyro.sample("z", d)
        if record is not None:
            record.append(z.detach())
    return guide


# ------------------------------------------------------------------ RenyiELBO


@pytest.mark.parametrize("alpha", [0.0, 0.5, -1.0, 2.0])
@pytest.mark.parametrize("vectorize", [False, True])
def test_renyi_exact_at_posterior(alpha, vectorize):
    # q = p(z | x): every log weight is log p(x), so the bound is exact for any alpha, K
    loc, scale = posterior(X)
    elbo = RenyiELBO(alpha=alpha, num_particles=5, vectorize_particles=vectorize)
    loss = elbo.loss(model, make_guide(loc, scale), X)
    assert loss == pytest.approx(-log_evidence(X), abs=1e-4)


def test_renyi_one_particle_is_trace_elbo():
    guide = make_guide(0.3, 0.7)
    pyro.set_rng_seed(1)
    renyi = RenyiELBO(alpha=0.0, num_particles=1).differentiable_loss(model, guide, X)
    g_renyi = torch.autograd.grad(renyi, [pyro.param("loc").unconstrained()])[0]
    pyro.set_rng_seed(1)
    trace = Trace_ELBO().differentiable_loss(model, guide, X)
    g_trace = torch.autograd.grad(trace, [pyro.param("loc").unconstrained()])[0]
    assert renyi.item() == pytest.approx(trace.item(), rel=1e-6)
    assert g_renyi.item() == pytest.approx(g_trace.item(), rel=1e-5)


def test_renyi_alpha_one_refused():
    with pytest.raises(ValueError, match="Trace_ELBO"):
        RenyiELBO(alpha=1.0)


def test_renyi_evidence_bounds():
    # E[-L_0^K] decreases in K from -ELBO (K=1) toward -log p(x); alpha<0 goes below
    loc, scale = 0.8, 0.6
    guide = make_guide(loc, scale)
    reps = 400
    means = {}
    for k in (1, 10, 200):
        elbo = RenyiELBO(alpha=0.0, num_particles=k, vectorize_particles=True)
        losses = torch.tensor([elbo.loss(model, guide, X) for _ in range(reps)])
        means[k] = (losses.mean().item(), losses.std().item() / math.sqrt(reps))
    m1, e1 = means[1]
    assert m1 == pytest.approx(-analytic_elbo(X, loc, scale), abs=N_SD * e1)
    assert means[1][0] > means[10][0] > means[200][0]
    m200, e200 = means[200]
    assert m200 >= -log_evidence(X) - N_SD * e200
    assert m200 - (-log_evidence(X)) < 0.5 * (m1 - (-log_evidence(X)))
    upper = RenyiELBO(alpha=-1.0, num_particles=200, vectorize_particles=True)
    losses = torch.tensor([upper.loss(model, guide, X) for _ in range(reps)])
    assert losses.mean().item() < m200


@pytest.mark.parametrize("reparam", [True, False])
def test_renyi_one_particle_gradient_matches_analytic(reparam):
    # K=1: the gradient estimate is unbiased for the ELBO's gradient in loc
    loc, scale = 0.3, 0.7
    guide = make_guide(loc, scale, reparam=reparam)
    elbo = RenyiELBO(alpha=0.5, num_particles=1)
    grads = []
    for _ in range(600 if reparam else 1500):
        loss = elbo.differentiable_loss(model, guide, X)
        grads.append(torch.autograd.grad(loss, [pyro.param("loc").unconstrained()])[0])
    grads = torch.stack(grads)
    # d(-ELBO)/dloc = loc - sum(x - loc) / sigma^2
    exact = loc - (X - loc).sum().item() / SIGMA**2
    err = grads.std().item() / math.sqrt(len(grads))
    assert grads.mean().item() == pytest.approx(exact, abs=N_SD * err)


# ------------------------------------------------------- TraceTailAdaptive_ELBO


def test_tail_adaptive_gradient_recomputed_from_draws():
    record = []
    loc, scale = 0.3, 0.7
    guide = make_guide(loc, scale, record=record)
    elbo = TraceTailAdaptive_ELBO(num_particles=50, vectorize_particles=True,
                                  tail_adaptive_beta=-0.5)
    loss = elbo.differentiable_loss(model, guide, X)
    g = torch.autograd.grad(loss, [pyro.param("loc").unconstrained()])[0]
    z = record[-1].reshape(-1).double()
    xs = X.double()
    log_p = (dist.Normal(0.0, 1.0).log_prob(z)
             + dist.Normal(z.unsqueeze(-1), SIGMA).log_prob(xs).sum(-1))
    log_w = log_p - dist.Normal(loc, scale).log_prob(z)
    counts = (log_w.unsqueeze(0) >= log_w.unsqueeze(1)).sum(1).double()
    rho = counts.pow(-0.5)
    rho = rho / rho.sum()
    # path derivative of log w along z = loc + scale * eps: d log p / dz - d log q / dz
    dlogw = -z + (xs - z.unsqueeze(-1)).sum(-1) / SIGMA**2 + (z - loc) / scale**2
    assert g.item() == pytest.approx(-(rho * dlogw).sum().item(), rel=1e-4, abs=1e-5)
    assert loss.item() == pytest.approx(-log_w.mean().item(), rel=1e-4)


def test_tail_adaptive_fits_posterior():
    pytest.importorskip("pyro.optim", reason="training needs pyro-optim")
    loc, scale = posterior(X)
    guide = make_guide(-1.0, 1.5)
    svi = SVI(model, guide, pyro.optim.Adam({"lr": 0.05}),
              TraceTailAdaptive_ELBO(num_particles=16, vectorize_particles=True))
    locs, scales = [], []
    for i in range(300):
        svi.step(X)
        if i >= 200:  # average the iterates that fluctuate around the optimum
            locs.append(pyro.param("loc").item())
            scales.append(pyro.param("scale").item())
    assert sum(locs) / len(locs) == pytest.approx(loc, abs=0.08)
    assert sum(scales) / len(scales) == pytest.approx(scale, abs=0.08)


def test_tail_adaptive_validates():
    with pytest.raises(ValueError, match="negative"):
        TraceTailAdaptive_ELBO(num_particles=4, tail_adaptive_beta=0.5)
    elbo = TraceTailAdaptive_ELBO(num_particles=4, vectorize_particles=True)
    with pytest.raises(ValueError, match="'z'"):
        elbo.loss(model, make_guide(0.0, 1.0, reparam=False), X)


# ------------------------------------------------------------ ReweightedWakeSleep


def model_with_param(x):
    prior_loc = pyro.param("prior_loc", torch.tensor(0.5))
    model(x, prior_loc)


def test_rws_theta_loss_exact_and_gradients_at_posterior():
    prior_loc = 0.5
    loc, scale = posterior(X, prior_loc)
    guide = make_guide(loc, scale)
    k = 4000
    rws = ReweightedWakeSleep(num_particles=k, vectorize_particles=True)
    theta, phi = rws.differentiable_loss(model_with_param, guide, X)
    assert theta.item() == pytest.approx(-log_evidence(X, prior_loc), abs=1e-3)
    g_theta = torch.autograd.grad(theta, [pyro.param("prior_loc").unconstrained()])[0]
    # Fisher's identity: d log p(x)/d mu = E_post[z - mu]; the estimator is exact in mean
    exact = -(loc - prior_loc)
    assert g_theta.item() == pytest.approx(exact, abs=N_SD * scale / math.sqrt(k))
    g_phi = torch.autograd.grad(phi, [pyro.param("loc").unconstrained()])[0]
    # -mean_i d log q(z_i)/d loc with z_i ~ q: zero mean, sd 1 / (scale sqrt(k))
    assert g_phi.item() == pytest.approx(0.0, abs=N_SD / (scale * math.sqrt(k)))


def test_rws_sleep_phase_gradient():
    # insomnia=0: phi gradient -E_prior[d log q(z)/d loc] = -(0 - loc) / scale^2
    loc, scale = 0.3, 0.7
    k = 4000
    rws = ReweightedWakeSleep(num_particles=2, insomnia=0.0, num_sleep_particles=k,
                              model_has_params=False)
    _, phi = rws.differentiable_loss(model, make_guide(loc, scale), X)
    g = torch.autograd.grad(phi, [pyro.param("loc").unconstrained()])[0]
    assert g.item() == pytest.approx(loc / scale**2, abs=N_SD / (scale * math.sqrt(k)))


def test_rws_svi_learns_guide():
    pytest.importorskip("pyro.optim", reason="training needs pyro-optim")
    loc, scale = posterior(X)
    guide = make_guide(-1.0, 1.0)
    svi = SVI(model, guide, pyro.optim.Adam({"lr": 0.05}),
              ReweightedWakeSleep(num_particles=32, model_has_params=False))
    for _ in range(500):
        losses = svi.step(X)
    assert isinstance(losses, tuple) and len(losses) == 2
    assert pyro.param("loc").item() == pytest.approx(loc, abs=0.1)
    assert pyro.param("scale").item() == pytest.approx(scale, abs=0.1)


def test_rws_validates():
    with pytest.raises(ValueError, match="insomnia"):
        ReweightedWakeSleep(insomnia=1.5)


def test_params_are_visible_to_svi():
    # SVI collects the parameters from a param-only trace around the loss
    guide = make_guide(0.0, 1.0)
    for elbo in (RenyiELBO(num_particles=3, vectorize_particles=True),
                 ReweightedWakeSleep(num_particles=3),
                 TraceTailAdaptive_ELBO(num_particles=3, vectorize_particles=True)):
        with poutine.trace(param_only=True) as tr:
            elbo.differentiable_loss(model, guide, X)
        assert {"loc", "scale"} <= set(tr.trace.nodes)
