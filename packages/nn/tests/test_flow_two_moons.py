"""Done-when check of the flows: a spline autoregressive flow fitted by SVI (maximum
likelihood: an empty guide) to a two-moons sample scores held-out points within 5% of a
Gaussian kernel density estimate's log-likelihood."""
import math

import numpy as np
import pytest
import torch

import pyro
import pyro.distributions as dist
import pyro.distributions.transforms as T

pytest.importorskip("pyro.infer", reason="fitting by SVI needs pyro-infer")
pytest.importorskip("pyro.optim", reason="fitting by SVI needs pyro-optim")
stats = pytest.importorskip("scipy.stats", reason="the reference density estimate is scipy's")


def two_moons(n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` points of the two interleaved half circles, Gaussian noise of sd ``noise``."""
    t = rng.uniform(0, math.pi, n)
    upper = rng.random(n) < 0.5
    x = np.where(upper, np.cos(t), 1 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    return np.stack([x, y], -1) + noise * rng.standard_normal((n, 2))


def test_spline_autoregressive_fits_two_moons():
    from pyro.infer import SVI, Trace_ELBO
    from pyro.optim import Adam

    rng = np.random.default_rng(0)
    train, test = two_moons(1000, 0.1, rng), two_moons(1000, 0.1, rng)
    # standardize with the training statistics (a fixed affine map, part of the density)
    mean, sd = train.mean(0), train.std(0)
    log_jac = -np.log(sd).sum()
    train_t = torch.tensor((train - mean) / sd, dtype=torch.float32)
    test_t = torch.tensor((test - mean) / sd, dtype=torch.float32)

    pyro.set_rng_seed(0)
    flows = [T.spline_autoregressive(2, hidden_dims=[24, 24], count_bins=8),
             T.permute(2, torch.tensor([1, 0])),
             T.spline_autoregressive(2, hidden_dims=[24, 24], count_bins=8)]
    base = dist.Normal(torch.zeros(2), torch.ones(2)).to_event(1)
    flow_dist = dist.TransformedDistribution(base, flows)

    def model(data):
        for i, flow in enumerate(flows):
            if isinstance(flow, torch.nn.Module):
                pyro.module(f"flow_{i}", flow)
        with pyro.plate("data", data.shape[0]):
            pyro.sample("obs", flow_dist, obs=data)

    def guide(data):
        pass

    svi = SVI(model, guide, Adam({"lr": 5e-3}), Trace_ELBO())
    for _ in range(200):
        svi.step(train_t)
        flow_dist.clear_cache()  # the same data tensor next step: drop the cached inverse

    with torch.no_grad():
        flow_ll = flow_dist.log_prob(test_t).mean().item() + log_jac
    kde_ll = stats.gaussian_kde(train.T).logpdf(test.T).mean()
    assert math.isfinite(flow_ll)
    assert flow_ll >= kde_ll - 0.05 * abs(kde_ll), (flow_ll, kde_ll)
