"""pyro-autoguide registers its guide classes (and only those) through its own entry point."""
import inspect

import pyro.infer.autoguide as autoguide
from pyro.infer.autoguide.plugin import GUIDES
from pyro.plugins import get_registry


def test_guides_are_registered():
    reg = get_registry("autoguides")
    for name in ["AutoCallable", "AutoDelta", "AutoDiagonalNormal", "AutoGuideList",
                 "AutoIAFNormal", "AutoLaplaceApproximation", "AutoLowRankMultivariateNormal",
                 "AutoMultivariateNormal", "AutoNormal", "AutoNormalMessenger"]:
        assert reg.get(name) is getattr(autoguide, name)
        assert reg.provider(name) == "autoguide"


def test_only_concrete_guide_classes_are_registered():
    reg = get_registry("autoguides")
    mine = {name for name, _, provider in reg.items() if provider == "autoguide"}
    assert mine == set(GUIDES)
    for name in mine:
        obj = reg.get(name)
        assert inspect.isclass(obj) and not inspect.isabstract(obj), name
    # bases, initialization strategies and helpers stay plain attributes
    for name in ("AutoGuide", "AutoContinuous", "init_to_median", "mean_field_entropy"):
        assert name not in reg and hasattr(autoguide, name)
