"""vectorized_importance_weights against weights computed by hand, and psis_diagnostic's
k-hat on proposals whose importance ratios have a known Pareto tail."""
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer import Importance
from pyro.infer.importance import LogWeightsMixin, psis_diagnostic, vectorized_importance_weights


def model(data):
    z = pyro.sample("z", dist.Normal(0.0, 1.0))
    with pyro.plate("data", len(data)):
        pyro.sample("x", dist.Normal(z, 1.0), obs=data)


def guide(data):
    pyro.sample("z", dist.Normal(0.5, 0.8))


def test_vectorized_weights_match_hand_computation():
    data = torch.tensor([0.3, 1.1])
    lw, model_trace, guide_trace = vectorized_importance_weights(
        model, guide, data, num_samples=7, max_plate_nesting=1)
    z = guide_trace.nodes["z"]["value"].reshape(-1)
    assert lw.shape == (7,) and z.shape == (7,)
    expected = (dist.Normal(0.0, 1.0).log_prob(z)
                + dist.Normal(z.unsqueeze(-1), 1.0).log_prob(data).sum(-1)
                - dist.Normal(0.5, 0.8).log_prob(z))
    assert torch.allclose(lw, expected, atol=1e-5)
    lw_norm, _, _ = vectorized_importance_weights(
        model, guide, data, num_samples=7, max_plate_nesting=1, normalized=True)
    assert lw_norm.logsumexp(0).item() == pytest.approx(0.0, abs=1e-5)
    with pytest.raises(ValueError, match="max_plate_nesting"):
        vectorized_importance_weights(model, guide, data, num_samples=3)


def test_log_weights_mixin():
    class Weights(LogWeightsMixin):
        log_weights = torch.tensor([0.0, math.log(3.0)])

    w = Weights()
    assert torch.allclose(w.get_normalized_weights(), torch.tensor([0.25, 0.75]))
    assert w.get_log_normalizer().item() == pytest.approx(math.log(2.0))
    assert w.get_ESS().item() == pytest.approx(1.0 / (0.25**2 + 0.75**2))
    assert isinstance(Importance(model, guide, num_samples=2), LogWeightsMixin)


def exp_model(rate):
    pyro.sample("z", dist.Exponential(rate))


def exp_guide(rate):
    pyro.sample("z", dist.Exponential(1.0))


@pytest.mark.parametrize("rate", [0.25, 0.6])
def test_psis_k_hat_on_exact_pareto_tail(rate):
    # z ~ Exp(1), p = Exp(rate): w = rate exp((1 - rate) z) has P(w > t) ~ t^(-1/(1-rate)),
    # a Pareto tail with shape k = 1 - rate; k-hat is fit to M = 3 sqrt(S) = 600 ratios,
    # sd about (1 + k) / sqrt(M)
    pyro.set_rng_seed(0)
    k = psis_diagnostic(exp_model, exp_guide, torch.tensor(rate), num_particles=40000,
                        max_simultaneous_particles=20000, max_plate_nesting=0)
    assert k == pytest.approx(1 - rate, abs=3 * (2 - rate) / math.sqrt(600))


def test_psis_good_and_bad_gaussian_proposals():
    def target():
        pyro.sample("z", dist.Normal(0.0, 1.0))

    def proposal(scale):
        def g():
            pyro.sample("z", dist.Normal(0.0, scale))
        return g

    wide = psis_diagnostic(target, proposal(2.0), num_particles=5000, max_plate_nesting=0)
    narrow = psis_diagnostic(target, proposal(0.3), num_particles=5000, max_plate_nesting=0)
    assert wide < 0.5 < 0.7 < narrow
    with pytest.warns(UserWarning, match="all equal"):
        assert psis_diagnostic(target, proposal(1.0), num_particles=500,
                               max_plate_nesting=0) == float("inf")
