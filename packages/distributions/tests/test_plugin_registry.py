"""pyro-distributions registers every concrete family it exports, and nothing else."""
import inspect

import torch

import pyro.distributions as dist
from pyro.distributions.plugin import ABSTRACT_TORCH_BASES, PYRO_FAMILIES
from pyro.plugins import get_registry

ABSTRACT = {"TorchDistribution", "Distribution", *ABSTRACT_TORCH_BASES}


def _exported_families():
    for name in dist.__all__:
        obj = getattr(dist, name)
        if inspect.isclass(obj) and issubclass(obj, torch.distributions.Distribution):
            yield name, obj


def test_every_exported_family_is_registered_by_distributions():
    reg = get_registry("distributions")
    for name, obj in _exported_families():
        if name in ABSTRACT:
            assert name not in reg, name
        else:
            assert reg.get(name) is obj, f"add {name} to PYRO_FAMILIES in distributions/plugin.py"
            assert reg.provider(name) == "distributions"


def test_only_distribution_classes_are_registered():
    reg = get_registry("distributions")
    for name, obj, provider in reg.items():
        if provider == "distributions":
            assert issubclass(obj, torch.distributions.Distribution), name
    assert set(PYRO_FAMILIES) <= set(dist.__all__)
    for name in ("constraints", "kl_divergence", "biject_to", "TransformModule"):
        assert name not in reg
