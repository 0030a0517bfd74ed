"""The GuideMessenger autoguides (pyro.infer.autoguide.effect) against exact conjugate
posteriors and against their non-messenger twins (AutoNormal)."""
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer import SVI, Trace_ELBO
from pyro.infer.autoguide import (
    AutoHierarchicalNormalMessenger,
    AutoMessenger,
    AutoNormal,
    AutoNormalMessenger,
    AutoRegressiveMessenger,
    init_to_feasible,
)

_optim = pytest.importorskip("pyro.optim", reason="training needs pyro-optim")
ClippedAdam = _optim.ClippedAdam

X = torch.tensor([0.9, 1.7, 1.2, 0.4, 1.3, 0.8])
LOGY = torch.tensor([0.5, -0.2, 0.9, 0.3])


def chain_model(x=X):
    """z1 ~ N(0, 1), z2 ~ N(z1, 1), x_i ~ N(z1 + z2, 1): a Gaussian posterior with
    precision [[2, -1], [-1, 1]] + n [[1, 1], [1, 1]]."""
    z1 = pyro.sample("z1", dist.Normal(0.0, 1.0))
    z2 = pyro.sample("z2", dist.Normal(z1, 1.0))
    with pyro.plate("data", len(x)):
        pyro.sample("x", dist.Normal(z1 + z2, 1.0), obs=x)


def chain_posterior(x=X):
    n = len(x)
    precision = torch.tensor([[2.0, -1.0], [-1.0, 1.0]]) + n * torch.ones(2, 2)
    cov = torch.linalg.inv(precision)
    mean = cov @ (x.sum() * torch.ones(2))
    return mean, cov, precision


def positive_model(logy=LOGY):
    """y ~ LogNormal(0, 1), log(obs) ~ N(log y, 1): log y | data ~ N(sum / (n+1), 1/(n+1))."""
    y = pyro.sample("y", dist.LogNormal(0.0, 1.0))
    with pyro.plate("data_y", len(logy)):
        pyro.sample("obs", dist.LogNormal(y.log(), 1.0), obs=logy.exp())


LOGY_MEAN, LOGY_SD = LOGY.sum().item() / 5, 1 / math.sqrt(5)


def train(model, guide, steps, lr=0.125, lrd=0.9925, particles=8):
    svi = SVI(model, guide, ClippedAdam({"lr": lr, "lrd": lrd}),
              Trace_ELBO(num_particles=particles, vectorize_particles=True,
                         max_plate_nesting=1))
    for _ in range(steps):
        svi.step()


def base_normal(fn):
    while not isinstance(fn, dist.Normal):
        fn = fn.base_dist
    return fn


def store(name):
    return pyro.get_param_store()[name].detach()


def test_messenger_is_a_module_and_a_guide_messenger():
    guide = AutoNormalMessenger(chain_model)
    assert isinstance(guide, torch.nn.Module) and isinstance(guide, AutoMessenger)
    out = guide()
    assert set(out) == {"z1", "z2", "x"}
    model_trace, guide_trace = guide.get_traces()
    assert model_trace.nodes["z1"]["fn"].__class__ is dist.Normal  # the prior
    assert isinstance(guide_trace.nodes["z1"]["fn"], dist.TransformedDistribution)
    assert {"locs.z1", "scales.z1", "locs.z2", "scales.z2"} <= set(guide_trace.nodes)
    names = {n for n, _ in guide.named_parameters()}
    assert names == {"locs.z1_unconstrained", "locs.z2_unconstrained",
                     "scales.z1_unconstrained", "scales.z2_unconstrained"}
    values = guide.call()
    assert isinstance(values, tuple) and len(values) == 3


def guide_log_density(trace, observed=False):
    trace.compute_log_prob()
    return sum(site["log_prob_sum"] for site in trace.nodes.values()
               if site["type"] == "sample" and (observed or not site["is_observed"])
               and "log_prob_sum" in site)


@pytest.mark.parametrize("model", [chain_model, positive_model])
def test_normal_messenger_density_equals_auto_normal_density(model):
    # the same family and the same (perturbed) parameters: the messenger's posterior
    # density of its draws equals AutoNormal's density of the same values
    messenger = AutoNormalMessenger(model, init_loc_fn=init_to_feasible)
    messenger()
    auto = AutoNormal(model)
    auto()
    store_ = pyro.get_param_store()
    with torch.no_grad():
        for name in list(store_.keys()):
            if name.startswith("locs."):
                store_[name].add_(0.3)
                store_["AutoNormal." + name].add_(0.3)
            elif name.startswith("scales."):
                store_[name].mul_(2.0)
                store_["AutoNormal." + name].mul_(2.0)
    for _ in range(3):
        messenger()
        _, guide_trace = messenger.get_traces()
        latent = {n: s["value"] for n, s in guide_trace.nodes.items()
                  if s["type"] == "sample" and not s["is_observed"]
                  and not n.startswith("data")}
        data = {}
        for name, value in latent.items():
            t = torch.distributions.biject_to(guide_trace.nodes[name]["fn"].support)
            data[name + "_unconstrained"] = t.inv(value)
        auto_trace = poutine.trace(poutine.condition(auto, data=data)).get_trace()
        for name, value in latent.items():
            assert torch.allclose(auto_trace.nodes[name]["value"], value, atol=1e-6)
        # (the conditioned z_unconstrained sites count: they are the guide's draws)
        expected = guide_log_density(auto_trace, observed=True)
        assert guide_log_density(guide_trace).item() == pytest.approx(expected.item(),
                                                                       abs=1e-4)


def test_normal_messenger_fits_mean_field_optimum():
    # the mean-field optimum of a Gaussian posterior: exact means, variances 1 / Lambda_ii
    train(chain_model, AutoNormalMessenger(chain_model), 600)
    mean, _, precision = chain_posterior()
    for i, name in enumerate(["z1", "z2"]):
        assert store(f"locs.{name}").item() == pytest.approx(mean[i].item(), abs=0.06)
        sd = precision[i, i].rsqrt().item()
        assert store(f"scales.{name}").item() == pytest.approx(sd, rel=0.15)


def test_normal_messenger_constrained_site_and_median():
    guide = AutoNormalMessenger(positive_model)
    train(positive_model, guide, 480)
    assert store("locs.y").item() == pytest.approx(LOGY_MEAN, abs=0.06)
    assert store("scales.y").item() == pytest.approx(LOGY_SD, rel=0.15)
    median = guide.median()["y"]
    assert median.item() == pytest.approx(math.exp(store("locs.y").item()), rel=1e-5)


def test_hierarchical_messenger_recovers_the_full_gaussian_posterior():
    # q(z2 | z1) = N(loc2 + w2 * z1, s2) contains the exact conditional: the joint
    # posterior (mean and covariance) is recovered
    guide = AutoHierarchicalNormalMessenger(chain_model)
    train(chain_model, guide, 1000, lr=0.075, lrd=0.9975)
    mean, cov, _ = chain_posterior()
    s1, s2 = store("scales.z1"), store("scales.z2")
    l1, l2, w2 = store("locs.z1"), store("locs.z2"), store("weights.z2")
    # z1's prior mean is 0, so its weight drops out
    fit_mean = torch.stack([l1, l2 + w2 * l1])
    fit_cov = torch.tensor([[s1 ** 2, w2 * s1 ** 2], [w2 * s1 ** 2, w2 ** 2 * s1 ** 2 + s2 ** 2]])
    assert torch.allclose(fit_mean, mean, atol=0.07)
    assert torch.allclose(fit_cov, cov, atol=0.02)


def test_hierarchical_messenger_initialization_and_sites():
    guide = AutoHierarchicalNormalMessenger(chain_model, init_weight=0.5,
                                            hierarchical_sites=["z2"])
    guide()
    # z1 is not hierarchical: plain mean field at the prior mean
    assert "weights.z1" not in pyro.get_param_store()
    assert store("weights.z2").item() == 0.5
    # loc = u0 - weight * prior mean, so the initial mean is the init value (prior mean)
    _, guide_trace = guide.get_traces()
    z1 = guide_trace.nodes["z1"]["value"]
    assert base_normal(guide_trace.nodes["z2"]["fn"]).loc.item() == pytest.approx(
        store("locs.z2").item() + 0.5 * z1.item())


def test_regressive_messenger_recovers_exact_posteriors():
    # independent sites: q(u) = loc + scale * u_prior contains the exact posterior
    def model():
        z = pyro.sample("z", dist.Normal(0.0, 1.0))
        with pyro.plate("data", len(X)):
            pyro.sample("x", dist.Normal(z, 1.0), obs=X)
        positive_model()

    guide = AutoRegressiveMessenger(model)
    guide()
    assert store("locs.z").item() == pytest.approx(0.0)  # (1 - 0.1) * prior mean 0
    # y: (1 - 0.1) * log of the prior mean exp(1/2)
    assert store("locs.y").item() == pytest.approx(0.9 * 0.5)
    train(model, guide, 800, lr=0.075, lrd=0.995)
    n = len(X)
    # z ~ loc + scale * N(0, 1): mean loc, sd scale
    assert store("locs.z").item() == pytest.approx(X.sum().item() / (n + 1), abs=0.06)
    assert store("scales.z").item() == pytest.approx(1 / math.sqrt(n + 1), rel=0.15)
    # log y ~ loc + scale * N(0, 1)
    assert store("locs.y").item() == pytest.approx(LOGY_MEAN, abs=0.06)
    assert store("scales.y").item() == pytest.approx(LOGY_SD, rel=0.15)


def test_regressive_messenger_initial_loc_shrinks_toward_init():
    def model():
        pyro.sample("a", dist.Normal(3.0, 2.0))

    AutoRegressiveMessenger(model, init_scale=0.2)()
    assert store("locs.a").item() == pytest.approx(0.8 * 3.0)
    assert store("scales.a").item() == pytest.approx(0.2)


def plate_model(size=6, subsample_size=None):
    a = pyro.sample("a", dist.Normal(0.0, 1.0))
    with pyro.plate("p", size, subsample_size=subsample_size):
        pyro.sample("c", dist.Normal(a, 1.0))


def test_messenger_params_full_size_under_subsampling():
    guide = AutoNormalMessenger(plate_model)
    out = guide(6, 2)
    assert out["c"].shape == (2,)
    assert store("locs.c").shape == (6,)
    model_trace, guide_trace = guide.get_traces()
    index = guide_trace.nodes["p"]["value"]
    loc = base_normal(guide_trace.nodes["c"]["fn"]).loc
    assert torch.equal(loc, store("locs.c")[index])


def test_messenger_amortized_and_enclosing_plates_share_params():
    AutoNormalMessenger(plate_model, amortized_plates=("p",))(6, 2)
    assert store("locs.c").shape == ()
    pyro.clear_param_store()
    guide = AutoNormalMessenger(plate_model)
    Trace_ELBO(num_particles=3, vectorize_particles=True, max_plate_nesting=1).loss(
        plate_model, guide)
    # the particle plate encloses the guide: parameters are not per particle
    assert store("locs.a").shape == () and store("locs.c").shape == (6,)


def test_messenger_rejects_bad_arguments():
    with pytest.raises(ValueError, match="init_scale"):
        AutoNormalMessenger(chain_model, init_scale=0.0)
    with pytest.raises(ValueError, match="callable"):
        AutoNormalMessenger(None)

    def discrete():
        pyro.sample("k", dist.Bernoulli(0.5))

    with pytest.raises(ValueError, match="discrete sample site 'k'"):
        AutoNormalMessenger(discrete)()


def test_messenger_subclass_overrides_one_site():
    class MyGuide(AutoNormalMessenger):
        def get_posterior(self, name, prior):
            if name == "z2":
                return dist.Normal(prior.loc + 1.0, 0.5)
            return super().get_posterior(name, prior)

    guide = MyGuide(chain_model)
    guide()
    model_trace, guide_trace = guide.get_traces()
    z1 = guide_trace.nodes["z1"]["value"]
    assert guide_trace.nodes["z2"]["fn"].loc.item() == pytest.approx(z1.item() + 1.0)
    assert "locs.z2" not in pyro.get_param_store()
    assert math.isfinite(Trace_ELBO().loss(chain_model, guide))
