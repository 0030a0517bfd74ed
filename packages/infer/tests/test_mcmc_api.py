"""The MCMC driver: shapes of draws and diagnostics, chains, hooks, plugins, errors."""
import multiprocessing

import pytest
import torch

import pyro
import pyro.distributions as dist
import pyro.plugins
import pyro.poutine as poutine
from pyro.infer.mcmc import HMC, MCMC, NUTS
from pyro.ops import stats

torch.set_num_threads(1)

DATA = torch.tensor([[0.0, 1.0, 2.0], [0.5, 1.5, 1.5], [-0.5, 0.5, 2.5], [0.0, 1.0, 2.0]])


def model(data):
    loc = pyro.sample("loc", dist.Normal(torch.zeros(3), 10.0).to_event(1))
    scale = pyro.sample("scale", dist.HalfNormal(2.0))
    with pyro.plate("data", data.size(0)):
        pyro.sample("obs", dist.Normal(loc, scale).to_event(1), obs=data)


def small_model():
    pyro.sample("x", dist.Normal(0.0, 1.0))


def test_samples_diagnostics_and_summary_shapes(capsys):
    pyro.set_rng_seed(0)
    mcmc = MCMC(NUTS(model), num_samples=40, warmup_steps=30, disable_progbar=True)
    mcmc.run(DATA)
    s = mcmc.get_samples()
    assert s["loc"].shape == (40, 3) and s["scale"].shape == (40,)
    assert (s["scale"] > 0).all()
    g = mcmc.get_samples(group_by_chain=True)
    assert g["loc"].shape == (1, 40, 3)
    sub = mcmc.get_samples(num_samples=7)
    assert sub["loc"].shape == (7, 3)
    # each random pick is one of the draws, with its own scale (same index for all sites)
    for i in range(7):
        j = (s["loc"] == sub["loc"][i]).all(-1).nonzero()[0, 0]
        assert s["scale"][j] == sub["scale"][i]
    diag = mcmc.diagnostics()
    assert diag["loc"]["n_eff"].shape == (3,) and diag["loc"]["r_hat"].shape == (3,)
    assert diag["scale"]["n_eff"].shape == ()
    torch.testing.assert_close(diag["scale"]["n_eff"],
                               stats.effective_sample_size(g["scale"]))
    assert set(diag["divergences"]) == {"chain 0"}
    assert 0 <= diag["acceptance rate"]["chain 0"] <= 1
    mcmc.summary(prob=0.8)
    out = capsys.readouterr().out
    for word in ("loc[0]", "loc[2]", "scale", "mean", "std", "median", "10.0%", "90.0%",
                 "n_eff", "r_hat", "Number of divergences"):
        assert word in out


def test_default_warmup_is_num_samples():
    mcmc = MCMC(NUTS(model), num_samples=25)
    assert mcmc.warmup_steps == 25


@pytest.mark.parametrize("make_kernel", [NUTS, lambda m: HMC(m, trajectory_length=1.0)])
def test_two_sequential_chains_group_by_chain(make_kernel):
    pyro.set_rng_seed(1)
    mcmc = MCMC(make_kernel(model), num_samples=12, warmup_steps=10, num_chains=2,
                disable_progbar=True)
    mcmc.run(DATA)
    g = mcmc.get_samples(group_by_chain=True)
    assert g["loc"].shape == (2, 12, 3) and g["scale"].shape == (2, 12)
    flat = mcmc.get_samples()
    torch.testing.assert_close(flat["loc"], g["loc"].reshape(24, 3))
    assert not torch.equal(g["loc"][0], g["loc"][1])  # independent chains
    diag = mcmc.diagnostics()
    assert set(diag["divergences"]) == {"chain 0", "chain 1"}
    assert diag["loc"]["r_hat"].shape == (3,)
    assert mcmc.get_samples(num_samples=5, group_by_chain=True)["loc"].shape == (2, 5, 3)


def test_chain_rhat_detects_chains_stuck_in_different_places():
    # two chains started far apart with no warmup and tiny steps cannot mix: R-hat >> 1
    kernel = HMC(small_model, step_size=1e-3, num_steps=1, adapt_step_size=False)
    mcmc = MCMC(kernel, num_samples=30, warmup_steps=0, num_chains=2, disable_progbar=True,
                initial_params={"x": torch.tensor([-3.0, 3.0])})
    mcmc.run()
    assert mcmc.diagnostics()["x"]["r_hat"] > 5


def test_initial_params_hook_fn_and_save_params():
    calls = []

    def hook(kernel, params, stage, i):
        calls.append((stage, i, float(params["loc"][0])))

    pyro.set_rng_seed(2)
    init = {"loc": torch.tensor([0.0, 1.0, 2.0]), "scale": torch.tensor(0.0)}  # unconstrained
    kernel = NUTS(model)
    mcmc = MCMC(kernel, num_samples=5, warmup_steps=3, initial_params=init, hook_fn=hook,
                disable_progbar=True, save_params=["scale"])
    mcmc.run(DATA)
    # Pyro's labels, with the index inside each stage
    assert [c[:2] for c in calls] == [("Warmup", 0), ("Warmup", 1), ("Warmup", 2),
                                      ("Sample", 0), ("Sample", 1), ("Sample", 2),
                                      ("Sample", 3), ("Sample", 4)]
    assert list(mcmc.get_samples()) == ["scale"]


def test_deterministic_sites_are_kept_apart_from_the_latent_draws():
    def det_model():
        x = pyro.sample("x", dist.Normal(0.0, 1.0))
        pyro.deterministic("twice", 2 * x)

    pyro.set_rng_seed(3)
    mcmc = MCMC(NUTS(det_model), num_samples=10, warmup_steps=5, disable_progbar=True)
    mcmc.run()
    s = mcmc.get_samples()
    assert set(s) == {"x"}  # latent sites only, as Pyro
    torch.testing.assert_close(mcmc.get_deterministic()["twice"], 2 * s["x"])
    grouped = mcmc.get_deterministic(group_by_chain=True)["twice"]
    assert grouped.shape == (1, 10)


def test_potential_fn_kernel_needs_initial_params():
    mcmc = MCMC(NUTS(potential_fn=lambda p: (p["x"] ** 2).sum()), num_samples=3,
                disable_progbar=True)
    with pytest.raises(ValueError, match="initial_params"):
        mcmc.run()


def test_discrete_latent_site_error_names_the_site():
    def mixture():
        z = pyro.sample("z", dist.Bernoulli(0.3))
        pyro.sample("y", dist.Normal(z, 1.0), obs=torch.tensor(0.5))

    with pytest.raises(ValueError, match="'z'.*discrete.*(enumerat|relaxation)"):
        MCMC(NUTS(mixture), num_samples=3, disable_progbar=True).run()


def test_subsampled_plate_is_rejected():
    def sub_model(data):
        mu = pyro.sample("mu", dist.Normal(0.0, 1.0))
        with pyro.plate("data", data.size(0), subsample_size=2) as idx:
            pyro.sample("obs", dist.Normal(mu, 1.0), obs=data[idx])

    with pytest.raises(ValueError, match="plate 'data' subsampled"):
        MCMC(NUTS(sub_model), num_samples=3, disable_progbar=True).run(torch.zeros(5))


def test_no_latent_sites_error():
    def observed_only():
        pyro.sample("y", dist.Normal(0.0, 1.0), obs=torch.tensor(0.0))

    with pytest.raises(ValueError, match="at least one continuous latent site"):
        MCMC(NUTS(observed_only), num_samples=3, disable_progbar=True).run()


def test_bad_arguments():
    with pytest.raises(ValueError, match="chain_method"):
        MCMC(NUTS(model), num_samples=3, chain_method="threads")
    with pytest.raises(ValueError, match="MCMCKernel"):
        MCMC(model, num_samples=3)
    with pytest.raises(ValueError, match="num_samples"):
        MCMC(NUTS(model), num_samples=0)
    with pytest.raises(ValueError, match="get_samples"):
        MCMC(NUTS(model), num_samples=3).get_samples()
    with pytest.raises(ValueError, match="leading dim of size 2"):
        MCMC(NUTS(small_model), num_samples=3, num_chains=2, disable_progbar=True,
             initial_params={"x": torch.tensor(0.0)}).run()


class _RecordingPlugin:
    def __init__(self):
        self.events = []
        self.bars = []

    @pyro.plugins.hookimpl
    def pyro_mcmc_sample(self, kernel, params, stage, i, chain_id):
        self.events.append((stage, i, chain_id))

    @pyro.plugins.hookimpl
    def pyro_progress_bar(self, total, desc, disable):
        bar = _Bar(total, desc)
        self.bars.append(bar)
        return bar

    @pyro.plugins.hookimpl
    def pyro_inference_start(self, algorithm, info):
        self.events.append(("start", info["num_samples"], info["num_chains"]))

    @pyro.plugins.hookimpl
    def pyro_inference_end(self, algorithm, info):
        self.events.append(("end", info["divergences"], None))


class _Bar:
    def __init__(self, total, desc):
        self.total, self.descs, self.n, self.closed, self.postfix = total, [desc], 0, False, {}

    def update(self, n):
        self.n += n

    def set_postfix(self, *args, **kwargs):
        self.postfix = dict(args[0]) if args else kwargs

    def set_description(self, desc, refresh=True):
        self.descs.append(desc)

    def close(self):
        self.closed = True


def test_plugin_event_hooks_and_progress_bar():
    plugin = _RecordingPlugin()
    pyro.plugins.register(plugin, name="test-mcmc-recorder")
    try:
        pyro.set_rng_seed(4)
        mcmc = MCMC(NUTS(small_model), num_samples=4, warmup_steps=3, num_chains=2)
        mcmc.run()
    finally:
        pyro.plugins.unregister(name="test-mcmc-recorder")
    draws = [e for e in plugin.events if e[0] in ("warmup", "sample")]
    assert draws == [(("warmup", i, c) if i < 3 else ("sample", i - 3, c))
                     for c in range(2) for i in range(7)]
    assert plugin.events[0] == ("start", 4, 2) and plugin.events[-1][0] == "end"
    assert len(plugin.bars) == 2
    for c, bar in enumerate(plugin.bars):
        assert bar.total == 7 and bar.n == 7 and bar.closed
        assert bar.descs == [f"Warmup [{c}]", f"Sample [{c}]"]
        assert "step size" in bar.postfix and "acc. prob" in bar.postfix
    # no plugin: no hook is called at all
    assert pyro.plugins.event_hook("pyro_mcmc_sample") is None


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                    reason="needs the fork start method")
def test_parallel_chains_with_fork():
    pyro.set_rng_seed(5)
    mcmc = MCMC(NUTS(model), num_samples=10, warmup_steps=10, num_chains=2,
                mp_context="fork", disable_progbar=True)
    assert mcmc.chain_method == "parallel"
    mcmc.run(DATA)
    g = mcmc.get_samples(group_by_chain=True)
    assert g["loc"].shape == (2, 10, 3) and (g["scale"] > 0).all()
    assert not torch.equal(g["loc"][0], g["loc"][1])
    assert set(mcmc.diagnostics()["divergences"]) == {"chain 0", "chain 1"}


def test_parallel_falls_back_when_the_model_cannot_be_pickled():
    local = lambda: pyro.sample("x", dist.Normal(0.0, 1.0))  # noqa: E731
    mcmc = MCMC(NUTS(local), num_samples=5, warmup_steps=5, num_chains=2,
                chain_method="parallel", mp_context="spawn", disable_progbar=True)
    with pytest.warns(RuntimeWarning, match="sequentially"):
        mcmc.run()
    assert mcmc.get_samples(group_by_chain=True)["x"].shape == (2, 5)


def test_transforms_and_kernel_state_after_run():
    pyro.set_rng_seed(6)
    kernel = NUTS(model)
    mcmc = MCMC(kernel, num_samples=5, warmup_steps=5, disable_progbar=True)
    mcmc.run(DATA)
    # transforms map constrained -> unconstrained (Pyro's convention)
    t = mcmc.transforms["scale"]
    torch.testing.assert_close(t(torch.tensor(2.0)), torch.tensor(2.0).log())
    unconstrained = mcmc._samples["scale"]
    torch.testing.assert_close(mcmc.get_samples(group_by_chain=True)["scale"],
                               unconstrained.exp())


def test_run_is_hidden_from_enclosing_handlers():
    pyro.set_rng_seed(7)
    with poutine.trace() as tr:
        mcmc = MCMC(NUTS(small_model), num_samples=3, warmup_steps=2, disable_progbar=True)
        mcmc.run()
    assert len(tr.trace.nodes) == 0
