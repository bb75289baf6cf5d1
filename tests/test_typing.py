"""Every public function, method and property carries type hints (kmatrix ships py.typed).

The public API is what the listed modules export in ``__all__``, plus the public methods,
properties and operator dunders that kmatrix's own classes define (``KMatrix`` and the
classes it is built from).  Every parameter except ``self``, ``cls``, ``*args`` and
``**kwargs`` needs an annotation, and so does the return.
"""

import importlib
import inspect

import pytest

# Modules whose ``__all__`` is public API; add a module here once its hints are in.
PUBLIC_MODULES = [
    "kmatrix",
    "kmatrix.io",
    "kmatrix.factorize",
    "kmatrix.cuda",
    "kmatrix.testing",
    "kmatrix.testing.strategies",
    "kmatrix.learn",
    "kmatrix.testing.circuits",
]
# Names of a module's __all__ that other modules' lists cover (kmatrix.learn has its own).
SKIP: set[tuple[str, str]] = set()

_DUNDERS = {
    "__init__", "__call__", "__matmul__", "__rmatmul__", "__mul__", "__rmul__", "__add__",
    "__radd__", "__sub__", "__neg__", "__pos__", "__truediv__", "__pow__", "__repr__",
}


def missing_hints(func, skip_first=False):
    """Names of ``func``'s unannotated parameters (and ``"return"``)."""
    func = inspect.unwrap(func)
    sig = inspect.signature(func)
    params = list(sig.parameters.values())
    if skip_first and params:
        params = params[1:]
    missing = [
        p.name for p in params
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and p.annotation is inspect.Parameter.empty
    ]
    if sig.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


def _generated(klass, name):
    """Methods that :mod:`dataclasses` writes carry no hints of the project's."""
    fields = getattr(klass, "__dataclass_params__", None)
    return fields is not None and name in ("__init__", "__repr__", "__eq__")


def _callables_of_class(cls, qualname):
    """Public methods, properties and operator dunders that kmatrix's classes define."""
    seen = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("kmatrix"):
            continue
        for name, attr in vars(klass).items():
            if name in seen or (name.startswith("_") and name not in _DUNDERS):
                continue
            seen.add(name)
            where = f"{qualname}.{name}"
            if isinstance(attr, property):
                yield where, attr.fget, True
            elif isinstance(attr, (staticmethod, classmethod)):
                yield where, attr.__func__, isinstance(attr, classmethod)
            elif inspect.isfunction(attr) and not _generated(klass, name):
                # (methods that dataclasses generate carry no hints of their own)
                yield where, attr, True


def public_callables(modules):
    """``(qualified name, function, skip_first)`` for every public callable of ``modules``."""
    for modname in modules:
        mod = importlib.import_module(modname)
        for name in mod.__all__:
            if (modname, name) in SKIP:
                continue
            obj = getattr(mod, name)
            where = f"{modname}.{name}"
            if inspect.isclass(obj):
                if issubclass(obj, BaseException) or issubclass(obj, tuple):
                    continue  # exceptions; NamedTuples carry annotated fields instead
                yield from _callables_of_class(obj, where)
            elif callable(obj):
                yield where, obj, False


def _ids(items):
    return [where for where, _, _ in items]


CALLABLES = list(public_callables(PUBLIC_MODULES))


@pytest.mark.parametrize("where, func, skip_first", CALLABLES, ids=_ids(CALLABLES))
def test_public_callable_is_annotated(where, func, skip_first):
    assert not missing_hints(func, skip_first), f"{where} lacks hints for {missing_hints(func, skip_first)}"


def test_the_walk_covers_the_kmatrix_api():
    # guard against a walk that silently finds nothing
    names = set(_ids(CALLABLES))
    for required in ["kmatrix.KMatrix.matvec", "kmatrix.KMatrix.__matmul__",
                     "kmatrix.KMatrix.width", "kmatrix.KMatrix.__add__", "kmatrix.dct",
                     "kmatrix.factorize.factorize", "kmatrix.set_workers",
                     "kmatrix.testing.strategies.structured_targets",
                     "kmatrix.cuda.apply_device"]:
        assert required in names


def test_named_tuples_have_annotated_fields():
    from kmatrix.testing.strategies import Circuit, StructuredTarget

    for cls in (Circuit, StructuredTarget):
        assert set(cls.__annotations__) == set(cls._fields)


def test_missing_hints_detects_unannotated_functions():
    def bare(a, b: int, *args, c=1, **kwargs) -> None:
        return None

    def no_return(a: int):
        return a

    assert missing_hints(bare) == ["a", "c"]
    assert missing_hints(no_return) == ["return"]
