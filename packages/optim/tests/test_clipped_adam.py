"""ClippedAdam (pyro.optim.clipped_adam): the update against a hand computation."""
import math

import pytest
import torch

from pyro.optim.clipped_adam import ClippedAdam


def adam_by_hand(x0, grads, lr, betas=(0.9, 0.999), eps=1e-8, clip_norm=math.inf, lrd=1.0,
                 weight_decay=0.0):
    """Kingma & Ba's Adam in float64 with per-tensor norm clipping and lr decay."""
    x = x0.double().clone()
    m = torch.zeros_like(x)
    v = torch.zeros_like(x)
    b1, b2 = betas
    out = []
    for t, g in enumerate(grads, start=1):
        g = g.double()
        norm = g.norm().item()
        if norm > clip_norm:
            g = g * (clip_norm / norm)
        g = g + weight_decay * x
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mhat = m / (1 - b1**t)
        vhat = v / (1 - b2**t)
        x = x - lr * lrd ** (t - 1) * mhat / (vhat.sqrt() + eps)
        out.append(x.clone())
    return out


def run(opt, x, grads):
    out = []
    for g in grads:
        x.grad = g.clone()
        opt.step()
        out.append(x.detach().double().clone())
    return out


def test_first_step_is_lr_times_sign():
    # step 1: m^ = g, v^ = g^2, so the move is lr * g / (|g| + eps) = lr sign(g) (1 - O(eps/|g|))
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    opt = ClippedAdam([x], lr=0.1, clip_norm=1e9)
    x.grad = torch.tensor([0.5, -4.0, 0.0])
    opt.step()
    assert torch.allclose(x.detach(), torch.tensor([0.9, -1.9, 3.0]), atol=1e-7, rtol=0)


def test_matches_hand_computation_with_clipping_decay_and_weight_decay():
    torch.manual_seed(0)
    x0 = torch.randn(4)
    grads = [torch.randn(4) * s for s in (30.0, 0.1, 5.0, 1.0, 20.0)]
    kw = dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, clip_norm=2.0, lrd=0.9, weight_decay=0.01)
    x = x0.clone().requires_grad_(True)
    got = run(ClippedAdam([x], **kw), x, grads)
    want = adam_by_hand(x0, grads, **kw)
    for g, w in zip(got, want):
        assert torch.allclose(g, w, atol=1e-6, rtol=1e-5)


def test_clipping_uses_each_parameters_own_norm():
    # two parameters in one group, one gradient large, one small: only the large is scaled
    a = torch.zeros(2, requires_grad=True)
    b = torch.zeros(2, requires_grad=True)
    opt = ClippedAdam([a, b], lr=1.0, clip_norm=1.0, betas=(0.0, 0.0), eps=0.0)
    # with betas 0 and eps 0 the move is g / |g| elementwise: use lr=1 and read the clipped
    # gradient from the state instead
    a.grad = torch.tensor([3.0, 4.0])  # norm 5 -> (0.6, 0.8)
    b.grad = torch.tensor([0.3, 0.4])  # norm 0.5 -> unchanged
    opt.step()
    assert torch.allclose(opt.state[a]["exp_avg"], torch.tensor([0.6, 0.8]))
    assert torch.allclose(opt.state[b]["exp_avg"], torch.tensor([0.3, 0.4]))
    # p.grad itself is left alone
    assert torch.equal(a.grad, torch.tensor([3.0, 4.0]))


def test_lr_decays_once_per_step_and_first_step_uses_lr():
    x = torch.zeros(1, requires_grad=True)
    opt = ClippedAdam([x], lr=0.2, lrd=0.5)
    moves = []
    for _ in range(3):
        before = x.item()
        x.grad = torch.ones(1)
        opt.step()
        moves.append(x.item() - before)
    # constant gradient: bias-corrected step is lr_t exactly (up to eps)
    assert moves == pytest.approx([-0.2, -0.1, -0.05], rel=1e-6)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.2 * 0.5**3)


def test_state_dict_round_trip_continues_identically():
    torch.manual_seed(1)
    grads = [torch.randn(3) for _ in range(6)]
    x = torch.zeros(3, requires_grad=True)
    opt = ClippedAdam([x], lr=0.1, lrd=0.95, clip_norm=0.5)
    run(opt, x, grads[:3])
    saved_x, saved = x.detach().clone(), opt.state_dict()
    import copy

    saved = copy.deepcopy(saved)
    run(opt, x, grads[3:])
    y = saved_x.clone().requires_grad_(True)
    opt2 = ClippedAdam([y], lr=123.0)
    opt2.load_state_dict(saved)
    run(opt2, y, grads[3:])
    assert torch.equal(x.detach(), y.detach())


def test_skips_params_without_grad_and_returns_closure_loss():
    x = torch.ones(2, requires_grad=True)
    y = torch.ones(2, requires_grad=True)
    opt = ClippedAdam([x, y], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (x**2).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 2.0
    assert torch.equal(y.detach(), torch.ones(2))
    assert torch.allclose(x.detach(), torch.full((2,), 0.9))


@pytest.mark.parametrize(
    "kwargs, word",
    [({"lr": -1.0}, "lr"), ({"clip_norm": 0.0}, "clip_norm"), ({"lrd": 0.0}, "lrd"),
     ({"betas": (0.9, 1.0)}, "betas"), ({"eps": -1.0}, "eps"), ({"weight_decay": -1}, "weight")],
)
def test_invalid_arguments_are_named(kwargs, word):
    with pytest.raises(ValueError, match=word):
        ClippedAdam([torch.zeros(1, requires_grad=True)], **kwargs)


def test_sparse_gradients_are_refused_with_advice():
    x = torch.zeros(3, requires_grad=True)
    opt = ClippedAdam([x])
    x.grad = torch.sparse_coo_tensor([[0]], [1.0], (3,))
    with pytest.raises(RuntimeError, match="SparseAdam"):
        opt.step()


def test_infinite_clip_norm_disables_clipping():
    x = torch.zeros(1, requires_grad=True)
    opt = ClippedAdam([x], lr=0.1, clip_norm=math.inf, betas=(0.0, 0.0), eps=0.0)
    x.grad = torch.tensor([1e6])
    opt.step()
    assert opt.state[x]["exp_avg"].item() == 1e6
