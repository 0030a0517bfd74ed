"""pyro-autoguide registers its guides through its own entry point."""
import pyro.infer.autoguide as autoguide
from pyro.plugins import get_registry

GUIDES = ["AutoCallable", "AutoContinuous", "AutoDelta", "AutoDiagonalNormal", "AutoGuide",
          "AutoGuideList", "AutoIAFNormal", "AutoLaplaceApproximation",
          "AutoLowRankMultivariateNormal", "AutoMultivariateNormal", "AutoNormal"]


def test_guides_are_registered():
    reg = get_registry("autoguides")
    assert set(GUIDES) <= set(autoguide.__all__)
    for name in GUIDES + ["init_to_median"]:
        assert reg.get(name) is getattr(autoguide, name)
        assert reg.provider(name) == "autoguide"
