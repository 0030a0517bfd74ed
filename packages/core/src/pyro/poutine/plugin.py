"""pyro-core's own plugin: registers the built-in effect handlers, as a third party would."""
from pyro.plugins import hookimpl

# public names of pyro.poutine that are not handlers
_NOT_HANDLERS = {"apply_stack", "effectful", "NonlocalExit", "enable_validation",
                 "is_validation_enabled", "get_mask", "unwrap"}


@hookimpl
def pyro_register_handlers(registry) -> None:
    from pyro import poutine

    for name in poutine.__all__:
        obj = getattr(poutine, name)
        if callable(obj) and not isinstance(obj, type(poutine)) and name not in _NOT_HANDLERS:
            registry.add(name, obj)
