"""The plugin system: registries, namespace fallback, duplicate detection, autoload
switch, listing, and a real third-party plugin package installed with pip."""

import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import pyro
import pyro.plugins as plugins
from pyro import poutine
from pyro.plugins import DuplicateRegistrationError, hookimpl

_spec = importlib.util.spec_from_file_location(
    "scratch_venv", Path(__file__).with_name("scratch_venv.py")
)
scratch_venv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scratch_venv)


class _Tagger(poutine.Messenger):
    def _pyro_sample(self, msg):
        msg["infer"] = {**msg["infer"], "tagged": True}


class HandlerPlugin:
    @hookimpl
    def pyro_register_handlers(self, registry):
        registry.add("tag_sites", _Tagger)


def test_plugin_handler_appears_in_poutine_namespace(hand_registered):
    hand_registered(HandlerPlugin(), "tagger-plugin")
    assert poutine.tag_sites is _Tagger
    reg = plugins.get_registry("handlers")
    assert reg.provider("tag_sites") == "tagger-plugin"
    tr = poutine.trace(
        poutine.tag_sites(lambda: pyro.sample("x", torch.distributions.Normal(0.0, 1.0)))
    ).get_trace()
    assert tr.nodes["x"]["infer"]["tagged"] is True


def test_missing_name_is_an_attribute_error_that_says_where_to_look():
    with pytest.raises(AttributeError, match="no installed plugin registered handlers 'no_such'"):
        poutine.no_such


def test_two_plugins_registering_one_name_is_an_error_naming_both(hand_registered):
    class Other:
        @hookimpl
        def pyro_register_handlers(self, registry):
            registry.add("tag_sites", lambda fn: fn)

    hand_registered(HandlerPlugin(), "first-plugin")
    hand_registered(Other(), "second-plugin")
    # pluggy calls the later-registered plugin first, so the first one is the intruder
    with pytest.raises(DuplicateRegistrationError, match="second-plugin.*first-plugin"):
        plugins.get_registry("handlers")


def test_first_party_handlers_register_through_their_entry_point():
    reg = plugins.get_registry("handlers")
    assert reg.get("trace") is poutine.trace
    assert reg.provider("trace") == "core"
    listing = plugins.format_plugins()
    assert f"core  [pyro-core {importlib.metadata.version('pyro-core')}]" in listing


def test_event_hooks_are_skipped_when_no_plugin_implements_them(hand_registered):
    assert plugins.event_hook("pyro_mcmc_sample") is None
    seen = []

    class Listener:
        @hookimpl
        def pyro_mcmc_sample(self, kernel, params, stage, i, chain_id):
            seen.append((stage, i))

    hand_registered(Listener(), "listener")
    hook = plugins.event_hook("pyro_mcmc_sample")
    hook(kernel=None, params={}, stage="sample", i=3, chain_id=0)
    assert seen == [("sample", 3)]


def test_manager_is_built_lazily_and_autoload_can_be_disabled():
    code = textwrap.dedent("""
        import pyro, pyro.plugins.manager as m
        assert m._manager is None, "import pyro must not build the plugin manager"
        print(sorted(pyro.plugins.get_registry("handlers")))
    """)
    env = {**os.environ, "PYRO_DISABLE_PLUGIN_AUTOLOAD": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "[]"
    listing = subprocess.run(
        [sys.executable, "-m", "pyro.plugins"], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert "PYRO_DISABLE_PLUGIN_AUTOLOAD is set" in listing


THIRD_PARTY = {
    "pyproject.toml": """
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [project]
        name = "pyro-hello-plugin"
        version = "1.2.3"
        dependencies = []

        [project.entry-points.pyro]
        hello = "hello_plugin"

        [tool.hatch.build.targets.wheel]
        packages = ["hello_plugin.py"]
        only-include = ["hello_plugin.py"]
    """,
    "hello_plugin.py": """
        import torch
        import pyro
        from pyro import poutine
        from pyro.plugins import hookimpl


        class PriorSampler:
            '''A toy inference algorithm: draws from the prior of the latent sites.'''

            def __init__(self, model, num_samples=100):
                self.model, self.num_samples = model, num_samples

            def run(self, *args, **kwargs):
                draws = {}
                for _ in range(self.num_samples):
                    tr = poutine.trace(self.model).get_trace(*args, **kwargs)
                    for name in tr.stochastic_nodes:
                        draws.setdefault(name, []).append(tr.nodes[name]["value"])
                return {k: torch.stack(v) for k, v in draws.items()}


        class double_scale(poutine.Messenger):
            def _pyro_sample(self, msg):
                msg["scale"] = 2.0 * msg["scale"]


        def prior_runner(model, data, num_samples=1000, seed=0, **options):
            pyro.set_rng_seed(seed)
            return {"samples": PriorSampler(model, num_samples).run(**data), "info": {}}


        @hookimpl
        def pyro_register_inference(registry):
            registry.add("PriorSampler", PriorSampler)


        @hookimpl
        def pyro_register_handlers(registry):
            registry.add("double_scale", double_scale)


        @hookimpl
        def pyro_register_runners(registry):
            registry.add("prior", prior_runner)
    """,
}

MODEL_FILE = """
import torch, pyro
import pyro.distributions as dist

def model(y):
    mu = pyro.sample("mu", dist.Normal(3.0, 0.001))
    pyro.sample("y", dist.Normal(mu, 1.0), obs=y)

data = {"y": torch.tensor(0.5)}
"""


@pytest.mark.slow
def test_third_party_plugin_package_installed_with_pip(tmp_path):
    pytest.importorskip("hatchling", reason="building packages needs hatchling")
    src = tmp_path / "hello-plugin"
    src.mkdir()
    for name, text in THIRD_PARTY.items():
        (src / name).write_text(textwrap.dedent(text))
    env = scratch_venv.ScratchVenv(tmp_path / "venv")
    env.install_editable(scratch_venv.PACKAGES)
    env.pip("install", "--no-deps", "--no-build-isolation", "--no-index", str(src))

    out = env.run(
        textwrap.dedent("""
        import torch, pyro, pyro.infer
        import pyro.distributions as dist
        from pyro import poutine

        def model():
            return pyro.sample("z", dist.Normal(0.0, 1.0))

        draws = pyro.infer.PriorSampler(model, num_samples=5).run()
        print("draws", tuple(draws["z"].shape))
        tr = poutine.trace(poutine.double_scale(model)).get_trace()
        print("scale", tr.nodes["z"]["scale"])
    """)
    ).stdout
    assert "draws (5,)" in out and "scale 2.0" in out

    listing = env.command("pyro", "plugins").stdout
    assert "hello  [pyro-hello-plugin 1.2.3]" in listing
    assert "pyro.infer: PriorSampler" in listing and "pyro fit --algo: prior" in listing

    (tmp_path / "model.py").write_text(MODEL_FILE)
    fit = env.command(
        "pyro",
        "fit",
        str(tmp_path / "model.py"),
        "--algo",
        "prior",
        "--num-samples",
        "200",
        "--no-progress",
    ).stdout
    # the prior of mu is N(3, 0.001): its summary row reads 3.00 throughout
    row = next(line for line in fit.splitlines() if line.strip().startswith("mu"))
    assert row.split()[1:6] == ["3.00", "0.00", "3.00", "3.00", "3.00"], fit
