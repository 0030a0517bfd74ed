"""pyro-nn's plugin: registers the seed-era inverse autoregressive flow spellings as
distributions-namespace transforms, so that ``pyro.distributions.InverseAutoRegressiveFlow``
(and ``InverseAutoregressiveFlow``) resolve through the registry fallback."""
from pyro.plugins import hookimpl


@hookimpl
def pyro_register_distributions(registry) -> None:
    from .inverse_autoregressive import InverseAutoRegressiveFlow

    registry.add("InverseAutoRegressiveFlow", InverseAutoRegressiveFlow)
    registry.add("InverseAutoregressiveFlow", InverseAutoRegressiveFlow)
