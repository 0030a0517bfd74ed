"""psis_diagnostic picks its tail as pyro-ppl 1.9 does: the M = ceil(min(S/5, 3 sqrt(S)))
largest importance ratios (so a seed gives pyro-ppl's k-hat), and refuses fewer than 10."""
import math
import warnings

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer.importance import psis_diagnostic, vectorized_importance_weights
from pyro.ops.stats import fit_generalized_pareto

Y = torch.tensor([1.0, 1.5, 0.5])


def model(y):
    mu = pyro.sample("mu", dist.Normal(0.0, 2.0))
    with pyro.plate("N", 3):
        pyro.sample("obs", dist.Normal(mu, 1.0), obs=y)


def guide(y):
    pyro.sample("mu", dist.Normal(0.5, 0.3))  # too narrow: a heavy tail of ratios


def k_by_hand(num_particles, seed):
    """k-hat recomputed from the same draws: GPD fit to the exceedances of the M largest
    ratios over the (M+1)-th, M = ceil(min(S / 5, 3 sqrt(S)))."""
    pyro.set_rng_seed(seed)
    with torch.no_grad():
        log_w, _, _ = vectorized_importance_weights(model, guide, Y, num_samples=num_particles,
                                                    max_plate_nesting=7, normalized=False)
    s = (log_w - log_w.max()).sort(descending=True).values
    m = math.ceil(min(num_particles / 5, 3 * math.sqrt(num_particles)))
    return float(fit_generalized_pareto(s[:m].exp() - s[m].exp())[0])


@pytest.mark.parametrize("num_particles", [500, 1000, 2000])  # M = 68, 95, 135 (not 67, ...)
def test_psis_tail_size_is_rounded_up(num_particles):
    pyro.set_rng_seed(1)
    k = psis_diagnostic(model, guide, Y, num_particles=num_particles)
    assert k == pytest.approx(k_by_hand(num_particles, seed=1), rel=1e-6)
    assert k > 0.5  # the narrow guide is flagged


def test_psis_needs_ten_tail_ratios():
    pyro.set_rng_seed(2)
    with pytest.warns(UserWarning, match="not enough tail samples"):
        assert psis_diagnostic(model, guide, Y, num_particles=45) == float("inf")  # M = 9
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isfinite(psis_diagnostic(model, guide, Y, num_particles=46))  # M = 10
