"""infer_discrete and TraceEnumSample_ELBO against brute-force posteriors (argmax and
exact probabilities over every joint assignment)."""
import itertools

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer import TraceEnum_ELBO, config_enumerate, infer_discrete
from pyro.infer.discrete import TraceEnumSample_ELBO
from pyro.ops.indexing import Vindex

TRANS = torch.tensor([[0.8, 0.1, 0.1], [0.2, 0.6, 0.2], [0.1, 0.3, 0.6]])
YS = torch.tensor([0.1, 2.2, 3.9, 1.2, 1.8])


def hmm(use_markov, scale=0.9):
    def model():
        s, states = torch.tensor(0), []
        steps = pyro.markov(range(len(YS))) if use_markov else range(len(YS))
        for t in steps:
            s = pyro.sample(f"s{t}", dist.Categorical(Vindex(TRANS)[..., s, :]),
                            infer={"enumerate": "parallel"})
            pyro.sample(f"y{t}", dist.Normal(2.0 * s.float(), scale), obs=YS[t])
            states.append(s)
        return states
    return model


def log_joint(model, values):
    tr = poutine.trace(poutine.condition(model, data=values)).get_trace()
    return tr.log_prob_sum().item()


def hmm_posterior(model):
    """{assignment tuple: posterior probability} over every joint assignment."""
    table = {}
    for assign in itertools.product(range(3), repeat=len(YS)):
        table[assign] = log_joint(model, {f"s{t}": torch.tensor(v) for t, v in enumerate(assign)})
    logs = torch.tensor(list(table.values()))
    probs = (logs - logs.logsumexp(0)).exp()
    return dict(zip(table, probs.tolist()))


@pytest.mark.parametrize("use_markov", [False, True])
def test_map_is_the_brute_force_argmax(use_markov):
    model = hmm(use_markov, scale=1.5)
    post = hmm_posterior(hmm(False, scale=1.5))
    best = max(post, key=post.get)
    decoded = infer_discrete(model, first_available_dim=-1, temperature=0)()
    assert tuple(int(s) for s in decoded) == best


def test_samples_follow_the_exact_posterior():
    # the chain in a plate of independent copies with the same observations: each copy's
    # path is an independent draw from the posterior
    torch.manual_seed(0)
    n = 3000

    def copies():
        with pyro.plate("copies", n, dim=-1):
            return hmm(True, scale=1.5)()

    post = hmm_posterior(hmm(False, scale=1.5))
    paths = torch.stack(infer_discrete(copies, first_available_dim=-2)(), -1)
    assert paths.shape == (n, len(YS))
    # the most probable paths are hit at their posterior rate (5 binomial std errors)
    for key in sorted(post, key=post.get)[-3:]:
        p = post[key]
        freq = (paths == torch.tensor(key)).all(-1).float().mean().item()
        assert abs(freq - p) < 5 * (p * (1 - p) / n) ** 0.5


P2 = torch.tensor([0.4, 0.6])
T2 = torch.tensor([[0.9, 0.1], [0.2, 0.8]])


def plated_model(n_copies):
    """A global z and, in a plate of independent copies, a local chain w1 -> w2 with the
    same observations in every copy: the copies are independent posterior draws given z."""
    @config_enumerate
    def model():
        z = pyro.sample("z", dist.Categorical(P2))
        with pyro.plate("copies", n_copies, dim=-1):
            w1 = pyro.sample("w1", dist.Categorical(Vindex(T2)[..., z, :]))
            pyro.sample("o1", dist.Normal(w1.float(), 0.8), obs=torch.tensor(0.7))
            w2 = pyro.sample("w2", dist.Categorical(Vindex(T2)[..., w1, :]))
            pyro.sample("o2", dist.Normal(w2.float(), 0.8), obs=torch.tensor(0.2))
        return z, w1, w2
    return model


def test_plated_samples_match_conditional_posterior():
    torch.manual_seed(1)
    n = 4000
    z, w1, w2 = infer_discrete(plated_model(n), first_available_dim=-2)()
    assert z.shape == () and w1.shape == (n,) and w2.shape == (n,)
    # exact p(w1, w2 | z, o) per copy, by brute force on a one-copy model
    single = plated_model(1)
    logs = torch.tensor([[log_joint(single, {"z": z, "w1": torch.tensor([a]),
                                             "w2": torch.tensor([b])}) for b in range(2)]
                         for a in range(2)])
    exact = (logs - logs.logsumexp((0, 1))).exp()
    for a, b in itertools.product(range(2), range(2)):
        freq = ((w1 == a) & (w2 == b)).float().mean().item()
        p = exact[a, b].item()
        assert abs(freq - p) < 5 * (p * (1 - p) / n) ** 0.5 + 1e-3


def test_plated_map_matches_brute_force():
    model = plated_model(2)
    z, w1, w2 = infer_discrete(model, first_available_dim=-2, temperature=0)()
    best = max(
        itertools.product(range(2), range(2), range(2), range(2), range(2)),
        key=lambda v: log_joint(model, {"z": torch.tensor(v[0]), "w1": torch.tensor(v[1:3]),
                                        "w2": torch.tensor(v[3:5])}),
    )
    assert (int(z), *w1.tolist(), *w2.tolist()) == best


def test_gaussian_mixture_fit_then_decode_recovers_assignments():
    pytest.importorskip("pyro.optim", reason="training needs pyro-optim")
    from pyro.infer import SVI
    from pyro.optim import Adam

    torch.manual_seed(2)
    pyro.clear_param_store()
    true_locs = torch.tensor([-3.0, 3.0])
    truth = torch.distributions.Bernoulli(0.4).sample((200,)).long()
    data = true_locs[truth] + 0.6 * torch.randn(200)

    @config_enumerate
    def model(data):
        weights = pyro.param("weights", torch.tensor([0.5, 0.5]),
                             constraint=dist.constraints.simplex)
        locs = pyro.param("locs", torch.tensor([-1.0, 1.0]))
        with pyro.plate("data", len(data)):
            k = pyro.sample("k", dist.Categorical(weights))
            pyro.sample("obs", dist.Normal(Vindex(locs)[..., k], 0.6), obs=data)
        return k

    svi = SVI(model, lambda data: None, Adam({"lr": 0.1}), TraceEnum_ELBO(max_plate_nesting=1))
    for _ in range(150):
        svi.step(data)
    assert torch.allclose(pyro.param("locs").detach(), true_locs, atol=0.3)
    decoded = infer_discrete(model, first_available_dim=-2, temperature=0)(data)
    assert decoded.shape == (200,)
    assert (decoded == truth).float().mean() > 0.98


def test_trace_enum_sample_elbo_samples_given_the_guide():
    torch.manual_seed(3)
    model = plated_model(3000)
    elbo = TraceEnumSample_ELBO(max_plate_nesting=1)
    with pytest.raises(RuntimeError, match="compute a loss first"):
        elbo.sample_saved()
    loss = elbo.loss(model, lambda: None)
    assert loss == pytest.approx(TraceEnum_ELBO(max_plate_nesting=1).loss(model, lambda: None),
                                 rel=1e-6)
    tr = elbo.sample_saved()
    assert set(tr.nodes) >= {"z", "w1", "w2"}
    w1 = tr.nodes["w1"]["value"]
    z = tr.nodes["z"]["value"]
    assert w1.shape == (3000,) and z.shape == ()
    single = plated_model(1)
    logs = torch.tensor([log_joint(single, {"z": z, "w1": torch.tensor([a]),
                                           "w2": torch.tensor([b])})
                         for a in range(2) for b in range(2)]).reshape(2, 2)
    p = (logs.logsumexp(1) - logs.logsumexp((0, 1))).exp()[1].item()
    assert abs(w1.float().mean().item() - p) < 5 * (p * (1 - p) / 3000) ** 0.5


def test_bad_arguments_are_reported():
    with pytest.raises(ValueError, match="temperature"):
        infer_discrete(hmm(True), first_available_dim=-1, temperature=0.5)
    with pytest.raises(ValueError, match="first_available_dim"):
        infer_discrete(hmm(True), first_available_dim=None)


def test_no_enumerated_site_warns():
    def model():
        return pyro.sample("x", dist.Normal(0.0, 1.0))

    with pytest.warns(UserWarning, match="no sample sites configured"):
        infer_discrete(model, first_available_dim=-1)()


def test_backward_sample_messenger_rerun_uses_posterior_values():
    from pyro.infer.traceenum_elbo import BackwardSampleMessenger

    torch.manual_seed(4)
    model = plated_model(2000)
    enum_trace = poutine.trace(poutine.enum(model, first_available_dim=-2)).get_trace()
    guide_trace = poutine.trace(lambda: None).get_trace()
    z, w1, w2 = BackwardSampleMessenger(enum_trace, guide_trace)(model)()
    assert z.shape == () and w1.shape == (2000,)
    single = plated_model(1)
    logs = torch.tensor([log_joint(single, {"z": z, "w1": torch.tensor([a]),
                                           "w2": torch.tensor([b])})
                         for a in range(2) for b in range(2)]).reshape(2, 2)
    p = (logs.logsumexp(0) - logs.logsumexp((0, 1))).exp()[1].item()  # p(w2 = 1 | z, o)
    assert abs(w2.float().mean().item() - p) < 5 * (p * (1 - p) / 2000) ** 0.5


def test_compute_marginals_match_brute_force():
    model = plated_model(2)
    marginals = TraceEnum_ELBO(max_plate_nesting=1).compute_marginals(model, lambda: None)
    assert list(marginals) == ["z", "w1", "w2"]
    table = {}
    for v in itertools.product(range(2), repeat=5):
        table[v] = log_joint(model, {"z": torch.tensor(v[0]), "w1": torch.tensor(v[1:3]),
                                     "w2": torch.tensor(v[3:5])})
    logs = torch.tensor(list(table.values()))
    probs = dict(zip(table, (logs - logs.logsumexp(0)).exp().tolist()))

    def marginal(pos, value):
        return sum(p for v, p in probs.items() if v[pos] == value)

    assert marginals["z"].probs[1].item() == pytest.approx(marginal(0, 1), abs=1e-5)
    assert marginals["w1"].batch_shape == (2,)
    for i in range(2):
        assert marginals["w1"].probs[i, 1].item() == pytest.approx(marginal(1 + i, 1), abs=1e-5)
        assert marginals["w2"].probs[i, 1].item() == pytest.approx(marginal(3 + i, 1), abs=1e-5)


def test_compute_marginals_of_a_bernoulli_site_is_a_bernoulli():
    @config_enumerate
    def model():
        z = pyro.sample("z", dist.Bernoulli(0.3))
        pyro.sample("x", dist.Normal(z, 1.0), obs=torch.tensor(0.8))

    m = TraceEnum_ELBO(max_plate_nesting=0).compute_marginals(model, lambda: None)
    lp = torch.tensor([0.7, 0.3]).log() + dist.Normal(torch.tensor([0.0, 1.0]), 1.0).log_prob(
        torch.tensor(0.8))
    assert isinstance(m["z"], dist.Bernoulli)
    assert m["z"].probs.item() == pytest.approx((lp - lp.logsumexp(0)).exp()[1].item(), abs=1e-6)


def test_sample_posterior_returns_the_model_value_at_a_posterior_draw():
    torch.manual_seed(5)
    n = 3000
    z, w1, w2 = TraceEnum_ELBO(max_plate_nesting=1).sample_posterior(plated_model(n),
                                                                    lambda: None)
    assert z.shape == () and w1.shape == (n,) and w2.shape == (n,)
    single = plated_model(1)
    logs = torch.tensor([log_joint(single, {"z": z, "w1": torch.tensor([a]),
                                           "w2": torch.tensor([b])})
                         for a in range(2) for b in range(2)]).reshape(2, 2)
    p = (logs.logsumexp(1) - logs.logsumexp((0, 1))).exp()[1].item()  # p(w1 = 1 | z, o)
    assert abs(w1.float().mean().item() - p) < 5 * (p * (1 - p) / n) ** 0.5


def test_outer_trace_records_each_decoded_site_once():
    # the enumerated first pass is internal: an outer trace sees only the decoded run
    @config_enumerate
    def model(data):
        with pyro.plate("n", len(data)):
            z = pyro.sample("z", dist.Categorical(torch.tensor([0.3, 0.7])))
            pyro.sample("x", dist.Normal(z.float() * 3, 1.0), obs=data)

    data = torch.tensor([0.0, 3.0, 3.1, -0.2])
    decoded = infer_discrete(model, first_available_dim=-2, temperature=0)
    trace = poutine.trace(decoded).get_trace(data)
    assert trace.nodes["z"]["value"].tolist() == [0, 1, 1, 0]
    assert trace.nodes["x"]["is_observed"]
