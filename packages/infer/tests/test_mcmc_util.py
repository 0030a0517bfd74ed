"""initialize_model, the flat potential energy and summaries (the init strategies are
tested in test_initialization.py)."""
import math

import pytest
import torch
from torch.distributions import biject_to

import pyro
import pyro.distributions as dist
import pyro.poutine as poutine
from pyro.infer.initialization import init_to_feasible
from pyro.infer.mcmc import MCMC, NUTS
from pyro.infer.mcmc.fast_potential import PotentialEnergy
from pyro.infer.mcmc.util import (
    diagnostics,
    format_summary,
    initialize_model,
    print_summary,
    setup_potential,
    summary,
)

torch.set_num_threads(1)

DATA = torch.tensor([0.3, -0.4, 1.1, 0.8])


def model(data):
    loc = pyro.sample("loc", dist.Normal(0.0, 2.0))
    scale = pyro.sample("scale", dist.Gamma(2.0, 2.0))
    probs = pyro.sample("probs", dist.Dirichlet(torch.ones(3)))
    with pyro.plate("data", data.size(0)):
        pyro.sample("obs", dist.Normal(loc + probs[0], scale), obs=data)


def manual_potential(params, data):
    """-(log joint + log|det J|) written out by hand for ``model``."""
    loc, u_scale, u_probs = params["loc"], params["scale"], params["probs"]
    t_probs = biject_to(dist.Dirichlet(torch.ones(3)).support)
    scale = u_scale.exp()
    probs = t_probs(u_probs)
    log_joint = (dist.Normal(0.0, 2.0).log_prob(loc) + dist.Gamma(2.0, 2.0).log_prob(scale)
                 + dist.Dirichlet(torch.ones(3)).log_prob(probs)
                 + dist.Normal(loc + probs[0], scale).log_prob(data).sum())
    log_det = u_scale + t_probs.log_abs_det_jacobian(u_probs, probs)
    return -(log_joint + log_det)


def test_initialize_model_potential_matches_hand_written():
    pyro.set_rng_seed(0)
    init, potential_fn, transforms, trace = initialize_model(model, (DATA,))
    assert set(init) == {"loc", "scale", "probs"}
    assert init["probs"].shape == (2,)  # the simplex has 2 unconstrained coordinates
    assert trace.nodes["obs"]["is_observed"]
    for _ in range(3):
        params = {k: v + 0.3 * torch.randn_like(v) for k, v in init.items()}
        expected = manual_potential(params, DATA)
        assert potential_fn(params).item() == pytest.approx(expected.item(), rel=1e-5)
    # transforms map constrained values to unconstrained ones
    torch.testing.assert_close(transforms["scale"](torch.tensor(2.0)), torch.tensor(2.0).log())


def test_flat_gradient_matches_autograd_of_the_hand_written_potential():
    pyro.set_rng_seed(1)
    potential, z0, _ = setup_potential(model, (DATA,))
    pe, grad = potential(z0)
    params = {k: v.detach().requires_grad_() for k, v in potential.unpack(z0).items()}
    expected = manual_potential(params, DATA)
    expected.backward()
    assert pe == pytest.approx(expected.item(), rel=1e-5)
    torch.testing.assert_close(potential.unpack(grad)["probs"], params["probs"].grad,
                               rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(potential.unpack(grad)["loc"], params["loc"].grad,
                               rtol=1e-4, atol=1e-5)


def test_potential_applies_scale_and_mask_like_a_trace():
    def scaled(data):
        mu = pyro.sample("mu", dist.Normal(0.0, 1.0))
        with poutine.scale(scale=3.0):
            with pyro.plate("data", data.size(0)):
                with poutine.mask(mask=torch.tensor([True, False, True, True])):
                    pyro.sample("obs", dist.Normal(mu, 1.0), obs=data)
        pyro.factor("f", -0.5 * mu**2)

    pyro.set_rng_seed(2)
    potential, z0, _ = setup_potential(scaled, (DATA,))
    tr = poutine.trace(poutine.condition(scaled, data={"mu": z0[0]})).get_trace(DATA)
    assert potential.potential(z0).item() == pytest.approx(-tr.log_prob_sum().item(), rel=1e-6)
    expected = -(dist.Normal(0.0, 1.0).log_prob(z0[0]) - 0.5 * z0[0] ** 2
                 + 3.0 * dist.Normal(z0[0], 1.0).log_prob(DATA)[[0, 2, 3]].sum())
    assert potential.potential(z0).item() == pytest.approx(expected.item(), rel=1e-6)


def test_user_transforms_and_initial_params():
    # a user transform (constrained -> unconstrained) replaces biject_to: here
    # softplus^-1 for the positive site, so unconstrained 0 means scale = log(2)
    from torch.distributions.transforms import SoftplusTransform

    t = SoftplusTransform().inv
    potential, z0, _ = setup_potential(model, (DATA,), transforms={"scale": t},
                                       initial_params={"loc": torch.tensor(0.5),
                                                       "scale": torch.tensor(0.0),
                                                       "probs": torch.zeros(2)})
    values = potential.constrain(potential.unpack(z0))
    assert values["scale"].item() == pytest.approx(math.log(2.0), rel=1e-6)
    assert values["loc"].item() == 0.5
    torch.testing.assert_close(values["probs"], torch.full((3,), 1 / 3))


def test_jit_compiled_potential_agrees_with_eager():
    pyro.set_rng_seed(3)
    eager, z0, _ = setup_potential(model, (DATA,))
    fast = PotentialEnergy(lambda z: eager.potential(z.reshape(-1)).reshape(1), True,
                           ignore_jit_warnings=True)
    fast(z0.unsqueeze(0))
    assert fast.compiled
    for _ in range(3):
        z = z0 + 0.2 * torch.randn_like(z0)
        pe_e, g_e = eager(z)
        pe_j, g_j = fast(z.unsqueeze(0))
        assert pe_j.item() == pytest.approx(pe_e, rel=1e-5)
        torch.testing.assert_close(g_j[0], g_e, rtol=1e-4, atol=1e-5)


def test_jit_compiled_nuts_runs():
    pyro.set_rng_seed(4)
    mcmc = MCMC(NUTS(model, jit_compile=True, ignore_jit_warnings=True), num_samples=10,
                warmup_steps=10, disable_progbar=True)
    mcmc.run(DATA)
    assert mcmc.get_samples()["probs"].shape == (10, 3)


def test_dynamic_structure_is_an_error():
    calls = {"n": 0}

    def dynamic():
        calls["n"] += 1
        x = pyro.sample("x", dist.Normal(0.0, 1.0))
        if calls["n"] > 1:
            pyro.sample(f"y{calls['n']}", dist.Normal(x, 1.0))

    with pytest.raises(ValueError, match="static structure"):
        setup_potential(dynamic)


def test_no_finite_start_is_reported():
    def bad():
        x = pyro.sample("x", dist.Normal(0.0, 1.0))
        pyro.factor("impossible", -float("inf") * (x**2 + 1))

    with pytest.raises(ValueError, match="finite potential energy"):
        setup_potential(bad, init_strategy=init_to_feasible)


def test_summary_print_summary_and_diagnostics(capsys):
    torch.manual_seed(5)
    samples = {"a": torch.randn(2, 50, 2, 2), "b": torch.randn(2, 50)}
    table = summary(samples, prob=0.9)
    assert table["a"]["mean"].shape == (2, 2)
    print_summary(samples)
    out = capsys.readouterr().out
    for label in ("a[0,0]", "a[0,1]", "a[1,0]", "a[1,1]", "b", "5.0%", "95.0%", "n_eff"):
        assert label in out
    text = format_summary(samples)
    row = next(line for line in text.splitlines() if line.strip().startswith("b "))
    assert float(row.split()[1]) == pytest.approx(samples["b"].mean().item(), abs=0.006)
    diag = diagnostics(samples)
    assert diag["a"]["n_eff"].shape == (2, 2) and diag["b"]["r_hat"].shape == ()
    ungrouped = diagnostics({"b": samples["b"][0]}, group_by_chain=False)
    assert ungrouped["b"]["n_eff"].shape == ()
