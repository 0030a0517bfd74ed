"""ELBO's backward_loss: torch's engine called directly for a plain scalar loss gives the
gradients of loss.backward(); anything else goes through loss.backward()."""
import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer import SVI, Trace_ELBO
from pyro.infer.elbo import backward_loss


def _loss(w):
    return (w.exp() * torch.tensor([1.0, 2.0])).sum() + w.pow(3).sum()


def test_same_gradients_as_backward():
    w1 = torch.tensor([0.3, -0.2], requires_grad=True)
    w2 = w1.detach().clone().requires_grad_()
    backward_loss(_loss(w1))
    _loss(w2).backward()
    assert torch.equal(w1.grad, w2.grad)
    backward_loss(_loss(w1))  # accumulates, as backward does
    _loss(w2).backward()
    assert torch.equal(w1.grad, w2.grad)


def test_retain_graph():
    w = torch.tensor(0.5, requires_grad=True)
    loss = w.exp() * 3
    backward_loss(loss, retain_graph=True)
    backward_loss(loss)
    assert torch.allclose(w.grad, 2 * 3 * w.detach().exp())
    with pytest.raises(RuntimeError, match="second time"):
        backward_loss(loss)


def test_non_scalar_gets_torchs_error():
    w = torch.tensor([0.5, 1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        backward_loss(w * 2)


def test_subclass_goes_through_backward():
    calls = []

    class Logged(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            if func is torch.Tensor.backward:
                calls.append(func)
            return super().__torch_function__(func, types, args, kwargs or {})

    w = torch.tensor(0.5, requires_grad=True)
    loss = (w * 2).as_subclass(Logged)
    backward_loss(loss)
    assert calls and w.grad == 2


def test_svi_losses_unchanged():
    # a seeded Beta-Bernoulli run: the same losses with the direct engine call as with
    # Tensor.backward (monkeypatched back in)
    optim = pytest.importorskip("pyro.optim", reason="SVI needs pyro-optim")
    data = torch.tensor([1.0, 1.0, 0.0, 1.0])

    def model(data):
        f = pyro.sample("f", dist.Beta(torch.tensor(2.0), torch.tensor(2.0)))
        with pyro.plate("data", 4):
            pyro.sample("obs", dist.Bernoulli(f), obs=data)

    def guide(data):
        a = pyro.param("a", torch.tensor(3.0), constraint=dist.constraints.positive)
        b = pyro.param("b", torch.tensor(3.0), constraint=dist.constraints.positive)
        pyro.sample("f", dist.Beta(a, b))

    def run():
        pyro.set_rng_seed(0)
        pyro.clear_param_store()
        svi = SVI(model, guide, optim.Adam({"lr": 0.01}), Trace_ELBO())
        return [svi.step(data) for _ in range(20)]

    direct = run()
    import pyro.infer.trace_elbo as trace_elbo

    original = trace_elbo.backward_loss
    trace_elbo.backward_loss = lambda loss, retain_graph=None: loss.backward(
        retain_graph=retain_graph)
    try:
        plain = run()
    finally:
        trace_elbo.backward_loss = original
    assert direct == plain
