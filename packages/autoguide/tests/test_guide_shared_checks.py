"""The checks the autoguides share (one implementation each): ``init_scale``, sequential
plates, the fit of a batched latent vector to a site, the flow guides' options, and the
parameters of the three Gaussian families."""
import warnings

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer.autoguide import (
    AutoBNAFNormal,
    AutoDelta,
    AutoDiagonalNormal,
    AutoDiscreteParallel,
    AutoIAFNormal,
    AutoLowRankMultivariateNormal,
    AutoMultivariateNormal,
    AutoNormal,
    AutoNormalMessenger,
    AutoRegressiveMessenger,
    AutoStructured,
)

SCALED = [AutoNormal, AutoDiagonalNormal, AutoMultivariateNormal, AutoLowRankMultivariateNormal,
          AutoNormalMessenger, AutoRegressiveMessenger, AutoStructured]
GAUSSIANS = {
    AutoMultivariateNormal: ["loc", "scale", "scale_tril"],
    AutoDiagonalNormal: ["loc", "scale"],
    AutoLowRankMultivariateNormal: ["loc", "scale", "cov_factor"],
}


def model():
    pyro.sample("x", dist.Normal(torch.zeros(2), 1.0).to_event(1))
    pyro.sample("s", dist.LogNormal(0.0, 1.0))


@pytest.mark.parametrize("cls", SCALED, ids=lambda c: c.__name__)
@pytest.mark.parametrize("bad", [True, 0, -0.5, "0.1", None])
def test_init_scale_must_be_a_positive_number(cls, bad):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: init_scale must be a positive"):
        cls(model, init_scale=bad)


@pytest.mark.parametrize("cls", SCALED, ids=lambda c: c.__name__)
def test_init_scale_accepts_positive_numbers(cls):
    # Pyro refuses ints; accepting them refuses nothing Pyro accepts
    assert cls(model, init_scale=0.25)._init_scale == 0.25
    assert cls(model, init_scale=2)._init_scale == 2.0


@pytest.mark.parametrize("cls, names", GAUSSIANS.items(), ids=lambda c: getattr(c, "__name__", ""))
def test_gaussian_families_create_their_parameters(cls, names):
    pyro.clear_param_store()
    guide = cls(model, init_scale=0.3)
    guide()
    store = pyro.get_param_store()
    assert sorted(k for k in store.keys() if k.startswith(cls.__name__)) == sorted(
        f"{cls.__name__}.{n}" for n in names)
    params = guide._params()
    assert len(params) == len(names)
    assert params[0].shape == (3,)  # latent_dim: x (2) and s (1)
    # the module exposes the leaves behind the store's values
    assert {k for k, _ in guide.named_parameters()} == set(names)


def sequential_model():
    for i in pyro.plate("seq", 2):
        pyro.sample(f"z_{i}", dist.Normal(0.0, 1.0))


def sequential_discrete_model():
    for i in pyro.plate("seq", 2):
        pyro.sample(f"c_{i}", dist.Bernoulli(0.5))


@pytest.mark.parametrize("cls, fn", [(AutoNormal, sequential_model),
                                     (AutoDelta, sequential_model),
                                     (AutoDiagonalNormal, sequential_model),
                                     (AutoDiscreteParallel, sequential_discrete_model)],
                         ids=lambda x: getattr(x, "__name__", ""))
def test_sequential_plates_are_refused_with_the_site_and_plate(cls, fn):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: latent site '(z|c)_0' is inside "
                                         rf"the sequential plate 'seq'"):
        cls(fn)()


def plated_model():
    with pyro.plate("items", 2):
        pyro.sample("y", dist.Normal(0.0, 1.0))


@pytest.mark.parametrize("cls", [AutoDiagonalNormal, AutoStructured], ids=lambda c: c.__name__)
def test_batched_latent_that_does_not_fit_a_site_names_it(cls):
    pyro.clear_param_store()
    guide = cls(plated_model)
    guide()
    site = guide._sites[0]
    # batch dims left of the model's plates fit: (3, 1) broadcasts with the plate's (2,)
    assert site.unflatten(torch.zeros(3, 1, 2), cls.__name__).shape == (3, 2)
    assert site.unflatten(torch.zeros(2), cls.__name__).shape == (2,)
    with pytest.raises(ValueError, match=rf"{cls.__name__}: a latent value of batch shape "
                                         rf"\(3,\) does not fit site 'y' of unconstrained "
                                         rf"shape \(2,\)"):
        site.unflatten(torch.zeros(3, 2), cls.__name__)


@pytest.mark.parametrize("cls", [AutoIAFNormal, AutoBNAFNormal], ids=lambda c: c.__name__)
@pytest.mark.parametrize("bad", [0, True, 1.5])
def test_flow_guides_refuse_bad_num_transforms(cls, bad):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: num_transforms must be a positive"):
        cls(model, num_transforms=bad)


@pytest.mark.parametrize("cls", [AutoIAFNormal, AutoBNAFNormal], ids=lambda c: c.__name__)
def test_flow_guides_warn_that_init_loc_fn_is_unused_and_pass_base_options(cls):
    with pytest.warns(FutureWarning, match=rf"init_loc_fn` argument to {cls.__name__}"):
        cls(model, init_loc_fn=lambda site: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        guide = cls(model, prefix="flow", num_transforms=2)
    assert guide.prefix == "flow"
