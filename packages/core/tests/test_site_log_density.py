"""The one log-density path of pyro.poutine.trace_struct: caching, errors, and validation
that is cheap (data checked once) without being absent."""
import pytest
import torch
import torch.distributions as tdist

import pyro
from pyro import poutine
from pyro.poutine.trace_struct import site_log_prob, site_score_parts, site_unscaled_log_prob


def _trace(model, *args):
    return poutine.trace(model).get_trace(*args)


def _bernoulli_model(data):
    p = pyro.sample("p", tdist.Beta(torch.tensor(2.0), torch.tensor(2.0)))
    pyro.sample("obs", tdist.Independent(tdist.Bernoulli(p.expand(data.shape)), 1), obs=data)


def test_site_functions_cache_and_agree_with_the_distribution():
    pyro.set_rng_seed(0)
    data = torch.tensor([1.0, 0.0, 1.0])
    tr = _trace(_bernoulli_model, data)
    site = tr.nodes["obs"]
    lp = site_log_prob(site)
    expected = tdist.Bernoulli(tr.nodes["p"]["value"]).log_prob(data).sum()
    assert torch.allclose(lp, expected)
    assert site_log_prob(site) is lp  # cached
    assert site_unscaled_log_prob(site) is site["unscaled_log_prob"]
    parts = site_score_parts(tr.nodes["p"])
    assert parts.score_function == 0 and parts.entropy_term is parts.log_prob  # rsample
    tr.compute_log_prob()
    assert tr.nodes["obs"]["log_prob_sum"] is not None
    assert torch.allclose(tr.log_prob_sum(),
                          tr.nodes["p"]["log_prob"] + tr.nodes["obs"]["log_prob"])


def test_error_names_the_site_and_shapes():
    data = torch.tensor([1.0, 0.0, 1.0])
    tr = _trace(_bernoulli_model, data)
    site = tr.nodes["obs"]
    site["value"] = torch.ones(4)  # wrong event shape
    with pytest.raises(ValueError, match=r"site 'obs'.*value shape \(4,\)"):
        site_log_prob(site)


def test_observed_data_is_validated_once_but_rechecked_after_changes():
    pyro.enable_validation(True)
    data = torch.tensor([1.0, 0.0, 1.0])
    tr = _trace(_bernoulli_model, data)
    tr.compute_log_prob()  # validated and remembered
    tr = _trace(_bernoulli_model, data)
    tr.compute_log_prob()  # same tensor, same support and shapes: no second check needed
    data[1] = 0.5  # in place: out of the support now, and the version changed
    with pytest.raises(ValueError, match="site 'obs'"):
        _trace(_bernoulli_model, data).compute_log_prob()
    # another tensor with an invalid value is checked as well
    with pytest.raises(ValueError, match="site 'obs'"):
        _trace(_bernoulli_model, torch.tensor([1.0, 2.0, 0.0])).compute_log_prob()


def test_prevalidated_skips_only_the_value_check():
    def model():
        pyro.sample("x", tdist.Exponential(torch.tensor(1.0), validate_args=True))

    site = _trace(model).nodes["x"]
    site["value"] = torch.tensor(-1.0)  # outside the support
    with pytest.raises(ValueError, match="site 'x'"):
        site_unscaled_log_prob(dict(site))
    lp = site_unscaled_log_prob(site, prevalidated=True)
    assert lp.item() == 1.0  # log(rate) - rate * value: computed, not checked
    assert site["fn"]._validate_args  # restored
