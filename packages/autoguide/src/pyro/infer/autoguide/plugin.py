"""pyro-autoguide's plugin: registers its guides and initialization strategies, as a
third party would (entry point ``pyro.infer.autoguide.plugin``)."""
from pyro.plugins import hookimpl


@hookimpl
def pyro_register_autoguides(registry) -> None:
    import pyro.infer.autoguide as autoguide

    for name in autoguide.__all__:
        registry.add(name, getattr(autoguide, name))
