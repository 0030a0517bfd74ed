"""pyro-infer's plugin: registers its algorithms and fitting recipes, as a third party
would (entry point ``pyro.infer.plugin`` in the ``pyro`` group)."""
from pyro.plugins import hookimpl


@hookimpl
def pyro_register_inference(registry) -> None:
    import pyro.infer as infer

    for name in infer.__all__:
        obj = getattr(infer, name)
        if name in _NOT_ALGORITHMS:
            continue
        registry.add(name, obj)


# helpers exported by pyro.infer that are not inference algorithms
_NOT_ALGORITHMS = {"enable_validation", "is_validation_enabled", "fit"}


@hookimpl
def pyro_register_runners(registry) -> None:
    from .fitting import hmc_runner, importance_runner, nuts_runner, svi_runner

    registry.add("svi", svi_runner)
    registry.add("importance", importance_runner)
    registry.add("nuts", nuts_runner)
    registry.add("hmc", hmc_runner)
