"""pyro.optim.multi: MixedMultiOptimizer by name patterns, the step(loss, params) interface."""
import re

import pytest
import torch
from torch.distributions import Normal

import pyro
import pyro.optim
from pyro import poutine
from pyro.optim import MixedMultiOptimizer, MultiOptimizer, PyroMultiOptimizer, TorchMultiOptimizer


def uparam(name, init):
    return pyro.param(name, init).unconstrained()


def make_params():
    net = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        net.weight.fill_(0.0)
    pyro.module("enc", net)
    return {
        "enc$$$weight": net.weight,
        "loc": uparam("loc", torch.tensor(0.0)),
        "scale_raw": uparam("scale_raw", torch.tensor(0.0)),
    }


def mixed():
    return MixedMultiOptimizer(
        [("enc$$$*", pyro.optim.SGD({"lr": 0.5})),
         (re.compile(r"scale.*"), pyro.optim.SGD({"lr": 0.25}))],
        default=pyro.optim.Adam({"lr": 0.01}),
    )


def test_called_like_a_pyro_optim_each_part_steps_its_parameters():
    ps = make_params()
    optim = mixed()
    for p in ps.values():
        p.grad = torch.ones_like(p)
    optim(set(ps.values()))
    assert ps["enc$$$weight"].item() == pytest.approx(-0.5)  # SGD lr 0.5
    assert ps["scale_raw"].item() == pytest.approx(-0.25)  # SGD lr 0.25
    assert ps["loc"].item() == pytest.approx(-0.01, abs=1e-7)  # Adam's first step: lr


def test_step_loss_params_interface_in_a_hand_svi_loop():
    ps = make_params()
    optim = mixed()
    assert isinstance(optim, MultiOptimizer)

    # loss = 0.5 (w + loc + scale_raw - 1)^2: every gradient is (sum - 1) = -1 at zero
    with poutine.trace(param_only=True) as capture:
        w = pyro.param("enc$$$weight")
        loc = pyro.param("loc")
        s = pyro.param("scale_raw")
        loss = -Normal(w.sum() + loc + s, 1.0).log_prob(torch.tensor(1.0))
    params = {name: site["value"].unconstrained() for name, site in capture.trace.nodes.items()}
    assert set(params) == set(ps)
    optim.step(loss, params)
    assert ps["enc$$$weight"].item() == pytest.approx(0.5)
    assert ps["scale_raw"].item() == pytest.approx(0.25)
    assert ps["loc"].item() == pytest.approx(0.01, abs=1e-7)
    assert all(p.grad is None for p in ps.values())  # gradients were cleared


def test_unmatched_parameter_without_default_is_an_error():
    ps = make_params()
    optim = MixedMultiOptimizer([(["loc"], pyro.optim.SGD({"lr": 0.1}))])
    for p in ps.values():
        p.grad = torch.ones_like(p)
    with pytest.raises(KeyError, match="'enc\\$\\$\\$weight' matches no part"):
        optim(list(ps.values()))


def test_state_is_routed_to_the_parts_and_round_trips(tmp_path):
    ps = make_params()
    optim = mixed()
    for _ in range(2):
        for p in ps.values():
            p.grad = torch.ones_like(p)
        optim(list(ps.values()))
    state = optim.get_state()
    assert set(state) == set(ps)
    assert state["loc"]["optimizer"] == "Adam" and state["scale_raw"]["optimizer"] == "SGD"
    optim.save(str(tmp_path / "mixed.pt"))
    fresh = mixed()
    fresh.load(str(tmp_path / "mixed.pt"))
    assert fresh.optims[2].get_state()["loc"]["state"][0]["step"].item() == 2
    assert set(fresh.optims[0].get_state()) == {"enc$$$weight"}
    with pytest.raises(KeyError, match="matches no part"):
        MixedMultiOptimizer([(["loc"], pyro.optim.SGD({"lr": 0.1}))]).set_state(state)


def test_pyro_and_torch_multi_optimizers_take_the_loss():
    x = uparam("x", torch.tensor([1.0, 2.0]))
    for multi in (PyroMultiOptimizer(pyro.optim.SGD({"lr": 0.1})),
                  TorchMultiOptimizer(torch.optim.SGD, {"lr": 0.1})):
        before = x.detach().clone()
        loss = (x**2).sum()  # gradient 2x
        multi.step(loss, {"x": x})
        assert torch.allclose(x.detach(), before - 0.1 * 2 * before)
        assert x.grad is None
    with pytest.raises(TypeError, match="wraps a PyroOptim"):
        PyroMultiOptimizer(torch.optim.SGD)


def test_bad_parts():
    with pytest.raises(TypeError, match="pair"):
        MixedMultiOptimizer([pyro.optim.SGD({"lr": 0.1})])
    with pytest.raises(TypeError, match="selector"):
        MixedMultiOptimizer([(3, pyro.optim.SGD({"lr": 0.1}))])


def test_mixed_multi_optimizer_drives_svi():
    infer = pytest.importorskip("pyro.infer")
    if not hasattr(infer, "SVI"):
        pytest.skip("pyro-infer is not installed (pyro.infer has no SVI)")

    def model():
        a = pyro.param("a", torch.tensor(0.0))
        b = pyro.param("b", torch.tensor(0.0))
        pyro.sample("y", Normal(a + b, 1.0), obs=torch.tensor(1.0))

    def guide():
        pass

    optim = MixedMultiOptimizer([("a", pyro.optim.SGD({"lr": 0.1}))],
                                default=pyro.optim.SGD({"lr": 0.01}))
    svi = infer.SVI(model, guide, optim, loss=infer.Trace_ELBO())
    svi.step()
    # loss 0.5 (1 - a - b)^2: both gradients are -1 at zero, each part uses its own lr
    assert pyro.param("a").item() == pytest.approx(0.1)
    assert pyro.param("b").item() == pytest.approx(0.01)
