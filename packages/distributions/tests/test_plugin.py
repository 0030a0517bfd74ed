"""The package registers itself through the plugin registry like a third party."""
import torch

import pyro.distributions as dist
import pyro.plugins
from pyro.distributions.plugin import pyro_register_distributions


def test_plugin_registers_every_distribution_class():
    registry = pyro.plugins.Registry("distributions")
    pyro_register_distributions(registry)
    names = set(registry)
    assert {"Normal", "Bernoulli", "Delta", "Unit", "Empirical", "BetaBinomial",
            "LKJ", "TransformedDistribution", "MaskedMixture"} <= names
    assert "constraints" not in names and "kl_divergence" not in names
    for name in names:
        assert registry.get(name) is getattr(dist, name)
        assert issubclass(registry.get(name), torch.distributions.Distribution)


def test_namespace_falls_back_to_plugins():
    class ThirdParty:
        @pyro.plugins.hookimpl
        def pyro_register_distributions(self, registry):
            registry.add("ThirdPartyNormal", dist.Normal)

    plugin = ThirdParty()
    pyro.plugins.register(plugin, name="test-third-party-distribution")
    try:
        assert dist.ThirdPartyNormal is dist.Normal
    finally:
        pyro.plugins.unregister(plugin)
    try:
        dist.ThirdPartyNormal
    except AttributeError as e:
        assert "ThirdPartyNormal" in str(e)
    else:
        raise AssertionError("unregistered name still resolves")


def test_public_names():
    for name in dist.__all__:
        assert hasattr(dist, name), name
    import pyro.distributions.torch_distribution as td
    import pyro.distributions.util as util

    assert td.TorchDistributionMixin is dist.TorchDistributionMixin
    for name in ("broadcast_shape", "sum_rightmost", "scale_and_mask", "sum_leftmost"):
        assert callable(getattr(util, name))
