"""AutoNormal and AutoDelta against conjugate posteriors; parameter names, plates,
subsampling, constrained sites, median and quantiles."""
import math

import pytest
import torch
from scipy import stats

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer import SVI, Trace_ELBO
from pyro.infer.autoguide import AutoDelta, AutoNormal, init_to_value

# Training needs an optimizer and pyro-optim is not a dependency of this package: these
# tests run where it is installed (tox env `all`, the development venv).
_optim = pytest.importorskip("pyro.optim")
ClippedAdam = _optim.ClippedAdam

Y = torch.tensor([0.8, 1.6, 1.1, 0.3, 1.2])


def normal_model(y):
    mu = pyro.sample("mu", dist.Normal(0.0, 1.0))
    with pyro.plate("data", len(y)):
        pyro.sample("y", dist.Normal(mu, 1.0), obs=y)


# posterior N(sum y / 6, 1 / 6)
POST_MEAN, POST_SD = Y.sum().item() / 6, 1 / math.sqrt(6)


def train(model, guide, args, steps, lr=0.05, lrd=0.995, particles=16):
    svi = SVI(model, guide, ClippedAdam({"lr": lr, "lrd": lrd}),
              Trace_ELBO(num_particles=particles, vectorize_particles=particles > 1))
    for _ in range(steps):
        svi.step(*args)


def test_auto_normal_param_names_and_shapes():
    def model():
        pyro.sample("a", dist.Normal(torch.zeros(3), 1.0).to_event(1))
        pyro.sample("s", dist.Gamma(2.0, 1.0))

    guide = AutoNormal(model, init_scale=0.2)
    values = guide()
    assert values["a"].shape == (3,) and values["s"].shape == ()
    names = set(pyro.get_param_store().keys())
    assert names == {"AutoNormal.locs.a", "AutoNormal.scales.a", "AutoNormal.locs.s",
                     "AutoNormal.scales.s"}
    assert torch.allclose(pyro.param("AutoNormal.scales.a"), torch.full((3,), 0.2))
    # init_to_feasible: the unconstrained loc is 0, so s starts at exp(0) = 1
    assert guide.median()["s"].item() == pytest.approx(1.0)


def test_auto_normal_recovers_conjugate_posterior():
    guide = AutoNormal(normal_model)
    train(normal_model, guide, (Y,), steps=500)
    # the family contains the posterior; seeds on this setup differ by ~0.01
    assert guide.median(Y)["mu"].item() == pytest.approx(POST_MEAN, abs=0.05)
    q = guide.quantiles([0.5, stats.norm.cdf(1.0)], Y)["mu"]
    assert q.shape == (2,)
    assert (q[1] - q[0]).item() == pytest.approx(POST_SD, abs=0.05)


def test_constrained_site_density_includes_the_jacobian():
    def model():
        pyro.sample("s", dist.Gamma(2.0, 1.0))

    guide = AutoNormal(model, init_loc_fn=init_to_value(values={"s": torch.tensor(2.0)}))
    tr = poutine.trace(guide).get_trace()
    assert tr.nodes["s_unconstrained"]["infer"]["is_auxiliary"]
    u = tr.nodes["s_unconstrained"]["value"]
    s = tr.nodes["s"]["value"]
    assert torch.allclose(s, u.exp())
    # total guide density = LogNormal(log 2, 0.1) density at s
    expected = stats.lognorm(s=0.1, scale=2.0).logpdf(s.item())
    assert tr.log_prob_sum().item() == pytest.approx(expected, abs=1e-4)


def test_local_latents_in_a_subsampled_plate():
    data = torch.arange(6.0)

    def model():
        with pyro.plate("items", 6, subsample_size=3) as idx:
            z = pyro.sample("z", dist.Normal(0.0, 1.0))
            pyro.sample("x", dist.Normal(z, 1.0), obs=data[idx])

    guide = AutoNormal(model, init_loc_fn=init_to_value(values={"z": torch.zeros(3)}))
    guide()
    loc = pyro.param("AutoNormal.locs.z")
    assert loc.shape == (6,)  # full size, one entry per element
    with torch.no_grad():
        pyro.get_param_store()["AutoNormal.locs.z"] = torch.arange(6.0) * 10
    guide_tr = poutine.trace(guide).get_trace()
    model_tr = poutine.trace(poutine.replay(model, trace=guide_tr)).get_trace()
    idx = model_tr.nodes["items"]["value"]
    assert torch.equal(idx, guide_tr.nodes["items"]["value"])
    # each subsampled element's draw is near its own loc (scale 0.1)
    assert torch.allclose(guide_tr.nodes["z"]["value"], idx.float() * 10, atol=1.0)
    # SVI runs with the subsampled plate
    train(model, guide, (), steps=5, particles=1)


def test_auto_normal_rejects_sequential_plates():
    def model():
        for i in pyro.plate("loop", 2):
            pyro.sample(f"z_{i}", dist.Normal(0.0, 1.0))

    with pytest.raises(ValueError, match="sequential"):
        AutoNormal(model)()


def test_auto_delta_finds_the_map():
    flips = torch.tensor([1.0, 1.0, 1.0, 0.0])

    def coin(data):
        f = pyro.sample("f", dist.Beta(3.0, 3.0))
        with pyro.plate("data", len(data)):
            pyro.sample("obs", dist.Bernoulli(f), obs=data)

    guide = AutoDelta(coin)
    train(coin, guide, (flips,), steps=300, lr=0.05, lrd=0.99, particles=1)
    # posterior Beta(6, 4), mode 5 / 8; the loss is deterministic
    assert guide.median(flips)["f"].item() == pytest.approx(5 / 8, abs=2e-3)
    assert "AutoDelta.f" in pyro.get_param_store()
    assert guide(flips)["f"].item() == guide(flips)["f"].item()


def test_auto_delta_init_to_value_and_blocked_sites():
    def model():
        pyro.sample("a", dist.Normal(0.0, 1.0))
        pyro.sample("k", dist.Bernoulli(0.5))

    guide = AutoDelta(poutine.block(model, hide=["k"]),
                      init_loc_fn=init_to_value(values={"a": torch.tensor(0.7)}))
    assert guide()["a"].item() == pytest.approx(0.7)
    assert "k" not in guide()


def test_sample_posterior_draws_without_tracing():
    guide = AutoNormal(normal_model)
    draws = guide.sample_posterior(Y, num_samples=20)
    assert draws["mu"].shape == (20,) and not draws["mu"].requires_grad
    with poutine.trace() as tr:
        guide.sample_posterior(Y)
    assert "mu" not in tr.trace.nodes


def test_pytorch_native_training_loop_through_module_parameters():
    guide = AutoNormal(normal_model)
    loss_fn = Trace_ELBO(num_particles=8, vectorize_particles=True)(normal_model, guide)
    loss_fn(Y)  # creates the parameters
    store = dict(pyro.get_param_store().named_parameters())
    params = list(loss_fn.parameters())
    assert len(params) == 2
    assert all(any(p is q for p in params) for q in store.values())
    optim = torch.optim.Adam(params, lr=0.05)
    for _ in range(300):
        optim.zero_grad()
        loss_fn(Y).backward()
        optim.step()
    # the same optimum as SVI: the exact posterior mean, within the optimizer's jitter
    assert guide.median(Y)["mu"].item() == pytest.approx(POST_MEAN, abs=0.08)
