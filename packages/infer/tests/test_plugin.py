"""pyro-infer registers itself through its entry point, like a third party."""
import pyro.infer
from pyro.plugins import get_registry


def test_inference_names_are_registered_by_the_infer_plugin():
    reg = get_registry("inference")
    for name in ("SVI", "Trace_ELBO", "TraceEnum_ELBO", "TraceGraph_ELBO", "Importance",
                 "Predictive", "Search", "MCMC", "NUTS", "infer_discrete"):
        assert reg.get(name) is getattr(pyro.infer, name)
        assert reg.provider(name) == "infer"


def test_only_algorithms_are_registered():
    from pyro.infer.plugin import ALGORITHMS

    reg = get_registry("inference")
    mine = {name for name, _, provider in reg.items() if provider == "infer"}
    assert mine == set(ALGORITHMS)
    # results, bases and helpers stay ordinary attributes of pyro.infer
    for name in ("Marginal", "EmpiricalMarginal", "ELBO", "TracePosterior", "config_enumerate",
                 "fit", "enable_validation", "RBFSteinKernel"):
        assert name not in reg and hasattr(pyro.infer, name)


def test_namespace_falls_back_to_the_registry():
    import pytest

    with pytest.raises(AttributeError, match="NoSuchAlgorithm"):
        pyro.infer.NoSuchAlgorithm  # noqa: B018
