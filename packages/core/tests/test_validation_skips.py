"""Value checks skipped only where they cannot fail: a site's own draw, data already
checked (also through Independent / masked / expanded wrappers); every other value is
still checked, and a check skipped leaves the distributions' flags as they were."""
import pytest
import torch
import torch.distributions as tdist

import pyro
from pyro import poutine
from pyro.poutine.runtime import is_own_draw
from pyro.poutine.trace_struct import site_log_prob, support_key


@pytest.fixture(autouse=True)
def _validation_on():
    with pyro.validation_enabled(True):
        yield


def _count_value_checks(monkeypatch):
    calls = []
    original = tdist.Distribution._validate_sample

    def counting(self, value):
        calls.append(type(self).__name__)
        return original(self, value)

    monkeypatch.setattr(tdist.Distribution, "_validate_sample", counting)
    return calls


def test_own_draw_is_not_checked_again(monkeypatch):
    def model():
        pyro.sample("z", tdist.Independent(tdist.Normal(torch.zeros(3), torch.ones(3)), 1))

    tr = poutine.trace(model).get_trace()
    site = tr.nodes["z"]
    assert is_own_draw(site["fn"], site["value"])
    calls = _count_value_checks(monkeypatch)
    lp = site_log_prob(site)
    assert calls == []
    assert torch.allclose(lp, tdist.Normal(0.0, 1.0).log_prob(site["value"]).sum())
    # the flags of the wrapper and its base are restored
    assert site["fn"]._validate_args and site["fn"].base_dist._validate_args


def test_value_given_by_a_handler_is_checked():
    def model():
        pyro.sample("p", tdist.Beta(torch.tensor(2.0), torch.tensor(2.0)))

    tr = poutine.trace(poutine.condition(model, {"p": torch.tensor(1.5)})).get_trace()
    assert not is_own_draw(tr.nodes["p"]["fn"], tr.nodes["p"]["value"])
    with pytest.raises(ValueError, match="'p'"):
        site_log_prob(tr.nodes["p"])


def test_a_later_draw_of_the_same_distribution_is_the_only_own_draw():
    d = tdist.Normal(0.0, 1.0)
    first = poutine.trace(lambda: pyro.sample("a", d)).get_trace().nodes["a"]["value"]
    second = poutine.trace(lambda: pyro.sample("a", d)).get_trace().nodes["a"]["value"]
    assert is_own_draw(d, second) and not is_own_draw(d, first)


def test_data_through_independent_is_checked_once_then_again_when_it_changes(monkeypatch):
    data = torch.tensor([[0.0, 1.0], [1.0, 1.0]])

    def model(x):
        fn = tdist.Independent(tdist.Bernoulli(probs=torch.full((2, 2), 0.3)), 1)
        pyro.sample("x", fn, obs=x)

    def log_prob(x):
        return site_log_prob(poutine.trace(model).get_trace(x).nodes["x"])

    calls = _count_value_checks(monkeypatch)
    first = log_prob(data)
    assert calls  # checked the first time
    calls.clear()
    assert torch.equal(log_prob(data), first)
    assert calls == []  # the same, unchanged data: not checked again
    with torch.no_grad():
        data[0, 0] = 0.5  # modified in place: checked again, and refused
    with pytest.raises(ValueError, match="'x'"):
        log_prob(data)
    with pytest.raises(ValueError, match="'x'"):
        log_prob(torch.full((2, 2), 2.0))  # other data: checked


def test_validation_off_checks_nothing_and_back_on_checks_again(monkeypatch):
    def model():
        pyro.sample("p", tdist.Beta(torch.tensor(2.0), torch.tensor(2.0)), obs=torch.tensor(0.3))

    calls = _count_value_checks(monkeypatch)
    with pyro.validation_enabled(False):
        site_log_prob(poutine.trace(model).get_trace().nodes["p"])
    assert calls == []

    def bad():
        pyro.sample("p", tdist.Beta(torch.tensor(2.0), torch.tensor(2.0)), obs=torch.tensor(3.0))

    with pytest.raises(ValueError, match="'p'"):
        site_log_prob(poutine.trace(bad).get_trace().nodes["p"])


def test_support_key_unfolds_independent():
    normal = tdist.Normal(torch.zeros(2, 3), 1.0)
    a = tdist.Independent(normal, 1)
    b = tdist.Independent(tdist.Independent(tdist.Normal(torch.zeros(2, 3), 2.0), 1), 0)
    assert a.support is not b.support
    assert support_key(a) == support_key(b) == (tdist.constraints.real, 1)
    assert support_key(normal) is tdist.constraints.real
    assert support_key(tdist.Independent(normal, 2)) != support_key(a)


def test_a_sampled_distribution_still_pickles_and_copies():
    import copy
    import pickle

    tr = poutine.trace(lambda: pyro.sample("z", tdist.Normal(0.0, 1.0))).get_trace()
    fn, value = tr.nodes["z"]["fn"], tr.nodes["z"]["value"]
    restored = pickle.loads(pickle.dumps(fn))
    assert torch.equal(restored.loc, fn.loc)
    assert not is_own_draw(restored, value)  # the reference does not survive: checked again
    copied = copy.deepcopy(tr)
    assert not is_own_draw(copied.nodes["z"]["fn"], copied.nodes["z"]["value"])
    assert is_own_draw(fn, value)


def test_a_draw_modified_in_place_is_checked_again():
    def model():
        return pyro.sample("k", tdist.Categorical(torch.ones(3)))

    tr = poutine.trace(model).get_trace()
    site = tr.nodes["k"]
    assert is_own_draw(site["fn"], site["value"])
    site["value"].add_(7)  # now outside the support {0, 1, 2}
    assert not is_own_draw(site["fn"], site["value"])
    with pytest.raises(ValueError, match="'k'"):
        site_log_prob(site)
