"""Discrete latent sites marked for parallel enumeration are summed out of the HMC/NUTS
potential; infer_discrete recovers them after MCMC."""
import pytest
import torch

import pyro
import pyro.distributions as dist
import pyro.poutine as poutine
from pyro.infer import config_enumerate
from pyro.infer.mcmc import MCMC, NUTS
from pyro.infer.mcmc.util import TraceEinsumEvaluator, setup_potential

DATA = torch.cat([torch.linspace(-4.0, -2.0, 30), torch.linspace(2.0, 4.0, 30)])


@config_enumerate
def gmm(data):
    weights = pyro.sample("weights", dist.Dirichlet(torch.ones(2)))
    locs = pyro.sample("locs", dist.Normal(0.0, 10.0).expand([2]).to_event(1))
    with pyro.plate("data", data.size(0)):
        z = pyro.sample("z", dist.Categorical(weights))
        pyro.sample("obs", dist.Normal(locs[z], 1.0), obs=data)
    return z


def test_enumerated_potential_is_the_mixture_log_density():
    pyro.set_rng_seed(0)
    potential, z0, _ = setup_potential(gmm, (DATA,), {}, max_plate_nesting=1)
    assert [s.name for s in potential.sites] == ["weights", "locs"]
    for shift in (0.0, 0.7):
        z = z0 + shift
        params = potential.unpack(z)
        values = potential.constrain(params)
        w, locs = values["weights"], values["locs"]
        # the mixture written by hand: sum_i log sum_k w_k N(x_i | loc_k, 1)
        mix = torch.logsumexp(w.log().unsqueeze(-1)
                              + dist.Normal(locs.unsqueeze(-1), 1.0).log_prob(DATA), 0).sum()
        prior = dist.Dirichlet(torch.ones(2)).log_prob(w) + dist.Normal(0.0, 10.0).log_prob(
            locs).sum()
        log_det = potential.sites[0].transform.log_abs_det_jacobian(params["weights"], w).sum()
        assert potential.potential(z).item() == pytest.approx(-(mix + prior + log_det).item(),
                                                              rel=1e-5)


def test_trace_einsum_evaluator_without_enumeration_is_log_prob_sum():
    tr = poutine.trace(gmm).get_trace(DATA)
    ev = TraceEinsumEvaluator(tr, has_enumerable_sites=False, max_plate_nesting=1)
    assert ev.log_density(tr).item() == pytest.approx(tr.log_prob_sum().item())


def test_nuts_on_a_mixture_recovers_the_component_means_and_infer_discrete():
    pyro.set_rng_seed(1)
    mcmc = MCMC(NUTS(gmm, max_plate_nesting=1), num_samples=150, warmup_steps=100,
                disable_progbar=True)
    mcmc.run(DATA)
    s = mcmc.get_samples()
    assert set(s) == {"weights", "locs"}
    locs = s["locs"].sort(-1).values.mean(0)
    # posterior of each mean: ~N(+-3, 1/30) -> sd 0.18; 150 NUTS draws
    torch.testing.assert_close(locs, torch.tensor([-3.0, 3.0]), rtol=0, atol=0.3)
    assert abs(float(s["weights"].mean(0)[0]) - 0.5) < 0.15
    discrete = pytest.importorskip("pyro.infer.discrete", reason="infer_discrete not installed")
    draw = {k: v[-1] for k, v in s.items()}
    model = discrete.infer_discrete(poutine.condition(gmm, draw), first_available_dim=-2,
                                    temperature=0)
    z = model(DATA)
    left = int(torch.argmin(draw["locs"]))
    # every point below 0 goes to the left component, every point above to the right
    assert (z[:30] == left).all() and (z[30:] == 1 - left).all()


def test_sequential_enumeration_is_refused_with_a_clear_error():
    def model():
        pyro.sample("c", dist.Bernoulli(0.5), infer={"enumerate": "sequential"})
        pyro.sample("x", dist.Normal(0.0, 1.0))

    mcmc = MCMC(NUTS(model), num_samples=2, warmup_steps=2, disable_progbar=True)
    with pytest.raises(ValueError, match="parallel"):
        mcmc.run()

