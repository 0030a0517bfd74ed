"""Parameter storage: the global :class:`ParamStoreDict`."""
from .param_store import (
    ParamStoreDict,
    ParamStoreError,
    module_from_param_with_module_name,
    normalize_param_name,
    param_with_module_name,
    user_param_name,
)

__all__ = [
    "ParamStoreDict",
    "ParamStoreError",
    "module_from_param_with_module_name",
    "normalize_param_name",
    "param_with_module_name",
    "user_param_name",
]
