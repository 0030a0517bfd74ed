"""AutoStructured and AutoGaussian against exact Gaussian posteriors of linear-Gaussian
models; their sites, parameters and dependency structure."""
import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer import SVI, Trace_ELBO
from pyro.infer.autoguide import AutoGaussian, AutoGuide, AutoStructured

_optim = pytest.importorskip("pyro.optim", reason="training needs pyro-optim")
ClippedAdam = _optim.ClippedAdam

X = torch.tensor([0.9, 1.7, 1.2, 0.4, 1.3, 0.8])


def chain_model(x=X):
    z1 = pyro.sample("z1", dist.Normal(0.0, 1.0))
    z2 = pyro.sample("z2", dist.Normal(z1, 1.0))
    with pyro.plate("data", len(x)):
        pyro.sample("x", dist.Normal(z1 + z2, 1.0), obs=x)


def chain_posterior(x=X):
    precision = torch.tensor([[2.0, -1.0], [-1.0, 1.0]]) + len(x) * torch.ones(2, 2)
    cov = torch.linalg.inv(precision)
    return cov @ (x.sum() * torch.ones(2)), cov


Y = torch.tensor([1.5, -0.3, 0.7])


def plated_model(y=Y):
    """a ~ N(0, 1); c_i ~ N(a, 1); y_i ~ N(c_i, 0.5) for i in a plate of 3."""
    a = pyro.sample("a", dist.Normal(0.0, 1.0))
    with pyro.plate("p", len(y)):
        c = pyro.sample("c", dist.Normal(a, 1.0))
        pyro.sample("y", dist.Normal(c, 0.5), obs=y)


def plated_posterior(y=Y):
    n = len(y)
    # joint precision over (a, c_1..c_n): prior a (1) + each c_i | a (1), obs (1/0.25)
    precision = torch.zeros(n + 1, n + 1)
    precision[0, 0] = 1.0 + n
    precision[0, 1:] = precision[1:, 0] = -1.0
    precision[1:, 1:] = torch.eye(n) * (1.0 + 4.0)
    info = torch.cat([torch.zeros(1), 4.0 * y])
    cov = torch.linalg.inv(precision)
    return cov @ info, cov


def train(model, guide, steps, lr=0.075, lrd=0.995, particles=8):
    svi = SVI(model, guide, ClippedAdam({"lr": lr, "lrd": lrd}),
              Trace_ELBO(num_particles=particles, vectorize_particles=True,
                         max_plate_nesting=1))
    for _ in range(steps):
        svi.step()


def store(name):
    return pyro.get_param_store()[name].detach()


def structured_moments(cond):
    """Mean and covariance of the fitted structured guide of chain_model (linear
    dependency z2 <- z1) from its parameters."""
    l1, l2 = store("AutoStructured.locs.z1"), store("AutoStructured.locs.z2")
    s1, s2 = store("AutoStructured.scales.z1"), store("AutoStructured.scales.z2")
    # the 1x1 scale_trils of "mvn" sites (positive, as Pyro's) multiply the scales
    if "AutoStructured.scale_trils.z1" in pyro.get_param_store():
        s1 = s1 * store("AutoStructured.scale_trils.z1").reshape(-1)
    if "AutoStructured.scale_trils.z2" in pyro.get_param_store():
        s2 = s2 * store("AutoStructured.scale_trils.z2").reshape(-1)
    w = store("AutoStructured.deps.z2.z1$$$weight")
    # z1 = l1 + s1 e1, z2 = l2 + s2 e2 + w (s1 e1)
    root = torch.tensor([[s1.item(), 0.0], [w.item() * s1.item(), s2.item()]])
    return torch.cat([l1, l2]), root @ root.T


@pytest.mark.parametrize("cond", ["normal", "mvn"])
def test_structured_with_dependency_recovers_exact_posterior(cond):
    guide = AutoStructured(chain_model, conditionals=cond,
                           dependencies={"z2": {"z1": "linear"}})
    train(chain_model, guide, 600)
    mean, cov = chain_posterior()
    fit_mean, fit_cov = structured_moments(cond)
    assert torch.allclose(fit_mean, mean, atol=0.06)
    assert torch.allclose(fit_cov, cov, atol=0.02)
    assert torch.allclose(torch.stack([guide.median()["z1"], guide.median()["z2"]]),
                          fit_mean, atol=1e-6)


def test_structured_infers_posterior_dependencies_and_pyro_sites():
    def model():
        a = pyro.sample("a", dist.Normal(0.0, 1.0))
        b = pyro.sample("b", dist.LogNormal(0.0, 1.0))
        with pyro.plate("p", 3):
            c = pyro.sample("c", dist.Normal(a, b))
            pyro.sample("obs", dist.Normal(c, 1.0), obs=torch.zeros(3))

    guide = AutoStructured(model)
    trace = poutine.trace(guide).get_trace()
    params = {n: tuple(s["value"].shape) for n, s in trace.nodes.items() if s["type"] == "param"}
    # a and b become dependent in the posterior through their common child c
    assert params == {
        "AutoStructured.locs.a": (1,), "AutoStructured.scales.a": (1,),
        "AutoStructured.scale_trils.a": (1, 1), "AutoStructured.locs.b": (1,),
        "AutoStructured.scales.b": (1,), "AutoStructured.scale_trils.b": (1, 1),
        "AutoStructured.deps.b.a$$$weight": (1, 1), "AutoStructured.locs.c": (3,),
        "AutoStructured.scales.c": (3,), "AutoStructured.scale_trils.c": (3, 3),
        "AutoStructured.deps.c.a$$$weight": (3, 1), "AutoStructured.deps.c.b$$$weight": (3, 1),
    }
    samples = [n for n, s in trace.nodes.items() if s["type"] == "sample"]
    assert samples == ["p", "a_aux", "b_aux", "c_aux", "a", "b", "c"]
    assert all(trace.nodes[f"{n}_aux"]["infer"].get("is_auxiliary") for n in "abc")


def test_structured_log_density_is_the_exact_change_of_variables():
    # a delta-free mvn conditional with a dependency: the guide density of the values
    # equals the density of the implied Gaussian in unconstrained space (plus Jacobian)
    guide = AutoStructured(chain_model, conditionals={"z1": "normal", "z2": "mvn"},
                           dependencies={"z2": {"z1": "linear"}})
    guide()
    with torch.no_grad():
        pyro.get_param_store()["AutoStructured.deps.z2.z1$$$weight"].fill_(0.7)
    trace = poutine.trace(guide).get_trace()
    trace.compute_log_prob()
    total = sum(s["log_prob_sum"] for s in trace.nodes.values() if s["type"] == "sample")
    mean, cov = structured_moments("mvn")
    z = torch.stack([trace.nodes["z1"]["value"], trace.nodes["z2"]["value"]]).detach()
    expected = dist.MultivariateNormal(mean, cov).log_prob(z)
    assert total.item() == pytest.approx(expected.item(), abs=1e-4)


def test_structured_delta_and_callable_conditionals():
    calls = []

    def noise():
        calls.append(1)
        return pyro.sample("z2_noise", dist.Normal(0.0, 0.3), infer={"is_auxiliary": True})

    guide = AutoStructured(chain_model, conditionals={"z1": "delta", "z2": noise},
                           dependencies={"z2": {"z1": "linear"}})
    trace = poutine.trace(guide).get_trace()
    assert "z1_aux" not in trace.nodes and "z2_noise" in trace.nodes
    assert calls
    assert trace.nodes["z1"]["value"].item() == store("AutoStructured.locs.z1").item()


def test_structured_errors():
    with pytest.raises(ValueError, match="conditional"):
        AutoStructured(chain_model, conditionals="gamma")
    with pytest.raises(ValueError, match="before"):
        AutoStructured(chain_model, dependencies={"z1": {"z2": "linear"}})()
    with pytest.raises(ValueError, match="not latent"):
        AutoStructured(chain_model, dependencies={"z2": {"q": "linear"}})()


def test_gaussian_recovers_exact_posterior_of_linear_gaussian_model():
    guide = AutoGaussian(plated_model)
    assert type(guide).__name__ == "AutoGaussianDense" and isinstance(guide, AutoGuide)
    train(plated_model, guide, 1000, lr=0.05, lrd=0.997, particles=32)
    mean, cov = plated_posterior()
    posterior = guide.get_posterior()
    assert torch.allclose(posterior.loc.detach(), mean, atol=0.06)
    assert torch.allclose(posterior.covariance_matrix.detach(), cov, atol=0.02)
    median = guide.median()
    assert torch.allclose(torch.cat([median["a"].reshape(1), median["c"]]),
                          posterior.loc.detach(), atol=1e-5)


def test_gaussian_parameters_and_sparse_precision():
    def model():
        a = pyro.sample("a", dist.Normal(0.0, 1.0))
        b = pyro.sample("b", dist.Normal(0.0, 1.0).expand([2]).to_event(1))
        with pyro.plate("p", 3):
            c = pyro.sample("c", dist.Normal(a, 1.0))
            pyro.sample("obs", dist.Normal(c + b.sum(), 1.0), obs=torch.zeros(3))

    guide = AutoGaussian(model, init_scale=0.5)
    trace = poutine.trace(guide).get_trace()
    params = {n[len("AutoGaussianDense."):]: tuple(s["value"].shape)
              for n, s in trace.nodes.items() if s["type"] == "param"}
    assert params == {
        "locs.a": (), "scales.a": (), "locs.b": (2,), "scales.b": (2,), "locs.c": (3,),
        "scales.c": (3,), "prec_sqrts.a": (1, 1), "white_vecs.a": (1,),
        "prec_sqrts.b": (2, 2), "white_vecs.b": (2,), "prec_sqrts.c": (3, 2, 1),
        "white_vecs.c": (3, 1), "prec_sqrts.obs": (3, 3, 1), "white_vecs.obs": (3, 1),
    }
    latent = trace.nodes["_AutoGaussianDense_latent"]
    assert latent["infer"].get("is_auxiliary")
    precision, _ = guide._precision_info()
    # flat order a, b0, b1, c0, c1, c2: c_i do not interact with each other, a not with b
    assert precision[3:, 3:].detach().sub(torch.diag(precision.diagonal()[3:])).abs().max() == 0
    assert precision[0, 1:3].abs().max() == 0
    # the precision is the sum of the factors' prec_sqrt @ prec_sqrt.T
    sqrts = [store(f"AutoGaussianDense.prec_sqrts.{n}") for n in ["a", "b", "c", "obs"]]
    total = sum((s @ s.transpose(-1, -2)).sum() for s in sqrts)
    assert precision.sum().item() == pytest.approx(total.item(), rel=1e-5)


def test_gaussian_backends():
    with pytest.raises(ValueError, match="funsor"):
        AutoGaussian(chain_model, backend="funsor")
    with pytest.raises(ValueError, match="unknown backend"):
        AutoGaussian(chain_model, backend="sparse")
