"""pyro-core's own plugin: registers the built-in effect handlers, as a third party would."""
from pyro.plugins import hookimpl


@hookimpl
def pyro_register_handlers(registry) -> None:
    from pyro import poutine

    for name in poutine.__all__:
        obj = getattr(poutine, name)
        if callable(obj) and not isinstance(obj, type(poutine)) and name != "apply_stack" \
                and name != "effectful" and name != "NonlocalExit":
            registry.add(name, obj)
