"""``python -m pyro.plugins``: list installed plugins and what each registered."""
from .manager import format_plugins

if __name__ == "__main__":
    print(format_plugins())
