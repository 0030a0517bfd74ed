"""Trace_ELBO: exact values for fixed guide draws, particles, score-function gradients,
subsampling scales and model/guide validation."""
import math

import pytest
import torch
from scipy import stats

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer import Trace_ELBO

X = torch.tensor([0.4, 1.3, -0.2])


def normal_model(x):
    z = pyro.sample("z", dist.Normal(0.0, 1.0))
    with pyro.plate("data", len(x)):
        pyro.sample("x", dist.Normal(z, 0.5), obs=x)


def normal_guide(x, loc=0.3, scale=0.7):
    pyro.sample("z", dist.Normal(loc, scale))


def exact_posterior(x):
    # prior N(0, 1), likelihood N(x_i; z, 0.5^2): precision 1 + n / 0.25
    prec = 1.0 + len(x) / 0.25
    return (x.sum().item() / 0.25) / prec, math.sqrt(1.0 / prec)


def log_evidence(x):
    # x ~ N(0, 0.25 I + 1 1^T)
    cov = 0.25 * torch.eye(len(x)) + torch.ones(len(x), len(x))
    return stats.multivariate_normal(mean=[0.0] * len(x), cov=cov.numpy()).logpdf(x.numpy())


def test_loss_equals_hand_computed_log_q_minus_log_p():
    pyro.set_rng_seed(3)
    z = poutine.trace(normal_guide).get_trace(X).nodes["z"]["value"].item()
    pyro.set_rng_seed(3)
    loss = Trace_ELBO().loss(normal_model, normal_guide, X)
    log_p = stats.norm(0, 1).logpdf(z) + stats.norm(z, 0.5).logpdf(X.numpy()).sum()
    log_q = stats.norm(0.3, 0.7).logpdf(z)
    assert loss == pytest.approx(log_q - log_p, abs=1e-4)


def test_non_vectorized_particles_average_single_particle_losses():
    pyro.set_rng_seed(5)
    singles = [Trace_ELBO().loss(normal_model, normal_guide, X) for _ in range(4)]
    pyro.set_rng_seed(5)
    multi = Trace_ELBO(num_particles=4).loss(normal_model, normal_guide, X)
    assert multi == pytest.approx(sum(singles) / 4, abs=1e-4)


@pytest.mark.parametrize("vectorize", [False, True])
def test_exact_posterior_guide_gives_log_evidence_for_every_particle(vectorize):
    # with q = p(z | x), log p(x, z) - log q(z) = log p(x) for every draw z
    loc, scale = exact_posterior(X)
    elbo = Trace_ELBO(num_particles=7, vectorize_particles=vectorize)
    loss = elbo.loss(normal_model, lambda x: normal_guide(x, loc, scale), X)
    assert loss == pytest.approx(-log_evidence(X), abs=1e-4)
    if vectorize:
        # one plate for "data" plus the particle plate
        assert elbo.max_plate_nesting == 2


def test_vectorized_particles_run_model_inside_an_outer_plate():
    elbo = Trace_ELBO(num_particles=5, vectorize_particles=True, max_plate_nesting=1)
    assert elbo.max_plate_nesting == 2
    seen = {}

    def guide(x):
        seen["z"] = pyro.sample("z", dist.Normal(0.0, 1.0)).shape

    elbo.loss(normal_model, guide, X)
    # the particle plate sits at dim -2, left of the data plate
    assert seen["z"] == (5, 1)


def test_differentiable_loss_gradient_matches_analytic_reparam_gradient():
    # guide N(m, 1), model z ~ N(0, 1), no data. With z = m + e the per-draw loss is
    # log q(z) - log p(z) = -e^2/2 + (m + e)^2/2, so its m-gradient is m + e: mean m.
    m = torch.tensor(0.8, requires_grad=True)

    def model():
        pyro.sample("z", dist.Normal(0.0, 1.0))

    def guide():
        pyro.sample("z", dist.Normal(m, 1.0))

    elbo = Trace_ELBO(num_particles=4000, vectorize_particles=True)
    loss = elbo.differentiable_loss(model, guide)
    (grad,) = torch.autograd.grad(loss, [m])
    # per-draw gradient is z = m + e with sd 1: sd of the mean 1/sqrt(4000) = 0.016
    assert abs(grad.item() - 0.8) < 5 * 0.016


def _bernoulli_problem():
    logit = torch.tensor(0.3, requires_grad=True)

    def model():
        z = pyro.sample("z", dist.Bernoulli(0.4))
        pyro.sample("x", dist.Normal(2 * z - 1, 1.0), obs=torch.tensor(0.5))

    def guide():
        pyro.sample("z", dist.Bernoulli(logits=logit))

    def exact_elbo():
        q1 = torch.sigmoid(logit)
        total = 0.0
        for z, q in ((1.0, q1), (0.0, 1 - q1)):
            log_p = math.log(0.4 if z else 0.6) + stats.norm(2 * z - 1, 1).logpdf(0.5)
            total = total + q * (log_p - torch.log(q))
        return total

    return logit, model, guide, exact_elbo


def test_score_function_gradient_is_unbiased():
    logit, model, guide, exact_elbo = _bernoulli_problem()
    (exact,) = torch.autograd.grad(-exact_elbo(), [logit])
    n = 20000
    elbo = Trace_ELBO(num_particles=n, vectorize_particles=True)
    loss = elbo.differentiable_loss(model, guide)
    (est,) = torch.autograd.grad(loss, [logit])
    # Per-draw gradient g(z) = -dlogq(z) * (log p(x,z) - log q(z)); its sd over the two
    # values of z (computed exactly below) / sqrt(n) bounds the estimate's error.
    q1 = torch.sigmoid(logit).item()
    gs = []
    for z, q in ((1.0, q1), (0.0, 1 - q1)):
        dlogq = (1 - q1) if z else -q1
        log_p = math.log(0.4 if z else 0.6) + stats.norm(2 * z - 1, 1).logpdf(0.5)
        gs.append((q, -dlogq * (log_p - math.log(q))))
    mean = sum(q * g for q, g in gs)
    sd = math.sqrt(sum(q * (g - mean) ** 2 for q, g in gs))
    assert abs(est.item() - exact.item()) < 5 * sd / math.sqrt(n)
    # and the loss value is the exact negative ELBO up to Monte Carlo error
    assert abs(loss.item() + exact_elbo().item()) < 0.05


def test_plate_local_score_function_gradient_is_unbiased():
    # two independent local Bernoulli latents in a plate: the gradient for each element's
    # logit only involves its own cost (plate Rao-Blackwellization keeps it unbiased)
    logits = torch.tensor([0.2, -0.5], requires_grad=True)
    xs = torch.tensor([0.5, -1.0])

    def model():
        with pyro.plate("p", 2):
            z = pyro.sample("z", dist.Bernoulli(0.4))
            pyro.sample("x", dist.Normal(2 * z - 1, 1.0), obs=xs)

    def guide():
        with pyro.plate("p", 2):
            pyro.sample("z", dist.Bernoulli(logits=logits))

    def exact():
        q1 = torch.sigmoid(logits)
        total = 0.0
        for z in (0.0, 1.0):
            q = q1 if z else 1 - q1
            log_lik = torch.distributions.Normal(2 * z - 1, 1.0).log_prob(xs)
            log_p = math.log(0.4 if z else 0.6) + log_lik
            total = total + (q * (log_p - q.log())).sum()
        return -total

    (g_exact,) = torch.autograd.grad(exact(), [logits])
    n = 20000
    loss = Trace_ELBO(num_particles=n, vectorize_particles=True).differentiable_loss(model, guide)
    (g_est,) = torch.autograd.grad(loss, [logits])
    # per-draw |g| <= |log p - log q| ~< 4 here, so 5 sd of the mean is below 5 * 4 / sqrt(n)
    assert torch.allclose(g_est, g_exact, atol=5 * 4 / math.sqrt(n))


def test_subsampled_plate_scales_the_likelihood():
    data = torch.arange(10.0) / 5.0
    seen = {}

    def model():
        z = pyro.sample("z", dist.Normal(0.0, 1.0))
        with pyro.plate("data", 10, subsample_size=4) as idx:
            seen["idx"] = idx
            pyro.sample("x", dist.Normal(z, 1.0), obs=data[idx])

    def guide():
        pyro.sample("z", dist.Delta(torch.tensor(0.25)))

    loss = Trace_ELBO().loss(model, guide)
    idx = seen["idx"]
    assert len(idx) == 4
    expected = stats.norm(0, 1).logpdf(0.25) + 10 / 4 * stats.norm(0.25, 1).logpdf(
        data[idx].numpy()).sum()
    assert loss == pytest.approx(-expected, abs=1e-4)


def test_validation_warns_about_guide_sites_missing_from_the_model():
    def guide(x):
        pyro.sample("z", dist.Normal(0.0, 1.0))
        pyro.sample("extra", dist.Normal(0.0, 1.0))

    with pytest.warns(UserWarning, match="extra"):
        Trace_ELBO().loss(normal_model, guide, X)


def test_validation_warns_about_model_latents_missing_from_the_guide():
    def model(x):
        pyro.sample("z", dist.Normal(0.0, 1.0))
        pyro.sample("w", dist.Normal(0.0, 1.0))

    with pytest.warns(UserWarning, match="'w'"):
        Trace_ELBO().loss(model, normal_guide, X)


def test_validation_rejects_event_shape_disagreement():
    def model():
        pyro.sample("z", dist.Normal(torch.zeros(2), 1.0).to_event(1))

    def guide():
        with pyro.plate("p", 2):
            pyro.sample("z", dist.Normal(torch.zeros(2), 1.0))

    with pytest.raises(ValueError, match="'z'"):
        Trace_ELBO().loss(model, guide)


def test_bad_num_particles_is_rejected():
    with pytest.raises(ValueError, match="num_particles"):
        Trace_ELBO(num_particles=0)
