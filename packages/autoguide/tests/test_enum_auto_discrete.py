"""AutoDiscreteParallel: exact ELBO at initialisation, and the exact posterior after
training when the posterior factorises as the guide does."""
import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer import TraceEnum_ELBO
from pyro.infer.autoguide import AutoDiscreteParallel

DATA = torch.tensor([0.1, 2.9, 3.2, -0.3])
LOCS = torch.tensor([0.0, 3.0])


def model():
    with pyro.plate("data", len(DATA)):
        k = pyro.sample("k", dist.Categorical(torch.tensor([0.3, 0.7])))
        z = pyro.sample("z", dist.Bernoulli(0.5))
        pyro.sample("x", dist.Normal(LOCS[k] + 0.5 * z, 1.0), obs=DATA)


def log_joint_table():
    """log p(k_i, z_i, x_i) for each element: shape (4, 2, 2)."""
    k = torch.arange(2)[:, None]
    z = torch.arange(2.0)[None, :]
    lp = (torch.tensor([0.3, 0.7]).log()[:, None] + torch.tensor(0.5).log()
          + dist.Normal(LOCS[k] + 0.5 * z, 1.0).log_prob(DATA[:, None, None]))
    return lp


def test_initial_loss_is_the_exact_elbo_of_the_uniform_guide():
    pyro.clear_param_store()
    guide = AutoDiscreteParallel(model)
    loss = TraceEnum_ELBO(max_plate_nesting=1).loss(model, guide)
    q = torch.full((2, 2), 0.25)
    exact = (q * (log_joint_table() - q.log())).sum()
    assert loss == pytest.approx(-exact.item(), abs=1e-4)
    assert pyro.param("AutoDiscreteParallel.probs.k").shape == (4, 2)
    assert guide.median()["z"].dtype == torch.get_default_dtype()  # Bernoulli values


def test_training_reaches_the_posterior_marginals():
    optim = pytest.importorskip("pyro.optim", reason="training needs pyro-optim")
    from pyro.infer import SVI

    torch.manual_seed(0)
    pyro.clear_param_store()
    guide = AutoDiscreteParallel(model)
    svi = SVI(model, guide, optim.Adam({"lr": 0.05}), TraceEnum_ELBO(max_plate_nesting=1))
    for _ in range(400):
        svi.step()
    post = log_joint_table()
    post = (post - post.logsumexp((1, 2), keepdim=True)).exp()
    # k and z are not independent a posteriori: compare the mean-field optimum's k
    # marginals loosely, and the median with the posterior's most probable k
    probs_k = pyro.param("AutoDiscreteParallel.probs.k").detach()
    assert torch.equal(guide.median()["k"], post.sum(2).argmax(-1))
    assert torch.allclose(probs_k, post.sum(2), atol=0.08)


def test_continuous_sites_are_refused():
    def bad():
        pyro.sample("loc", dist.Normal(0.0, 1.0))

    with pytest.raises(ValueError, match="'loc'"):
        AutoDiscreteParallel(bad)()
