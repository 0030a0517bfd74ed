"""StructuredReparam: the model's density of the guide's auxiliary noises is the model's
joint pulled back through the guide's map, with the full log-Jacobian (checked against
autograd), and transform_samples inverts it."""
import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer.reparam import StructuredReparam

autoguide = pytest.importorskip("pyro.infer.autoguide", reason="needs pyro-autoguide")
if not hasattr(autoguide, "AutoStructured"):
    pytest.skip("AutoStructured is not available", allow_module_level=True)

DATA = torch.tensor([1.0, 0.5])


def model():
    a = pyro.sample("a", dist.Normal(0.0, 1.0))
    b = pyro.sample("b", dist.LogNormal(a, 1.0).expand([2]).to_event(1))
    pyro.sample("c", dist.Normal(b, 1.0).to_event(1), obs=DATA)


def _guide():
    guide = autoguide.AutoStructured(model, conditionals={"a": "normal", "b": "mvn"},
                                     dependencies="linear")
    guide()
    for p in guide.parameters():  # a non-trivial map
        p.data.add_(0.3 * torch.randn_like(p))
    return guide.requires_grad_(False)


def _joint(a, b):
    return (dist.Normal(0.0, 1.0).log_prob(a) + dist.LogNormal(a, 1.0).log_prob(b).sum()
            + dist.Normal(b, 1.0).log_prob(DATA).sum())


def test_log_density_is_pulled_back_joint():
    guide = _guide()
    reparam = StructuredReparam(guide)
    trace = poutine.trace(reparam.reparam(model)).get_trace()
    e_a, e_b = trace.nodes["a_aux"]["value"], trace.nodes["b_aux"]["value"]
    assert not trace.nodes["a_aux"]["is_observed"]
    a, b = trace.nodes["a"]["value"], trace.nodes["b"]["value"]

    def value_of(noise):
        data = {"a_aux": noise[:1], "b_aux": noise[1:]}
        with poutine.block(), poutine.condition(data=data):
            deltas = guide.get_deltas()
        return torch.cat([deltas["a"].v.reshape(1), deltas["b"].v])

    noise = torch.cat([e_a, e_b])
    jac = torch.autograd.functional.jacobian(value_of, noise)
    log_det = torch.linalg.slogdet(jac)[1]
    # the noises have a flat density: the pulled-back posterior is p(T(e)) |det dT/de|
    expected = _joint(a, b) + log_det
    assert torch.allclose(trace.log_prob_sum(), expected, atol=1e-4)
    trace.compute_log_prob()
    assert float(trace.nodes["a_aux"]["log_prob_sum"]) == 0.0

    samples = reparam.transform_samples({"a_aux": e_a, "b_aux": e_b})
    assert torch.allclose(samples["a"], a) and torch.allclose(samples["b"], b)
    batch = reparam.transform_samples({"a_aux": torch.randn(4, 1), "b_aux": torch.randn(4, 2)},
                                      save_params=["b"])
    assert set(batch) == {"b"} and batch["b"].shape == (4, 2) and (batch["b"] > 0).all()


def test_errors_and_untouched_sites():
    guide = _guide()
    reparam = StructuredReparam(guide)
    trace = poutine.trace(poutine.reparam(model, config=lambda _: reparam)).get_trace()
    assert torch.equal(trace.nodes["c"]["value"], DATA)
    assert not isinstance(trace.nodes["c"]["fn"], dist.Delta)
    with pytest.raises(TypeError, match="AutoStructured"):
        StructuredReparam(autoguide.AutoNormal(model))
