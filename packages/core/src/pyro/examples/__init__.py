"""Real models on real data, each a model file for ``pyro fit`` (defining ``model`` and
``data``). The repository's top-level ``examples/`` links to this folder."""
