"""pyro-autoguide registers its guides through its own entry point."""
import pyro.infer.autoguide as autoguide
from pyro.plugins import get_registry


def test_guides_are_registered():
    reg = get_registry("autoguides")
    for name in ("AutoGuide", "AutoNormal", "AutoDelta", "init_to_median"):
        assert reg.get(name) is getattr(autoguide, name)
        assert reg.provider(name) == "autoguide"
