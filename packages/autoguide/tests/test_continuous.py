"""AutoContinuous and its Gaussian families (AutoMultivariateNormal, AutoDiagonalNormal,
AutoLowRankMultivariateNormal): parameter names, packing of the latent vector, the guide's
density, shapes with plates, errors, and recovery of exact Gaussian posteriors."""
import math

import pytest
import torch
from scipy import stats
from torch.distributions import biject_to

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer import SVI, Trace_ELBO
from pyro.infer.autoguide import (
    AutoContinuous,
    AutoDiagonalNormal,
    AutoIAFNormal,
    AutoLaplaceApproximation,
    AutoLowRankMultivariateNormal,
    AutoMultivariateNormal,
    init_to_value,
)

# Training needs an optimizer and pyro-optim is not a dependency of this package.
_optim = pytest.importorskip("pyro.optim")
ClippedAdam = _optim.ClippedAdam

GAUSSIANS = [AutoMultivariateNormal, AutoDiagonalNormal, AutoLowRankMultivariateNormal]
PHI_1 = stats.norm.cdf(1.0)  # the N(0, 1) quantile at PHI_1 is exactly +1

# z ~ N(0, I_2), y ~ N(z1 + 0.5 z2, 0.5), y = 1.5: posterior precision
# L = I + a a^T / 0.25 = [[5, 2], [2, 2]] (a = (1, 0.5)), covariance L^-1, mean (1, 0.5)
Y = torch.tensor(1.5)
POST_MEAN = torch.tensor([1.0, 0.5])
POST_COV = torch.tensor([[2.0, -2.0], [-2.0, 5.0]]) / 6.0
# mean-field optimum: the exact mean, variances 1 / L_ii
MF_VAR = torch.tensor([1 / 5, 1 / 2])


def gauss_model(y):
    z = pyro.sample("z", dist.Normal(torch.zeros(2), 1.0).to_event(1))
    pyro.sample("y", dist.Normal(z[..., 0] + 0.5 * z[..., 1], 0.5), obs=y)


def mixed_model():
    pyro.sample("a", dist.Normal(torch.zeros(3), 1.0).to_event(1))
    pyro.sample("s", dist.Gamma(2.0, 1.0))
    pyro.sample("w", dist.Dirichlet(torch.ones(3)))


MIXED_INIT = {"a": torch.tensor([0.1, -0.2, 0.3]), "s": torch.tensor(2.0),
              "w": torch.tensor([0.2, 0.3, 0.5])}


def fit(guide, model, args, steps=500, lr=0.05, lrd=0.995, particles=64):
    svi = SVI(model, guide, ClippedAdam({"lr": lr, "lrd": lrd}),
              Trace_ELBO(num_particles=particles, vectorize_particles=True))
    for _ in range(steps):
        svi.step(*args)
    return guide


# ------------------------------------------------------------------ structure


@pytest.mark.parametrize("cls,names", [
    (AutoMultivariateNormal, {"loc": (6,), "scale": (6,), "scale_tril": (6, 6)}),
    (AutoDiagonalNormal, {"loc": (6,), "scale": (6,)}),
    (AutoLowRankMultivariateNormal, {"loc": (6,), "scale": (6,), "cov_factor": (6, 2)}),
])
def test_param_names_shapes_and_latent_site(cls, names):
    guide = cls(mixed_model, init_loc_fn=init_to_value(values=MIXED_INIT))
    tr = poutine.trace(guide).get_trace()
    # 3 (a) + 1 (s) + 2 (w: the simplex in 3-d has 2 unconstrained coordinates)
    assert guide.latent_dim == 6
    store = pyro.get_param_store()
    assert set(store.keys()) == {f"{cls.__name__}.{k}" for k in names}
    for k, shape in names.items():
        assert tuple(store[f"{cls.__name__}.{k}"].shape) == shape
    latent = tr.nodes[f"_{cls.__name__}_latent"]
    assert latent["infer"]["is_auxiliary"] and latent["value"].shape == (6,)
    assert bool(dist.Dirichlet(torch.ones(3)).support.check(tr.nodes["w"]["value"]))
    assert tr.nodes["s"]["value"].item() > 0
    # the module exposes the store's unconstrained leaves as its parameters
    leaves = list(guide.parameters())
    assert len(leaves) == len(names)
    assert all(any(p is q for q in leaves) for _, p in store.named_parameters())


def test_prefix_is_configurable():
    guide = AutoDiagonalNormal(gauss_model, prefix="my_guide")
    tr = poutine.trace(guide).get_trace(Y)
    assert set(pyro.get_param_store().keys()) == {"my_guide.loc", "my_guide.scale"}
    assert "_my_guide_latent" in tr.nodes


@pytest.mark.parametrize("cls", GAUSSIANS)
def test_initial_location_and_scale(cls):
    guide = cls(mixed_model, init_loc_fn=init_to_value(values=MIXED_INIT), init_scale=0.3)
    median = guide.median()
    for name, value in MIXED_INIT.items():
        assert torch.allclose(median[name], value, atol=1e-6), name
    loc, scale = guide._loc_scale()
    if cls is AutoLowRankMultivariateNormal:
        # scale init_scale/sqrt(2) times sqrt(1 + |W_i|^2), |W_i|^2 ~ chi2(rank) / rank
        assert torch.all((scale > 0.3 / math.sqrt(2)) & (scale < 1.0))
    else:
        assert torch.allclose(scale, torch.full((6,), 0.3))


@pytest.mark.parametrize("cls", GAUSSIANS)
def test_guide_density_is_posterior_minus_log_jacobian(cls):
    # an independent computation of the density of the constrained values: the latent
    # vector's density minus log|dT/du| of each site's biject_to(support)
    guide = cls(mixed_model, init_loc_fn=init_to_value(values=MIXED_INIT), init_scale=0.5)
    tr = poutine.trace(guide).get_trace()
    u = tr.nodes[f"_{cls.__name__}_latent"]["value"]
    expected = guide.get_posterior().log_prob(u)
    a, s_u, w_u = u[:3], u[3], u[4:]
    assert torch.allclose(tr.nodes["a"]["value"], a)
    assert torch.allclose(tr.nodes["s"]["value"], s_u.exp())
    expected = expected - s_u  # log|d exp(u)/du| = u
    t_w = biject_to(dist.Dirichlet(torch.ones(3)).support)
    w = t_w(w_u)
    assert torch.allclose(tr.nodes["w"]["value"], w)
    expected = expected - t_w.log_abs_det_jacobian(w_u, w)
    assert tr.log_prob_sum().item() == pytest.approx(expected.item(), abs=1e-4)


@pytest.mark.parametrize("cls", GAUSSIANS)
def test_base_dist_and_transform_give_the_posterior(cls):
    guide = cls(gauss_model, init_scale=0.7)
    guide(Y)
    with torch.no_grad():
        pyro.get_param_store()[f"{cls.__name__}.loc"] = torch.tensor([0.3, -1.2])
    posterior = guide.get_posterior(Y)
    pushed = dist.TransformedDistribution(guide.get_base_dist(), guide.get_transform(Y))
    x = posterior.sample((5,))
    assert torch.allclose(pushed.log_prob(x), posterior.log_prob(x), atol=1e-5)


def test_unpack_latent_order_and_shapes():
    guide = AutoMultivariateNormal(mixed_model, init_loc_fn=init_to_value(values=MIXED_INIT))
    guide()
    latent = torch.arange(6.0)
    pieces = list(guide.unpack_latent(latent))
    assert [site["name"] for site, _ in pieces] == ["a", "s", "w"]
    assert [tuple(v.shape) for _, v in pieces] == [(3,), (), (2,)]
    assert torch.equal(pieces[2][1], torch.tensor([4.0, 5.0]))
    # a batch of latent vectors, as under vectorized particles
    batched = dict((site["name"], v) for site, v in guide.unpack_latent(torch.zeros(7, 6)))
    assert batched["a"].shape == (7, 3) and batched["s"].shape == (7,)


def local_model(data):
    mu = pyro.sample("mu", dist.Normal(0.0, 1.0))
    with pyro.plate("items", len(data)):
        z = pyro.sample("z", dist.Normal(mu, 1.0))
        pyro.sample("x", dist.Normal(z, 1.0), obs=data)


def test_shapes_with_plates_and_particles():
    data = torch.tensor([0.0, 1.0, 2.0])
    guide = AutoMultivariateNormal(local_model)
    tr = poutine.trace(guide).get_trace(data)
    assert guide.latent_dim == 4
    assert tr.nodes["z"]["value"].shape == (3,)
    assert [f.name for f in tr.nodes["z"]["cond_indep_stack"]] == ["items"]
    # outer batch dims (here 5 particles at dim -2) lie left of the model's plate
    with pyro.plate("particles", 5, dim=-2):
        tr = poutine.trace(guide).get_trace(data)
    assert tr.nodes[f"_{type(guide).__name__}_latent"]["value"].shape == (5, 1, 4)
    assert tr.nodes["mu"]["value"].shape == (5, 1)
    assert tr.nodes["z"]["value"].shape == (5, 3)
    draws = guide.sample_posterior(data, num_samples=7)
    assert draws["z"].shape == (7, 3) and draws["mu"].shape == (7,)
    q = guide.quantiles([0.1, 0.5, 0.9], data)
    assert q["z"].shape == (3, 3) and q["mu"].shape == (3,)
    assert torch.all(q["z"][0] < q["z"][1]) and torch.all(q["z"][1] < q["z"][2])


# --------------------------------------------------------------------- errors


def test_subsampled_local_latents_are_rejected():
    def model():
        with pyro.plate("items", 10, subsample_size=4):
            pyro.sample("z", dist.Normal(0.0, 1.0))

    with pytest.raises(ValueError, match=r"'z'.*subsampled plate 'items'"):
        AutoMultivariateNormal(model)()


def test_subsampled_data_with_global_latents_is_fine():
    data = torch.arange(10.0)

    def model():
        mu = pyro.sample("mu", dist.Normal(0.0, 10.0))
        with pyro.plate("items", 10, subsample_size=4) as idx:
            pyro.sample("x", dist.Normal(mu, 1.0), obs=data[idx])

    guide = AutoDiagonalNormal(model)
    assert guide()["mu"].shape == ()


def test_discrete_latent_site_is_named_in_the_error():
    def model():
        pyro.sample("loc", dist.Normal(0.0, 1.0))
        pyro.sample("coin", dist.Bernoulli(0.5))

    with pytest.raises(ValueError, match="'coin'"):
        AutoDiagonalNormal(model)()


def test_bad_arguments():
    with pytest.raises(TypeError, match="base class"):
        AutoContinuous(gauss_model)
    with pytest.raises(ValueError, match="init_scale"):
        AutoMultivariateNormal(gauss_model, init_scale=0.0)
    with pytest.raises(ValueError, match="rank"):
        AutoLowRankMultivariateNormal(gauss_model, rank=0)
    with pytest.raises(ValueError, match="no latent"):
        AutoDiagonalNormal(lambda: pyro.sample("x", dist.Normal(0.0, 1.0), obs=torch.tensor(0.)))()
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        AutoDiagonalNormal(gauss_model).quantiles([0.5, 1.0], Y)


def test_low_rank_default_rank():
    def model():
        pyro.sample("x", dist.Normal(torch.zeros(9), 1.0).to_event(1))

    guide = AutoLowRankMultivariateNormal(model)
    guide()
    assert guide.rank == 3  # round(sqrt(9))
    assert pyro.param("AutoLowRankMultivariateNormal.cov_factor").shape == (9, 3)


def test_constrained_quantiles_are_lognormal_quantiles():
    def model():
        pyro.sample("s", dist.Gamma(2.0, 1.0))

    guide = AutoDiagonalNormal(model, init_loc_fn=init_to_value(values={"s": torch.tensor(2.0)}),
                               init_scale=0.4)
    qs = [0.05, 0.5, 0.9]
    q = guide.quantiles(qs)["s"]
    expected = stats.lognorm(s=0.4, scale=2.0).ppf(qs)
    assert torch.allclose(q, torch.tensor(expected, dtype=q.dtype), rtol=1e-5)


# ------------------------------------------------------------------- recovery
# Over seeds 0-3 with 64 vectorized particles, 500 steps, lr 0.05 * 0.995^t, the largest
# errors were 0.014 (means), 0.023 (covariance entries) and 0.005 (mean-field variances):
# the tolerances below are about 3x those.


@pytest.mark.parametrize("cls,kwargs", [(AutoMultivariateNormal, {}),
                                        (AutoLowRankMultivariateNormal, {"rank": 1})])
def test_full_and_low_rank_recover_the_exact_posterior(cls, kwargs):
    guide = fit(cls(gauss_model, **kwargs), gauss_model, (Y,))
    posterior = guide.get_posterior(Y)
    mean, cov = posterior.mean.detach(), posterior.covariance_matrix.detach()
    assert torch.allclose(mean, POST_MEAN, atol=0.05), mean
    assert torch.allclose(cov, POST_COV, atol=0.06), cov
    # median and quantiles are those of the fitted Gaussian's marginals (exact identity)
    assert torch.allclose(guide.median(Y)["z"], mean, atol=1e-6)
    q = guide.quantiles([0.5, PHI_1], Y)["z"]
    assert torch.allclose(q[1] - q[0], cov.diagonal().sqrt(), atol=1e-5)


def test_diagonal_recovers_the_mean_field_optimum():
    guide = fit(AutoDiagonalNormal(gauss_model), gauss_model, (Y,))
    q = guide.quantiles([0.5, PHI_1], Y)["z"]
    assert torch.allclose(q[0], POST_MEAN, atol=0.05), q[0]
    assert torch.allclose((q[1] - q[0]) ** 2, MF_VAR, atol=0.02), q
    # and not the exact marginal variances (1/3, 5/6), which are larger
    assert torch.all((q[1] - q[0]) ** 2 < POST_COV.diagonal() - 0.1)


@pytest.mark.parametrize("cls", GAUSSIANS + [AutoIAFNormal, AutoLaplaceApproximation])
def test_new_tensors_follow_the_model_dtype(cls):
    # the same code path that keeps a CUDA model's guide on its device (x.new_*, .to(x))
    def model():
        pyro.sample("a", dist.Normal(torch.zeros(2, dtype=torch.float64), 1.0).to_event(1))
        pyro.sample("s", dist.Gamma(torch.tensor(2.0, dtype=torch.float64), 1.0))

    guide = cls(model)
    tr = poutine.trace(guide).get_trace()
    assert all(site["value"].dtype == torch.float64 for site in tr.nodes.values()
               if site["type"] in ("sample", "param"))
    loss = Trace_ELBO(num_particles=3, vectorize_particles=True).loss(model, guide)
    assert math.isfinite(loss)
    assert guide.quantiles([0.2, 0.8])["s"].dtype == torch.float64
