"""The steps of Pyro's normalizing-flows tutorial run unchanged: an elementwise spline, a
spline coupling flow, and a conditional flow for p(x2 | x1), each trained a few steps with a
torch optimizer and ``clear_cache``."""
import pytest
import torch

import pyro.distributions as dist
import pyro.distributions.transforms as T

pytest.importorskip("pyro.nn", reason="the flow helpers build pyro.nn networks")


def data(n=200):
    x1 = torch.randn(n, 1)
    x2 = 0.5 * x1 ** 2 + 0.3 * torch.randn(n, 1)
    return x1, x2


def train(modules, loss_fn, clear, steps=30):
    optimizer = torch.optim.Adam(modules.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn()
        loss.backward()
        optimizer.step()
        clear()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("make", [lambda: T.Spline(2, count_bins=16),
                                  lambda: T.spline_coupling(2, count_bins=16)])
def test_univariate_and_coupling_flows(make):
    x1, x2 = data()
    dataset = torch.cat([x1, x2], -1)
    base = dist.Normal(torch.zeros(2), torch.ones(2))
    transform = make()
    flow_dist = dist.TransformedDistribution(base, [transform])
    losses = train(torch.nn.ModuleList([transform]),
                   lambda: -flow_dist.log_prob(dataset).mean(), flow_dist.clear_cache)
    assert losses[-1] < losses[0]
    sample = flow_dist.sample(torch.Size([100]))
    assert sample.shape == (100, 2)


def test_conditional_flow():
    x1, x2 = data()
    base = dist.Normal(torch.zeros(1), torch.ones(1))
    x1_transform = T.spline(1)
    dist_x1 = dist.TransformedDistribution(base, [x1_transform])
    x2_transform = T.conditional_spline(1, context_dim=1)
    dist_x2_given_x1 = dist.ConditionalTransformedDistribution(base, [x2_transform])
    modules = torch.nn.ModuleList([x1_transform, x2_transform])

    def loss():
        ln_p_x1 = dist_x1.log_prob(x1)
        ln_p_x2_given_x1 = dist_x2_given_x1.condition(x1.detach()).log_prob(x2.detach())
        return -(ln_p_x1 + ln_p_x2_given_x1).mean()

    def clear():
        dist_x1.clear_cache()
        dist_x2_given_x1.clear_cache()

    losses = train(modules, loss, clear)
    assert losses[-1] < losses[0]
    x1_flow = dist_x1.sample(torch.Size([50]))
    x2_flow = dist_x2_given_x1.condition(x1_flow).sample(torch.Size([50]))
    assert x1_flow.shape == x2_flow.shape == (50, 1)


def test_conditional_distribution_clear_cache_reaches_constant_transforms():
    flow = T.Spline(1)
    cond = dist.ConditionalTransformedDistribution(dist.Normal(torch.zeros(1), 1.0), [flow])
    y = torch.randn(5, 1)
    cond.condition(torch.zeros(1)).log_prob(y)
    assert flow._cached_x_y[1] is y
    cond.clear_cache()
    assert flow._cached_x_y == (None, None)


def test_transform_module_clear_cache():
    flow = T.Spline(2)
    chain = T.ComposeTransformModule([flow, T.Planar(2)])
    x = torch.randn(3, 2)
    y = flow(x)
    assert flow._cached_x_y[0] is x and flow.inv(y) is x
    flow.clear_cache()
    assert flow._cached_x_y == (None, None)
    chain(x)
    chain.clear_cache()
    assert all(p._cached_x_y == (None, None) for p in chain.parts)
