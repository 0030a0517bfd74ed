"""The static declarations of :mod:`pyro.distributions.torch` (read by type checkers) match
the wrappers the module generates at import: the same names with the same bases."""
import ast
import inspect

import pyro.distributions.torch as families


def _static_declarations() -> tuple[dict[str, list[str]], list[str]]:
    tree = ast.parse(inspect.getsource(families))
    block = next(node for node in tree.body if isinstance(node, ast.If)
                 and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
    classes = {node.name: [ast.unparse(base).split(".")[-1] for base in node.bases]
               for node in block.body if isinstance(node, ast.ClassDef)}
    names = next(ast.literal_eval(node.value) for node in block.body
                 if isinstance(node, ast.Assign) and node.targets[0].id == "__all__")
    return classes, names


def test_static_names_are_the_generated_ones():
    classes, names = _static_declarations()
    assert names == families.__all__, (
        "torch.distributions has a family the TYPE_CHECKING block of "
        "pyro/distributions/torch.py does not declare (or the reverse): update the block")
    assert sorted(classes) == sorted(set(names) - {"Independent"})


def test_static_bases_are_the_generated_ones():
    classes, _ = _static_declarations()
    for name, bases in classes.items():
        runtime = [base.__name__ for base in getattr(families, name).__bases__]
        assert bases == runtime, name
