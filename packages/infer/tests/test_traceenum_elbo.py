"""TraceEnum_ELBO against brute-force enumeration written with itertools and logsumexp."""
import itertools
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer import SVI, Trace_ELBO, TraceEnum_ELBO, config_enumerate
from pyro.ops.indexing import Vindex

# Training needs an optimizer and pyro-optim is not a dependency of this package: these
# tests run where it is installed (tox env `all`, the development venv).
_optim = pytest.importorskip("pyro.optim")
Adam = _optim.Adam

P1 = torch.tensor([0.2, 0.5, 0.3])
TRANS = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
LOCS = torch.tensor([-1.0, 0.5, 2.0])
XS = torch.tensor([0.3, 1.8, -0.6, 2.2])


def normal_lp(x, loc, scale=1.0):
    return -0.5 * math.log(2 * math.pi) - math.log(scale) - (x - loc) ** 2 / (2 * scale**2)


def lse(terms):
    m = max(terms)
    return m + math.log(sum(math.exp(t - m) for t in terms))


def empty_guide(*args, **kwargs):
    pass


def test_markov_chain_without_plates():
    @config_enumerate
    def model():
        z1 = pyro.sample("z1", dist.Categorical(P1))
        z2 = pyro.sample("z2", dist.Categorical(Vindex(TRANS)[..., z1, :]))
        pyro.sample("x", dist.Normal(LOCS[z2], 1.0), obs=torch.tensor(0.7))

    loss = TraceEnum_ELBO(max_plate_nesting=0).loss(model, empty_guide)
    exact = lse([
        math.log(P1[a]) + math.log(TRANS[a, b]) + normal_lp(0.7, LOCS[b].item())
        for a, b in itertools.product(range(3), range(3))
    ])
    assert loss == pytest.approx(-exact, abs=1e-4)


def global_mixture():
    z = pyro.sample("z", dist.Categorical(P1), infer={"enumerate": "parallel"})
    with pyro.plate("data", len(XS)):
        pyro.sample("x", dist.Normal(LOCS[z], 1.0), obs=XS)


def test_global_variable_with_plated_observations():
    # the product over the plate must be taken before summing z out
    loss = TraceEnum_ELBO(max_plate_nesting=1).loss(global_mixture, empty_guide)
    exact = lse([
        math.log(P1[k]) + sum(normal_lp(x, LOCS[k].item()) for x in XS.tolist())
        for k in range(3)
    ])
    assert loss == pytest.approx(-exact, abs=1e-4)


def hierarchical(xs=XS):
    # global z, local y_i | z, x_i | y_i
    z = pyro.sample("z", dist.Categorical(P1))
    with pyro.plate("data", len(xs)):
        y = pyro.sample("y", dist.Categorical(Vindex(TRANS)[..., z, :]))
        pyro.sample("x", dist.Normal(Vindex(LOCS)[..., y], 1.0), obs=xs)


def hierarchical_exact(xs=XS):
    return lse([
        math.log(P1[k]) + sum(
            lse([math.log(TRANS[k, j]) + normal_lp(x, LOCS[j].item()) for j in range(3)])
            for x in xs.tolist()
        )
        for k in range(3)
    ])


def test_global_and_local_enumerated_variables():
    loss = TraceEnum_ELBO(max_plate_nesting=1).loss(config_enumerate(hierarchical), empty_guide)
    assert loss == pytest.approx(-hierarchical_exact(), abs=1e-4)


def test_max_plate_nesting_is_guessed():
    elbo = TraceEnum_ELBO()
    loss = elbo.loss(config_enumerate(hierarchical), empty_guide)
    assert elbo.max_plate_nesting == 1
    assert loss == pytest.approx(-hierarchical_exact(), abs=1e-4)


def test_gradient_matches_brute_force_gradient():
    locs = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)

    @config_enumerate
    def model():
        z = pyro.sample("z", dist.Categorical(P1))
        with pyro.plate("data", len(XS)):
            y = pyro.sample("y", dist.Categorical(Vindex(TRANS)[..., z, :]))
            pyro.sample("x", dist.Normal(Vindex(locs)[..., y], 1.0), obs=XS)

    loss = TraceEnum_ELBO(max_plate_nesting=1).differentiable_loss(model, empty_guide)
    (grad,) = torch.autograd.grad(loss, [locs])
    # brute force in torch: -log sum_z p(z) prod_i sum_y p(y|z) N(x_i; locs_y, 1)
    lp_x = torch.distributions.Normal(locs, 1.0).log_prob(XS[:, None])  # (i, y)
    inner = (TRANS.log()[:, None, :] + lp_x[None]).logsumexp(-1)  # (z, i)
    exact = -(P1.log() + inner.sum(-1)).logsumexp(0)
    (grad_exact,) = torch.autograd.grad(exact, [locs])
    assert torch.allclose(grad, grad_exact, atol=1e-4)
    assert loss.item() == pytest.approx(exact.item(), abs=1e-4)


def test_guide_enumeration_of_a_global_variable_with_model_enumerated_locals():
    q = torch.tensor([0.6, 0.1, 0.3])

    def guide():
        pyro.sample("z", dist.Categorical(q), infer={"enumerate": "parallel"})

    def model():
        z = pyro.sample("z", dist.Categorical(P1))
        with pyro.plate("data", len(XS)):
            y = pyro.sample("y", dist.Categorical(Vindex(TRANS)[..., z, :]),
                            infer={"enumerate": "parallel"})
            pyro.sample("x", dist.Normal(Vindex(LOCS)[..., y], 1.0), obs=XS)

    loss = TraceEnum_ELBO(max_plate_nesting=1).loss(model, guide)
    # ELBO = sum_z q(z) [log p(z) + sum_i log sum_y p(y|z) p(x_i|y) - log q(z)]
    exact = sum(
        q[k].item() * (
            math.log(P1[k]) - math.log(q[k])
            + sum(lse([math.log(TRANS[k, j]) + normal_lp(x, LOCS[j].item()) for j in range(3)])
                  for x in XS.tolist())
        )
        for k in range(3)
    )
    assert loss == pytest.approx(-exact, abs=1e-4)


@pytest.mark.parametrize("default", ["parallel", "sequential"])
def test_guide_side_enumeration_parallel_and_sequential_agree(default):
    q = torch.tensor([0.25, 0.5, 0.25])

    @config_enumerate(default=default)
    def guide():
        pyro.sample("z", dist.Categorical(q))

    def model():
        z = pyro.sample("z", dist.Categorical(P1))
        with pyro.plate("data", len(XS)):
            pyro.sample("x", dist.Normal(LOCS[z], 1.0), obs=XS)

    loss = TraceEnum_ELBO(max_plate_nesting=1).loss(model, guide)
    exact = sum(
        q[k].item() * (math.log(P1[k]) - math.log(q[k])
                       + sum(normal_lp(x, LOCS[k].item()) for x in XS.tolist()))
        for k in range(3)
    )
    assert loss == pytest.approx(-exact, abs=1e-4)


def test_subsampled_plate_scales_local_marginals():
    data = torch.linspace(-1.0, 2.0, 10)
    seen = {}

    @config_enumerate
    def model():
        with pyro.plate("data", 10, subsample_size=4) as idx:
            seen["idx"] = idx
            y = pyro.sample("y", dist.Categorical(P1))
            pyro.sample("x", dist.Normal(LOCS[y], 1.0), obs=data[idx])

    loss = TraceEnum_ELBO(max_plate_nesting=1).loss(model, empty_guide)
    local = [lse([math.log(P1[k]) + normal_lp(x, LOCS[k].item()) for k in range(3)])
             for x in data[seen["idx"]].tolist()]
    assert loss == pytest.approx(-(10 / 4) * sum(local), abs=1e-4)


def test_non_tree_plates_raise():
    @config_enumerate
    def model():
        with pyro.plate("a", 2, dim=-1):
            z1 = pyro.sample("z1", dist.Categorical(P1))
        with pyro.plate("b", 3, dim=-2):
            z2 = pyro.sample("z2", dist.Categorical(P1))
        with pyro.plate("a", 2, dim=-1), pyro.plate("b", 3, dim=-2):
            pyro.sample("x", dist.Normal(LOCS[z1] + LOCS[z2], 1.0), obs=torch.zeros(3, 2))

    with pytest.raises(ValueError, match="plates"):
        TraceEnum_ELBO(max_plate_nesting=2).loss(model, empty_guide)


def test_without_enumeration_it_is_trace_elbo():
    def model():
        z = pyro.sample("z", dist.Normal(0.0, 1.0))
        pyro.sample("x", dist.Normal(z, 1.0), obs=torch.tensor(0.5))

    def guide():
        pyro.sample("z", dist.Normal(0.2, 0.9))

    pyro.set_rng_seed(7)
    expected = Trace_ELBO().loss(model, guide)
    pyro.set_rng_seed(7)
    with pytest.warns(UserWarning, match="enumeration"):
        got = TraceEnum_ELBO(max_plate_nesting=0).loss(model, guide)
    assert got == pytest.approx(expected, abs=1e-5)


def test_svi_with_enumerated_mixture_learns_locations():
    # two well separated clusters; MAP-style learning of the locations with the
    # assignments enumerated exactly
    data = torch.cat([torch.full((20,), -2.0), torch.full((20,), 3.0)])

    @config_enumerate
    def model(data):
        locs = pyro.param("locs", torch.tensor([-0.5, 0.5]))
        with pyro.plate("data", len(data)):
            z = pyro.sample("z", dist.Categorical(torch.tensor([0.5, 0.5])))
            pyro.sample("x", dist.Normal(locs[z], 1.0), obs=data)

    svi = SVI(model, empty_guide, Adam({"lr": 0.1}), TraceEnum_ELBO(max_plate_nesting=1))
    for _ in range(150):
        svi.step(data)
    # the maximum-likelihood locations are the cluster values (the loss is deterministic)
    assert torch.allclose(pyro.param("locs").detach(), torch.tensor([-2.0, 3.0]), atol=0.05)
