"""The fast paths of HMC/NUTS: the recorded value-and-gradient plan of the potential and
the tree builder's per-chain bookkeeping (Python numbers per chain) against independent
computations."""
import math

import pytest
import torch
from torch.fx.experimental.proxy_tensor import make_fx

import pyro
import pyro.distributions as dist
from pyro.infer.mcmc.batched_potential import vectorize_potential
from pyro.infer.mcmc.fast_potential import PotentialEnergy
from pyro.infer.mcmc.nuts import _gather, _log_add_exp, _Masks, _Tree, hamiltonian, no_uturn
from pyro.infer.mcmc.util import setup_potential
from pyro.ops.fused_graph import fold_constants as _fold_constants

SIGMA = torch.tensor([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
YS = torch.tensor([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])


def eight_schools(sigma, y):
    mu = pyro.sample("mu", dist.Normal(0.0, 5.0))
    tau = pyro.sample("tau", dist.HalfCauchy(5.0))
    with pyro.plate("school", sigma.shape[0]):
        theta_tilde = pyro.sample("theta_tilde", dist.Normal(0.0, 1.0))
        pyro.sample("obs", dist.Normal(mu + tau * theta_tilde, sigma), obs=y)


def trace_potential(potential, z):
    """-(log p + log|J|) from a poutine trace of the conditioned model, and its gradient."""
    leaf = z.detach().requires_grad_()
    unconstrained = potential.unpack(leaf)
    values = potential.constrain(unconstrained)
    tr = pyro.poutine.trace(pyro.poutine.condition(eight_schools, values)).get_trace(SIGMA, YS)
    log_det = sum(s.transform.log_abs_det_jacobian(unconstrained[s.name], values[s.name]).sum()
                  for s in potential.sites if s.transform is not None)
    ref = -(tr.log_prob_sum() + log_det)
    (grad,) = torch.autograd.grad(ref, leaf)
    return ref.detach(), grad


def test_recorded_value_and_gradient_equal_the_traced_model():
    pyro.set_rng_seed(0)
    potential, z0, _ = setup_potential(eight_schools, (SIGMA, YS), {})
    energy = PotentialEnergy(lambda z: potential.potential(z.reshape(-1)).reshape(1))
    energy(z0.unsqueeze(0))
    assert energy.kind == "fused", energy.reason
    for scale in (0.0, 0.3, 1.0, 3.0):
        z = z0 + scale * torch.randn_like(z0)
        pe, grad = energy(z.unsqueeze(0))
        ref, ref_grad = trace_potential(potential, z)
        assert pe.item() == pytest.approx(ref.item(), rel=1e-5)
        torch.testing.assert_close(grad[0], ref_grad, rtol=1e-4, atol=1e-5)


def test_recorded_plan_of_a_batch_of_chains_gives_each_chain_its_gradient():
    pyro.set_rng_seed(1)
    potential, z0, trace = setup_potential(eight_schools, (SIGMA, YS), {})
    zs = z0 + torch.randn(4, z0.numel())
    energy = PotentialEnergy(vectorize_potential(potential, trace, zs))
    pe, grad = energy(zs)
    assert energy.kind == "fused", energy.reason
    for c in range(4):
        ref, ref_grad = trace_potential(potential, zs[c])
        assert pe[c].item() == pytest.approx(ref.item(), rel=1e-5)
        torch.testing.assert_close(grad[c], ref_grad, rtol=1e-4, atol=1e-5)


class _OldStyleSquare(torch.autograd.Function):
    """A custom Function whose backward reads a value in Python: its gradient cannot be
    recorded as a graph (the forward pass can be traced)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * float(x) * g


def custom_op_model():
    x = pyro.sample("x", dist.Normal(0.0, 1.0))
    pyro.sample("obs", dist.Normal(_OldStyleSquare.apply(x), 1.0), obs=torch.tensor(0.5))


def test_forward_plan_with_autograd_where_the_gradient_cannot_be_recorded():
    pyro.set_rng_seed(2)
    potential, z0, _ = setup_potential(custom_op_model, (), {})
    energy = PotentialEnergy(lambda z: potential.potential(z.reshape(-1)).reshape(1))
    energy(z0.unsqueeze(0))
    assert energy.kind == "forward" and energy.compiled
    for x in (-1.5, 0.2, 2.0):
        pe, grad = energy(torch.tensor([[x]]))
        # -log N(x; 0, 1) - log N(0.5; x^2, 1)
        expected = 0.5 * x ** 2 + 0.5 * (0.5 - x ** 2) ** 2 + math.log(2 * math.pi)
        assert pe.item() == pytest.approx(expected, rel=1e-5)
        assert grad.item() == pytest.approx(x - 2 * x * (0.5 - x ** 2), rel=1e-5, abs=1e-6)


def test_constant_folding_keeps_only_the_operations_on_the_input():
    data = torch.tensor([1.0, 2.0, 3.0])

    def f(x):
        scale = data.log().exp() * 2.0 + torch.arange(3.0)  # depends on constants only
        return (x * scale).sum()

    graph = make_fx(f)(torch.zeros(3))
    before = sum(n.op == "call_function" for n in graph.graph.nodes)
    _fold_constants(graph)
    after = [n.target for n in graph.graph.nodes if n.op == "call_function"]
    assert len(after) == 2 < before  # mul, sum
    x = torch.tensor([0.5, -1.0, 2.0])
    assert graph(x).item() == pytest.approx(f(x).item())


@pytest.mark.parametrize("a,b", [(0.3, -1.2), (-math.inf, 2.0), (5.0, -math.inf),
                                 (-math.inf, -math.inf), (700.0, 699.0)])
def test_scalar_log_add_exp(a, b):
    expected = torch.logaddexp(torch.tensor(a, dtype=torch.float64),
                               torch.tensor(b, dtype=torch.float64)).item()
    assert _log_add_exp(a, b) == pytest.approx(expected)


def random_tree(d, generator, c=1):
    def vec():
        return torch.randn(c, d, generator=generator, dtype=torch.float64)

    end = (vec(), vec(), vec(), vec())
    return _Tree(vec(), vec(), end, vec(), [0.0] * c, None, [True] * c)


def direct_no_uturn(first, second, rho, single, c):
    """The generalized criterion of chain ``c`` written out dot product by dot product."""
    def ok(v_minus, v_plus, p):
        return float(v_minus[c] @ p[c]) > 0 and float(v_plus[c] @ p[c]) > 0
    result = ok(first.beg_v, second.end[2], rho)
    if not single:
        result = (result and ok(first.beg_v, second.beg_v, first.rho + second.beg_r)
                  and ok(first.end[2], second.end[2], second.rho + first.end[1]))
    return result


@pytest.mark.parametrize("chains", [1, 3])
@pytest.mark.parametrize("single", [True, False])
def test_uturn_checks_of_every_chain_agree_with_the_direct_criterion(single, chains):
    g = torch.Generator().manual_seed(3)
    outcomes = set()
    for _ in range(200):
        first, second = random_tree(3, g, chains), random_tree(3, g, chains)
        rho = first.rho + second.rho
        expected = [direct_no_uturn(first, second, rho, single, c) for c in range(chains)]
        outcomes.update(expected)
        assert no_uturn(first, second, rho, single) == expected
    assert outcomes == {True, False}


def test_hamiltonian_reads_nan_as_infinite():
    r = torch.tensor([[1.0, 2.0]])
    assert hamiltonian(torch.tensor([3.0]), r, r) == [pytest.approx(5.5)]
    assert hamiltonian(torch.tensor([math.nan]), r, r) == [math.inf]
    out = hamiltonian(torch.tensor([3.0, math.nan]), r.repeat(2, 1), r.repeat(2, 1))
    assert out == [5.5, math.inf]


def test_gather_takes_row_c_of_each_chains_source():
    a = (torch.arange(6.0).reshape(3, 2), torch.tensor([10.0, 11.0, 12.0]))
    b = (-torch.arange(6.0).reshape(3, 2), torch.tensor([-10.0, -11.0, -12.0]))
    assert _gather([a, a, a]) is a  # one source: no copy
    z, pe = _gather([a, b, a])
    assert z.tolist() == [[0.0, 1.0], [-2.0, -3.0], [4.0, 5.0]]
    assert pe.tolist() == [10.0, -11.0, 12.0]


def test_masks_choose_per_chain_and_reuse_patterns():
    like = torch.zeros(3, 2, dtype=torch.float64)
    masks = _Masks(like)
    a, b = (torch.ones(3, 2),), (torch.zeros(3, 2),)
    assert masks.choose([True] * 3, a, b) is a and masks.choose([False] * 3, a, b) is b
    (out,) = masks.choose([True, False, True], a, b)
    assert out[:, 0].tolist() == [1.0, 0.0, 1.0]
    assert masks.mask([True, False, True]) is masks.mask([True, False, True])
    sign = masks.sign([True, False, False])
    assert sign.dtype == torch.float64 and sign.flatten().tolist() == [1.0, -1.0, -1.0]
