"""ClippedAdam(centered_variance=True): the second moment tracks (g - m)^2."""
import math

import torch

from pyro.optim.clipped_adam import ClippedAdam


def centered_by_hand(x0, grads, lr, betas=(0.9, 0.999), eps=1e-8):
    x = x0.double().clone()
    m = torch.zeros_like(x)
    v = torch.zeros_like(x)
    for t, g in enumerate(grads, start=1):
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * (g - m) ** 2
        x = x - lr * (m / (1 - betas[0] ** t)) / ((v / (1 - betas[1] ** t)).sqrt() + eps)
    return x


def test_centered_variance_matches_hand_computation():
    x = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
    grads = [torch.randn(3, dtype=torch.float64) for _ in range(6)]
    expected = centered_by_hand(x.detach(), grads, lr=0.1)
    opt = ClippedAdam([x], lr=0.1, clip_norm=math.inf, centered_variance=True)
    for g in grads:
        x.grad = g.clone()
        opt.step()
    torch.testing.assert_close(x.detach(), expected)
    assert opt.defaults["centered_variance"] is True


def test_first_centered_step_is_lr_over_0_9():
    # m = 0.1 g, v = 0.001 (0.9 g)^2: the bias-corrected move is lr * g / (0.9 |g|)
    x = torch.zeros(2, requires_grad=True)
    opt = ClippedAdam([x], lr=0.1, centered_variance=True)
    x.grad = torch.tensor([-7.0, 3.0])
    opt.step()
    torch.testing.assert_close(x.detach(), torch.tensor([1 / 9, -1 / 9]))
