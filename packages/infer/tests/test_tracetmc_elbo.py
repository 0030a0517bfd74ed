"""TraceTMC_ELBO: exact evidence when every discrete site is enumerated (in the model or
the guide), an unbiased evidence estimate exp(-loss) when sites are sampled (discrete and
continuous chains, plates), the bound tightening with K, and SVI converging to the
posterior of a conjugate model."""
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer import TraceTMC_ELBO, config_enumerate

PROBS = torch.tensor([0.2, 0.5, 0.3])
LOCS = torch.tensor([-1.0, 0.5, 2.0])
DATA = torch.tensor([0.3, 1.8, -0.7])
N_SD = 4.5


def mixture(data):
    with pyro.plate("data", len(data)):
        z = pyro.sample("z", dist.Categorical(PROBS))
        pyro.sample("x", dist.Normal(LOCS[z], 1.0), obs=data)


def empty_guide(data):
    pass


def mixture_log_evidence(data):
    return dist.Normal(LOCS, 1.0).log_prob(data.unsqueeze(-1)).add(PROBS.log()).logsumexp(-1).sum()


def test_model_enumeration_is_exact():
    loss = TraceTMC_ELBO(max_plate_nesting=1).loss(config_enumerate(mixture), empty_guide, DATA)
    assert loss == pytest.approx(-mixture_log_evidence(DATA).item(), abs=1e-5)


def test_guide_enumeration_is_exact_for_any_guide():
    def guide(data):
        probs = pyro.param("q", torch.tensor([0.6, 0.1, 0.3]),
                           constraint=dist.constraints.simplex)
        with pyro.plate("data", len(data)):
            pyro.sample("z", dist.Categorical(probs), infer={"enumerate": "parallel"})

    loss = TraceTMC_ELBO(max_plate_nesting=1).loss(mixture, guide, DATA)
    assert loss == pytest.approx(-mixture_log_evidence(DATA).item(), abs=1e-5)


def _unbiased(loss_fn, log_evidence, reps):
    p_hat = torch.tensor([math.exp(-loss_fn() - log_evidence) for _ in range(reps)])
    # E[p_hat] = p(x): the ratio's mean is 1 within its Monte Carlo error
    tol = N_SD * p_hat.std().item() / math.sqrt(reps)
    assert p_hat.mean().item() == pytest.approx(1.0, abs=tol)
    return p_hat


def test_sampled_discrete_sites_are_unbiased():
    elbo = TraceTMC_ELBO(max_plate_nesting=1)
    model = config_enumerate(mixture, num_samples=4)
    _unbiased(lambda: elbo.loss(model, empty_guide, DATA), mixture_log_evidence(DATA).item(),
              400)


def chain_model(x):
    z1 = pyro.sample("z1", dist.Normal(0.0, 1.0))
    z2 = pyro.sample("z2", dist.Normal(z1, 1.0))
    with pyro.plate("data", len(x)):
        pyro.sample("x", dist.Normal(z2, 0.5), obs=x)


def chain_guide(x):
    pyro.sample("z1", dist.Normal(0.3, 1.0))
    pyro.sample("z2", dist.Normal(0.6, 1.1))


X = torch.tensor([1.0, 0.4])


def chain_log_evidence(x):
    cov = 0.25 * torch.eye(len(x)) + 2.0 * torch.ones(len(x), len(x))
    return dist.MultivariateNormal(torch.zeros(len(x)), cov).log_prob(x).item()


def test_continuous_chain_unbiased_and_tightening():
    exact = chain_log_evidence(X)
    elbo = TraceTMC_ELBO(max_plate_nesting=1)
    guide = config_enumerate(chain_guide, num_samples=6)
    _unbiased(lambda: elbo.loss(chain_model, guide, X), exact, 400)
    means = []
    for k in (1, 4, 32):
        g = config_enumerate(chain_guide, num_samples=k)
        means.append(sum(elbo.loss(chain_model, g, X) for _ in range(40)) / 40)
    assert means[0] > means[1] > means[2] > -exact - 0.05


def test_gradient_matches_importance_weighted_bound():
    # one sampled latent: TMC is the importance weighted bound, so its gradient in the
    # guide's loc has the mean of RenyiELBO(alpha=0)'s with as many particles
    from pyro.infer import RenyiELBO

    x = torch.tensor([0.8, 1.4, 0.2])

    def model(x):
        z = pyro.sample("z", dist.Normal(0.0, 1.0))
        with pyro.plate("data", len(x)):
            pyro.sample("x", dist.Normal(z, 1.0), obs=x)

    def guide(x):
        loc = pyro.param("loc", torch.tensor(-0.5))
        scale = pyro.param("scale", torch.tensor(0.7), constraint=dist.constraints.positive)
        pyro.sample("z", dist.Normal(loc, scale))

    def grads(loss_fn, g, reps=300):
        out = []
        for _ in range(reps):
            loss = loss_fn(model, g, x)
            out.append(torch.autograd.grad(loss, [pyro.param("loc").unconstrained()])[0])
        return torch.stack(out)

    tmc = grads(TraceTMC_ELBO(max_plate_nesting=1).differentiable_loss,
                config_enumerate(guide, num_samples=8))
    iw = grads(RenyiELBO(alpha=0, num_particles=8, vectorize_particles=True,
                         max_plate_nesting=1).differentiable_loss, guide)
    err = math.sqrt(tmc.var() / len(tmc) + iw.var() / len(iw))
    assert tmc.mean().item() == pytest.approx(iw.mean().item(), abs=N_SD * err)
    assert tmc.mean().item() < -N_SD * tmc.std().item() / math.sqrt(len(tmc))  # loc rises


def test_continuous_site_without_num_samples_is_refused():
    def guide(x):
        pyro.sample("z1", dist.Normal(0.0, 1.0), infer={"enumerate": "parallel"})
        pyro.sample("z2", dist.Normal(0.0, 1.0))

    with pytest.raises(ValueError, match="'z1'"):
        TraceTMC_ELBO(max_plate_nesting=1).loss(chain_model, guide, X)


def test_diagonal_draws_keep_one_sample_dim_per_variable():
    # a chain of 6 sampled sites with K=20: nested draws would need 20^6 entries
    def model(x):
        z = torch.zeros(())
        for t in range(6):
            z = pyro.sample(f"z{t}", dist.Normal(z, 1.0))
        pyro.sample("x", dist.Normal(z, 1.0), obs=x)

    def guide(x):
        z = torch.zeros(())
        for t in range(6):
            z = pyro.sample(f"z{t}", dist.Normal(0.5 * z, 1.5),
                            infer={"enumerate": "parallel", "num_samples": 20})

    exact = dist.Normal(0.0, math.sqrt(7.0)).log_prob(torch.tensor(2.0)).item()
    elbo = TraceTMC_ELBO(max_plate_nesting=0)
    model_trace, guide_trace = elbo._get_trace(model, guide, (torch.tensor(2.0),), {})
    assert max(s["value"].numel() for s in guide_trace.nodes.values()
               if s["type"] == "sample") == 20
    _unbiased(lambda: elbo.loss(model, guide, torch.tensor(2.0)), exact, 300)

    def mismatched(x):
        z = pyro.sample("z0", dist.Normal(0.0, 1.5), infer={"enumerate": "parallel",
                                                            "num_samples": 4})
        pyro.sample("z1", dist.Normal(z, 1.5), infer={"enumerate": "parallel",
                                                     "num_samples": 5})

    def short_model(x):
        z = pyro.sample("z0", dist.Normal(0.0, 1.0))
        pyro.sample("z1", dist.Normal(z, 1.0))

    with pytest.raises(ValueError, match="'z1'"):
        elbo.loss(short_model, mismatched, torch.tensor(0.0))


@pytest.mark.parametrize("tmc", ["diagonal", "mixture"])
def test_model_side_sampled_chain_is_unbiased(tmc):
    # no guide: the model's own chain drawn from its prior, K draws per site; x depends on
    # both z1 and z2, so pairing z2's draws with the wrong z1 draws would bias p_hat
    def model(x):
        z1 = pyro.sample("z1", dist.Normal(0.0, 1.0))
        z2 = pyro.sample("z2", dist.Normal(z1, 1.0))
        with pyro.plate("data", len(x)):
            pyro.sample("x", dist.Normal(z2 + 0.5 * z1, 0.5), obs=x)

    # x_n = 1.5 z1 + e2 + eps_n
    cov = 0.25 * torch.eye(len(X)) + 3.25 * torch.ones(len(X), len(X))
    exact = dist.MultivariateNormal(torch.zeros(len(X)), cov).log_prob(X).item()
    elbo = TraceTMC_ELBO(max_plate_nesting=1)
    sampled = config_enumerate(model, num_samples=8, tmc=tmc)
    _unbiased(lambda: elbo.loss(sampled, empty_guide, X), exact, 400)


def test_guide_mixture_draws_are_unbiased():
    exact = chain_log_evidence(X)

    def guide(x):
        z1 = pyro.sample("z1", dist.Normal(0.3, 1.0),
                         infer={"enumerate": "parallel", "num_samples": 5, "tmc": "mixture"})
        pyro.sample("z2", dist.Normal(0.5 * z1, 1.2),
                    infer={"enumerate": "parallel", "num_samples": 7, "tmc": "mixture"})

    elbo = TraceTMC_ELBO(max_plate_nesting=1)
    _unbiased(lambda: elbo.loss(chain_model, guide, X), exact, 400)
