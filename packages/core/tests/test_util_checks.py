"""pyro.util's model/guide checks, JIT-warning filters, timing and small helpers
(expected messages and outcomes are those of pyro-ppl 1.9.2 on the same traces)."""
import ast
import math
import time
import warnings

import pytest
import torch
from torch.distributions import Bernoulli, Independent, Normal

import pyro
from pyro import poutine
from pyro.util import (
    ExperimentalWarning,
    check_if_enumerated,
    check_model_guide_match,
    check_traceenum_requirements,
    check_traces_match,
    ignore_experimental_warning,
    ignore_jit_warnings,
    jit_iter,
    timed,
    torch_float,
    torch_isinf,
    torch_isnan,
)


def trace(fn, *args):
    return poutine.trace(fn).get_trace(*args)


def normal_site(name, shape=(), event_dim=0, **kwargs):
    def fn():
        d = Normal(torch.zeros(shape), 1.0)
        if event_dim:
            d = Independent(d, event_dim)
        pyro.sample(name, d, **kwargs)
    return fn


def no_warnings(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fn()


def test_model_guide_match_accepts_matching_pair_and_auxiliary_sites():
    def model():
        x = pyro.sample("x", Normal(0.0, 1.0))
        with pyro.plate("p", 3):
            pyro.sample("y", Normal(x, 1.0).expand([3]))

    def guide():
        pyro.sample("x", Normal(0.0, 1.0))
        with pyro.plate("p", 3):
            pyro.sample("y", Normal(0.0, 1.0).expand([3]))
        pyro.sample("aux", Normal(0.0, 1.0), infer={"is_auxiliary": True})

    no_warnings(lambda: check_model_guide_match(trace(model), trace(guide)))


def test_model_guide_match_warns_on_missing_and_extra_sites():
    model = normal_site("x")
    with pytest.warns(UserWarning, match=r"in model but not guide: \{'x'\}"):
        check_model_guide_match(trace(model), trace(lambda: None))
    with pytest.warns(UserWarning, match=r"guide but not model.*is_auxiliary.*\n\{'z'\}"):
        check_model_guide_match(trace(model), trace(lambda: (model(), normal_site("z")())))
    # an observed model site is not a latent variable the guide may sample
    with pytest.warns(UserWarning, match="guide but not model"):
        check_model_guide_match(trace(normal_site("x", obs=torch.tensor(1.0))), trace(model))


def test_model_guide_match_event_dims_and_shapes():
    with pytest.raises(ValueError, match="event_dims disagree at site 'x': 0 vs 1"):
        check_model_guide_match(trace(normal_site("x", (3,))),
                                trace(normal_site("x", (3,), event_dim=1)))
    with pytest.raises(ValueError, match=r"shapes disagree at site 'x': torch.Size\(\[3\]\) vs "
                                         r"torch.Size\(\[1\]\)"):
        check_model_guide_match(trace(normal_site("x", (3,))), trace(normal_site("x", (1,))))
    # leading dims of size 1 do not count
    no_warnings(lambda: check_model_guide_match(trace(normal_site("x")),
                                                trace(normal_site("x", (1,)))))
    # only the rightmost max_plate_nesting batch dims are compared (event dims always)
    m, g = trace(normal_site("x", (2, 3))), trace(normal_site("x", (3,)))
    with pytest.raises(ValueError):
        check_model_guide_match(m, g)
    check_model_guide_match(m, g, 1)
    m, g = trace(normal_site("x", (4, 3), 1)), trace(normal_site("x", (3,), 1))
    check_model_guide_match(m, g, 0)
    with pytest.raises(ValueError, match=r"torch.Size\(\[4, 3\]\) vs torch.Size\(\[3\]\)"):
        check_model_guide_match(m, g, 1)
    m = trace(normal_site("x", (3, 1), 1))
    with pytest.raises(ValueError, match=r"torch.Size\(\[1\]\) vs torch.Size\(\[3\]\)"):
        check_model_guide_match(m, g, 0)


def test_model_guide_match_counts_sample_shape():
    def with_sample_shape():
        pyro.sample("x", Normal(0.0, 1.0), sample_shape=(3,))

    with pytest.raises(ValueError, match=r"torch.Size\(\[3\]\) vs torch.Size\(\[\]\)"):
        check_model_guide_match(trace(with_sample_shape), trace(normal_site("x")))


def test_model_guide_match_plates_and_sequential_enumeration():
    def guide():
        pyro.sample("x", Normal(0.0, 1.0))
        with pyro.plate("q", 2):
            pyro.sample("a", Normal(0.0, 1.0), infer={"is_auxiliary": True})

    with pytest.warns(UserWarning, match=r"plate statements in guide but not model: \{'q'\}"):
        check_model_guide_match(trace(normal_site("x")), trace(guide), 1)

    def model():
        pyro.sample("z", Bernoulli(0.5), infer={"enumerate": "sequential"})

    with pytest.raises(NotImplementedError, match="At site 'z', model-side sequential"):
        check_model_guide_match(trace(model), trace(lambda: None))
    no_warnings(lambda: check_model_guide_match(trace(model), trace(model)))


def test_model_guide_match_skips_model_enumerated_sites():
    def model():
        pyro.sample("z", Bernoulli(0.5), infer={"enumerate": "parallel"})

    # marked but not enumerated: the guide must sample it
    with pytest.warns(UserWarning, match="in model but not guide"):
        check_model_guide_match(trace(model), trace(lambda: None))
    enumerated = trace(poutine.enum(model, first_available_dim=-1))
    no_warnings(lambda: check_model_guide_match(enumerated, trace(lambda: None)))


def test_traces_match():
    def a():
        pyro.sample("x", Normal(0.0, 1.0), sample_shape=(3,))

    no_warnings(lambda: check_traces_match(trace(a), trace(normal_site("x", (3,)))))
    with pytest.raises(ValueError, match=r"Site dims disagree at site 'x': torch.Size\(\[3\]\) "):
        check_traces_match(trace(a), trace(normal_site("x")))
    # observed sites count too, unlike in check_model_guide_match
    with pytest.warns(UserWarning, match=r"Model vars changed: \{'x'\} vs \{") as record:
        check_traces_match(trace(normal_site("x", obs=torch.tensor(0.0))),
                           trace(lambda: (normal_site("x")(), normal_site("y")())))
    assert ast.literal_eval(str(record[0].message).split(" vs ")[1]) == {"x", "y"}


def test_check_if_enumerated():
    def guide():
        pyro.sample("z", Bernoulli(0.5), infer={"enumerate": "parallel"})
        pyro.sample("w", Bernoulli(0.5), infer={"enumerate": "sequential"})
        pyro.sample("v", Bernoulli(0.5))

    with pytest.warns(UserWarning, match="enumeration: z, w\nIf you want to enumerate sites, "
                                         "you need to use TraceEnum_ELBO instead."):
        check_if_enumerated(trace(guide))
    no_warnings(lambda: check_if_enumerated(trace(normal_site("x"))))


def _enumerated_guide_trace(fn):
    return trace(poutine.enum(fn, first_available_dim=-2))


def test_traceenum_requirements_warns_when_a_site_follows_an_enumerated_plate():
    def guide():
        with pyro.plate("p", 3):
            pyro.sample("z", Bernoulli(0.5 * torch.ones(3)), infer={"enumerate": "parallel"})
        pyro.sample("q", Normal(0.0, 1.0))

    gt = _enumerated_guide_trace(guide)
    with pytest.warns(RuntimeWarning) as record:
        check_traceenum_requirements(gt, gt)
    messages = [str(w.message) for w in record]
    assert messages == [
        f'at {role} site "q", possibly invalid dependency.\n'
        '  Expected site "q" to precede sites "z"\n'
        '  to avoid breaking independence of plates "p"'
        for role in ("model", "guide")
    ]


def test_traceenum_requirements_accepts_safe_orders():
    def guide():  # q before the enumerated plate: obviously correct
        pyro.sample("q", Normal(0.0, 1.0))
        with pyro.plate("p", 3):
            pyro.sample("z", Bernoulli(0.5 * torch.ones(3)), infer={"enumerate": "parallel"})
            pyro.sample("y", Normal(0.0, 1.0).expand([3]))

    gt = _enumerated_guide_trace(guide)
    no_warnings(lambda: check_traceenum_requirements(gt, gt))

    def model():  # enumerated in the model only: not this check's business
        with pyro.plate("p", 3):
            pyro.sample("z", Bernoulli(0.5 * torch.ones(3)), infer={"enumerate": "parallel"})
        pyro.sample("y", Normal(0.0, 1.0), obs=torch.tensor(0.0))

    mt = _enumerated_guide_trace(model)
    no_warnings(lambda: check_traceenum_requirements(mt, trace(lambda: None)))


def test_traceenum_requirements_sequential_plate_iterations():
    def guide():
        for i in pyro.plate("s", 2):
            with pyro.plate(f"p{i}", 3):
                pyro.sample(f"z{i}", Bernoulli(0.5 * torch.ones(3)),
                            infer={"enumerate": "parallel"})
            pyro.sample(f"q{i}", Normal(0.0, 1.0))

    gt = _enumerated_guide_trace(guide)
    with pytest.warns(RuntimeWarning) as record:
        check_traceenum_requirements(trace(lambda: None), gt)
    # q1 follows z0 too, but in another iteration of "s": independent of it
    assert [str(w.message).splitlines()[1].strip() for w in record] == [
        'Expected site "q0" to precede sites "z0"',
        'Expected site "q1" to precede sites "z1"',
    ]


def test_ignore_jit_warnings_only_filters_while_tracing():
    def fn(x):
        with ignore_jit_warnings():
            warnings.warn("traced", torch.jit.TracerWarning)
        with ignore_jit_warnings(["other message"]):
            warnings.warn("kept", torch.jit.TracerWarning)
        with ignore_jit_warnings([("custom", UserWarning)]):
            warnings.warn("custom warning", UserWarning)
        return x + 1

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        torch.jit.trace(fn, torch.ones(2), check_trace=False)
    ours = {"traced", "kept", "custom warning"}  # torch may add a deprecation warning
    assert [str(w.message) for w in record if str(w.message) in ours] == ["kept"]
    with warnings.catch_warnings(record=True) as record:  # eager: nothing is filtered
        warnings.simplefilter("always")
        fn(torch.ones(2))
    assert [str(w.message) for w in record] == ["traced", "kept", "custom warning"]


def test_jit_iter_lists_slices_without_tracer_warnings():
    x = torch.arange(6.0).reshape(3, 2)
    assert all(torch.equal(a, b) for a, b in zip(jit_iter(x), x))
    assert len(jit_iter(x)) == 3

    def fn(x):
        return torch.stack([row.sum() for row in jit_iter(x)])

    with warnings.catch_warnings():
        warnings.simplefilter("error", torch.jit.TracerWarning)
        traced = torch.jit.trace(fn, x)
    assert torch.equal(traced(x + 1), torch.tensor([3.0, 7.0, 11.0]))


def test_experimental_warning_and_filter():
    assert issubclass(ExperimentalWarning, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with ignore_experimental_warning():
            warnings.warn("experimental feature", ExperimentalWarning)
        with pytest.raises(UserWarning):
            with ignore_experimental_warning():
                warnings.warn("another warning", UserWarning)


def test_timed_measures_elapsed_wall_time():
    with timed() as t:
        time.sleep(0.02)
    assert t.end - t.start == t.elapsed
    assert 0.02 <= t.elapsed < 1.0


def test_torch_float_isinf_isnan():
    assert torch_float(3) == 3.0 and isinstance(torch_float(3), float)
    assert torch_float(torch.tensor(2)).dtype == torch.float32
    assert torch_isinf(math.inf) and torch_isinf(-math.inf) and not torch_isinf(3)
    assert bool(torch_isinf(torch.tensor([1.0, -math.inf])))
    assert not bool(torch_isinf(torch.tensor([1.0, math.nan])))
    assert torch_isnan(math.nan) and not bool(torch_isnan(torch.tensor([1.0, 2.0])))
