"""DiscreteHMM.log_prob keeps finite gradients when some pairs of states are joined by no
possible path (transition log-probabilities of -inf), as Pyro's does: torch's logsumexp
gives NaN gradients on such all -inf sums."""
import torch

import pyro.distributions as dist

NINF = float("-inf")


def test_states_that_never_change():
    init = torch.tensor([0.3, 0.7]).log().requires_grad_()
    trans = torch.tensor([[0.0, NINF], [NINF, 0.0]])  # each state keeps to itself
    locs = torch.tensor([-1.0, 2.0], requires_grad=True)
    x = torch.tensor([0.5, -0.2, 1.5, 2.2])
    lp = dist.DiscreteHMM(init, trans, dist.Normal(locs, 1.0)).log_prob(x)
    grads = torch.autograd.grad(lp, (init, locs))
    # second computation: a two-component mixture of i.i.d. sequences
    init2 = init.detach().clone().requires_grad_()
    locs2 = locs.detach().clone().requires_grad_()
    per_state = torch.distributions.Normal(locs2[:, None], 1.0).log_prob(x).sum(-1)
    want = (init2.log_softmax(-1) + per_state).logsumexp(-1)
    torch.testing.assert_close(lp, want)
    for g, w in zip(grads, torch.autograd.grad(want, (init2, locs2))):
        assert torch.isfinite(g).all()
        torch.testing.assert_close(g, w)


def test_an_impossible_initial_state():
    init = torch.tensor([0.0, NINF, 0.0], requires_grad=True)  # state 1 never starts
    trans = torch.tensor([[0.0, NINF, NINF], [0.0, 0.0, 0.0], [NINF, NINF, 0.0]])
    locs = torch.tensor([0.0, 1.0, 3.0], requires_grad=True)
    x = torch.tensor([0.2, 2.5, 2.9])
    lp = dist.DiscreteHMM(init, trans, dist.Normal(locs, 1.0)).log_prob(x)
    g_init, g_locs = torch.autograd.grad(lp, (init, locs))
    assert torch.isfinite(lp) and torch.isfinite(g_init).all() and torch.isfinite(g_locs).all()
    # states 0 and 2 never change and state 1 is never reached: a mixture of 0 and 2
    per_state = torch.distributions.Normal(torch.tensor([0.0, 3.0])[:, None], 1.0).log_prob(x)
    want = (torch.tensor([0.5, 0.5]).log() + per_state.sum(-1)).logsumexp(-1)
    torch.testing.assert_close(lp, want)
    assert g_locs[1] == 0
