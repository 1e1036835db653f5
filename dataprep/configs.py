"""Turn plain recipe mappings into frozen, validated dataclasses.

Every stage config is a frozen dataclass with type hints and defaults; `from_mapping` checks
unknown keys (suggesting the closest valid one), types, and then lets the class validate its own
invariants in ``__post_init__`` by raising `RecipeError`. Stage modules only declare fields.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, Literal, Mapping, TypeVar, Union, get_args, get_origin, get_type_hints

from dataprep.errors import RecipeError

T = TypeVar("T")


def closest(name: str, candidates: typing.Iterable[str]) -> str | None:
    """The candidate closest to ``name`` (difflib ratio >= 0.6), or None.

    >>> closest("wieght", ["weight", "paths"])
    'weight'
    """
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if origin in (list, tuple):
        args = get_args(tp)
        return f"a list of {_type_name(args[0])}" if args else "a list"
    if origin is dict:
        return "a mapping"
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(tp, str(tp))


def convert(value: Any, tp: Any, key: str) -> Any:
    """Check and convert one recipe value to the annotated type ``tp``; `RecipeError` if it won't."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        errors = []
        for arg in get_args(tp):
            try:
                return convert(value, arg, key)
            except RecipeError as e:
                errors.append(e)
        raise RecipeError(key, _type_name(tp), value)
    if tp is type(None):
        if value is None:
            return None
        raise RecipeError(key, "null", value)
    if origin is Literal:
        allowed = get_args(tp)
        if value in allowed:
            return value
        raise RecipeError(key, _type_name(tp), value, suggestion=closest(str(value), map(str, allowed)))
    if origin in (list, tuple):
        (item_tp, *_) = get_args(tp) or (Any,)
        if isinstance(value, str) and item_tp is str:
            value = [value]  # a single glob where a list is expected
        if not isinstance(value, (list, tuple)):
            raise RecipeError(key, _type_name(tp), value)
        return tuple(convert(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        k_tp, v_tp = get_args(tp) or (str, Any)
        if not isinstance(value, Mapping):
            raise RecipeError(key, "a mapping", value)
        return {convert(k, k_tp, key): convert(v, v_tp, f"{key}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return from_mapping(tp, value, key)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise RecipeError(key, "true or false", value)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise RecipeError(key, "an integer", value)
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise RecipeError(key, "a number", value)
    if tp is str:
        if isinstance(value, str):
            return value
        raise RecipeError(key, "a string", value)
    raise TypeError(f"unsupported recipe type {tp!r} at {key}")


def from_mapping(cls: type[T], mapping: Any, key: str = "") -> T:
    """Build the frozen dataclass ``cls`` from a recipe mapping, checking every key and type.

    ``None`` (an empty YAML section) means all defaults. Raises `RecipeError` naming the full
    dotted key on an unknown key (with the closest valid name), a wrong type or a missing
    required key.
    """
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, Mapping):
        raise RecipeError(key or cls.__name__, "a mapping", mapping)
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    prefix = f"{key}." if key else ""
    for name, value in mapping.items():
        if name not in fields:
            raise RecipeError(
                f"{prefix}{name}",
                "one of " + ", ".join(sorted(fields)),
                "an unknown key",
                suggestion=closest(str(name), fields),
            )
        kwargs[name] = convert(value, hints[name], f"{prefix}{name}")
    for name, f in fields.items():
        if name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise RecipeError(f"{prefix}{name}", f"{_type_name(hints[name])} (required)", "nothing")
    try:
        return cls(**kwargs)
    except RecipeError as e:
        if prefix and not e.key.startswith(prefix):
            raise RecipeError(prefix + e.key, e.expected, e.found, suggestion=e.suggestion, hint=e.hint) from None
        raise


def to_plain(obj: Any) -> Any:
    """A dataclass tree as plain JSON-able data (tuples become lists), for manifests and --dry-run."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    return obj
