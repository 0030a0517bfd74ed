"""The DiCE operator and the small helpers of ``pyro.infer.util``, against hand-computed
expectations and score-function gradients."""
import dataclasses
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer.tracegraph_elbo import TrackNonReparam
from pyro.infer.util import (
    CloneMixin,
    Dice,
    compute_site_dice_factor,
    get_dependent_plate_dims,
    plate_log_prob_sum,
    torch_sum,
    validation_enabled,
)
from pyro.ops.packed import pack
from pyro.ops.provenance import get_provenance


def test_torch_sum_skips_missing_dims():
    x = torch.arange(6.0).reshape(2, 3)
    assert torch_sum(x, ()) is x
    assert torch_sum(x, (-3,)) is x
    assert torch.equal(torch_sum(x, (-1,)), torch.tensor([3.0, 12.0]))
    assert torch.equal(torch_sum(x, (-1, -2, -5)), torch.tensor(15.0))


def _plated_model():
    with pyro.plate("p", 3, dim=-1):
        pyro.sample("x", dist.Normal(0.0, 1.0))
    with pyro.plate("q", 2, dim=-2), pyro.plate("p", 3, dim=-1):
        pyro.sample("y", dist.Normal(0.0, 2.0))
    pyro.sample("g", dist.Normal(0.0, 3.0))


def test_get_dependent_plate_dims():
    pyro.set_rng_seed(0)
    tr = poutine.trace(_plated_model).get_trace()
    sites = [tr.nodes[n] for n in ("x", "y", "g")]
    assert get_dependent_plate_dims(sites) == [-2, -1]
    assert get_dependent_plate_dims([tr.nodes["x"], tr.nodes["y"]]) == [-2]
    assert get_dependent_plate_dims([tr.nodes["y"]]) == []
    assert get_dependent_plate_dims([]) == []


def test_plate_log_prob_sum_keeps_the_plate():
    pyro.set_rng_seed(0)
    tr = poutine.trace(_plated_model).get_trace()
    tr.compute_log_prob()
    tr.pack_tensors()
    nodes = tr.nodes
    x, y, g = (nodes[n]["value"] for n in ("x", "y", "g"))
    expected = (
        dist.Normal(0.0, 1.0).log_prob(x)
        + dist.Normal(0.0, 2.0).log_prob(y).sum(-2)
        + dist.Normal(0.0, 3.0).log_prob(g)
    )
    actual = plate_log_prob_sum(tr, tr.plate_to_symbol["p"])
    assert actual.shape == (3,)
    assert torch.allclose(actual, expected)


def test_plate_log_prob_sum_needs_packed_trace():
    tr = poutine.trace(_plated_model).get_trace()
    with pytest.raises(ValueError, match="pack_tensors"):
        plate_log_prob_sum(tr, "a")


def test_validation_enabled_is_pyro_util_switch():
    import pyro.util

    assert validation_enabled is pyro.util.validation_enabled
    before = pyro.util.is_validation_enabled()
    with validation_enabled(not before):
        assert pyro.util.is_validation_enabled() is (not before)
    assert pyro.util.is_validation_enabled() is before


@dataclasses.dataclass
class _State(CloneMixin):
    x: torch.Tensor
    y: torch.Tensor
    label: str = "s"


def test_clone_mixin_copies_tensor_fields():
    s = _State(torch.ones(2), torch.zeros(3))
    c = s.clone()
    assert type(c) is _State and c.label == "s"
    assert torch.equal(c.x, s.x) and torch.equal(c.y, s.y)
    c.x.add_(1.0)
    assert torch.equal(s.x, torch.ones(2))  # storage not shared

    class NotDataclass(CloneMixin):
        pass

    with pytest.raises(TypeError, match="dataclass"):
        NotDataclass().clone()


# ----------------------------------------------------------------------------- DiCE


def _guide(q, loc, enum=None):
    z = pyro.sample("z", dist.Bernoulli(q), infer={"enumerate": enum} if enum else {})
    with pyro.plate("p", 3, dim=-1):
        w = pyro.sample("w", dist.Poisson(loc.exp()))
    return z, w


def _dice_expectation(q, loc, enum=None):
    guide = poutine.enum(_guide, first_available_dim=-2) if enum else _guide
    tr = poutine.trace(guide).get_trace(q, loc, enum)
    tr.compute_score_parts()
    tr.pack_tensors()
    z, w = tr.nodes["z"]["value"], tr.nodes["w"]["value"]
    dice = Dice(tr, {"z": frozenset(), "w": frozenset({"p"})})
    # a global cost that depends on z, and a per-element cost depending on w_i and z
    c0 = pack(3.0 * z + 1.0, tr.nodes["z"]["infer"]["_dim_to_symbol"])
    c1 = pack(2.0 * w + z, tr.nodes["w"]["infer"]["_dim_to_symbol"])
    expected = dice.compute_expectation({frozenset(): [c0], frozenset({"p"}): [c1]})
    return expected, z, w


def test_dice_monte_carlo_value_and_score_function_gradient():
    pyro.set_rng_seed(1)
    q = torch.tensor(0.3, requires_grad=True)
    loc = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    expected, z, w = _dice_expectation(q, loc)
    c0, c1 = 3.0 * z + 1.0, 2.0 * w + z
    assert torch.allclose(expected, c0 + c1.sum())  # DiCE's value is the plain cost
    grad_q, grad_loc = torch.autograd.grad(expected, [q, loc])
    # score functions: d/dq log Bernoulli(z|q), d/dloc log Poisson(w|exp(loc))
    score_q = z / q - (1 - z) / (1 - q)
    score_loc = w - loc.detach().exp()
    # z may affect every cost; w_i only its own element (plate independence)
    assert torch.allclose(grad_q, score_q * (c0 + c1.sum()))
    assert torch.allclose(grad_loc, score_loc * c1)


def test_dice_enumerated_site_gives_exact_expectation():
    pyro.set_rng_seed(2)
    q = torch.tensor(0.3, requires_grad=True)
    loc = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    expected, z, w = _dice_expectation(q, loc, enum="parallel")
    assert z.shape == (2, 1)  # both values of z, on the enumeration dim
    qd = q.detach()
    exact = (1 - qd) * 1.0 + qd * 4.0 + (2.0 * w + qd).sum()
    assert torch.allclose(expected, exact)
    grad_q, grad_loc = torch.autograd.grad(expected, [q, loc])
    assert torch.allclose(grad_q, torch.tensor(3.0 + 3.0))  # d/dq of the exact value
    assert torch.allclose(grad_loc, (w - loc.detach().exp()) * (2.0 * w + qd))


def test_dice_reparameterized_site_has_no_factor():
    loc = torch.tensor(0.5, requires_grad=True)

    def guide():
        return pyro.sample("x", dist.Normal(loc, 1.0))

    tr = poutine.trace(guide).get_trace()
    dice = Dice(tr, {"x": frozenset()})  # packs the trace itself
    assert dice.log_factors == {}
    x = tr.nodes["x"]["value"]
    assert torch.equal(dice.compute_expectation({frozenset(): [x ** 2]}), x ** 2)
    assert compute_site_dice_factor(tr.nodes["x"])[0] == 0.0


def test_dice_factor_of_multiple_samples_and_sequential_enumeration():
    probs = torch.tensor([0.2, 0.8], requires_grad=True)

    def guide():
        with pyro.plate("draws", 4):
            pyro.sample("s", dist.Categorical(probs))

    # The site as local multiple sampling leaves it: 4 draws on one dim, so marked.
    # (This project's enum handler refuses num_samples, so the site is marked by hand.)
    tr = poutine.trace(guide).get_trace()
    tr.compute_score_parts()
    tr.pack_tensors()
    tr.nodes["s"]["infer"].update({"enumerate": "parallel", "num_samples": 4})
    log_factor, log_denom = compute_site_dice_factor(tr.nodes["s"])
    assert log_denom == 0.0
    # each of the 4 samples weighs 1/4, with the score function as gradient
    assert torch.allclose(log_factor, torch.full((4,), -math.log(4.0)))
    assert log_factor.requires_grad

    site = tr.nodes["s"]
    site["infer"] = {"enumerate": "sequential", "_enum_total": 2}
    log_factor, log_denom = compute_site_dice_factor(site)
    assert log_denom == pytest.approx(math.log(2.0))
    assert torch.allclose(log_factor, site["packed"]["score_parts"].score_function)


def test_dice_names_a_site_missing_from_ordering():
    tr = poutine.trace(_guide).get_trace(torch.tensor(0.3), torch.zeros(3))
    with pytest.raises(KeyError, match="'w'"):
        Dice(tr, {"z": frozenset()})


# ------------------------------------------------------------------ TrackNonReparam


def test_track_non_reparam_marks_downstream_values():
    def model():
        a = pyro.sample("a", dist.Categorical(torch.tensor([0.3, 0.7])))
        b = pyro.sample("b", dist.Categorical(torch.tensor([[0.1, 0.9], [0.8, 0.2]])[a]))
        n = pyro.sample("n", dist.Normal(b.float(), 1.0))  # reparameterized
        m = pyro.sample("m", dist.Normal(n, 1.0))
        pyro.sample("c", dist.Normal(m, 1.0), obs=torch.tensor(0.0))

    pyro.set_rng_seed(3)
    with TrackNonReparam():
        tr = poutine.trace(model).get_trace()
    tr.compute_log_prob()
    nodes = tr.nodes
    assert get_provenance(nodes["a"]["value"]) == frozenset({"a"})
    assert get_provenance(nodes["b"]["value"]) == frozenset({"a", "b"})
    assert get_provenance(nodes["b"]["log_prob"]) == frozenset({"a", "b"})
    # the reparameterized n adds no name of its own; m's value does not depend on b
    # through a non-reparam draw of its own
    assert get_provenance(nodes["n"]["value"]) == frozenset({"a", "b"})
    assert "n" not in get_provenance(nodes["m"]["value"])
    assert get_provenance(nodes["c"]["value"]) == frozenset()  # observed
    assert get_provenance(nodes["c"]["log_prob"]) == frozenset({"a", "b"})


def test_track_non_reparam_leaves_reparam_only_model_plain():
    def model():
        x = pyro.sample("x", dist.Normal(0.0, 1.0))
        pyro.sample("y", dist.Normal(x, 1.0))

    with TrackNonReparam():
        tr = poutine.trace(model).get_trace()
    assert get_provenance(tr.nodes["y"]["value"]) == frozenset()
    assert type(tr.nodes["y"]["value"]) is torch.Tensor
