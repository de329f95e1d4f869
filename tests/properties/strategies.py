"""Hypothesis strategies for "any input": arbitrary JSON, values shaped by a model's JSON schema
(mostly valid, so the rules behind the schema get exercised too), and near-misses of a valid
sample (one field dropped, replaced or added).

The schema walker covers the JSON-schema subset pydantic emits for the platform's models:
objects, arrays, strings (length, pattern, date and date-time formats), numbers, booleans,
null, enums, consts, ``anyOf``/``oneOf`` and local ``$ref``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

Json = Any
Model = TypeVar("Model", bound=BaseModel)
INT64 = 2**63 - 1
"""JSON on the platform's wire (orjson) carries 64-bit integers; a schema without bounds gets
these."""

quick = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
"""Enough examples to find the usual crash, few enough to keep tests/properties under a minute."""

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Json]:
    """Any JSON document (what a careless or hostile sender may put in a body)."""
    return st.recursive(
        _scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def aware_datetimes() -> st.SearchStrategy[datetime]:
    offsets = st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5))])
    return st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2030, 12, 31), timezones=offsets
    )


def from_schema(
    schema: dict[str, Any], root: dict[str, Any] | None = None
) -> st.SearchStrategy[Json]:
    """Values shaped by ``schema``: every required property, some optional ones."""
    root = root if root is not None else schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return st.deferred(lambda: from_schema(root["$defs"][name], root))
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([from_schema(option, root) for option in schema[key]])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([from_schema({**schema, "type": one}, root) for one in kind])
    if kind == "object":
        return _object(schema, root)
    if kind == "array":
        items = from_schema(schema.get("items", {}), root)
        low = schema.get("minItems", 0)
        return st.lists(items, min_size=low, max_size=schema.get("maxItems", low + 3))
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        low, high = _bounds(schema, 1)
        return st.integers(
            -INT64 if low is None else max(low, -INT64), INT64 if high is None else high
        )
    if kind == "number":
        low, high = _bounds(schema, 1)
        return st.floats(low, high, allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return json_values(4)


def _object(schema: dict[str, Any], root: dict[str, Any]) -> st.SearchStrategy[Json]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    fixed = {name: from_schema(sub, root) for name, sub in properties.items() if name in required}
    optional = {
        name: from_schema(sub, root) for name, sub in properties.items() if name not in required
    }
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and not properties:
        keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=8)
        return st.dictionaries(keys, from_schema(extra, root), max_size=4)
    return st.fixed_dictionaries(fixed, optional=optional)


def _string(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    fmt = schema.get("format")
    if fmt == "date-time":
        return aware_datetimes().map(datetime.isoformat)
    if fmt == "date":
        return st.dates().map(lambda day: day.isoformat())
    if "pattern" in schema:
        matches = st.from_regex(schema["pattern"], fullmatch=True)
        return matches.filter(lambda s: len(s) >= low and (high is None or len(s) <= high))
    return st.text(min_size=low, max_size=high if high is not None else max(low, 40))


def _bounds(schema: dict[str, Any], step: int) -> tuple[int | None, int | None]:
    low = schema.get("minimum")
    if "exclusiveMinimum" in schema:
        low = schema["exclusiveMinimum"] + step
    high = schema.get("maximum")
    if "exclusiveMaximum" in schema:
        high = schema["exclusiveMaximum"] - step
    return low, high


@st.composite
def near_misses(draw: st.DrawFn, sample: dict[str, Any]) -> dict[str, Any]:
    """A valid sample with one top-level field dropped, replaced by any JSON, or one added."""
    changed = dict(sample)
    action = draw(st.sampled_from(["drop", "replace", "add"]))
    if action == "add" or not changed:
        changed[draw(st.text(max_size=12))] = draw(json_values(4))
        return changed
    field = draw(st.sampled_from(sorted(changed)))
    if action == "drop":
        del changed[field]
    else:
        changed[field] = draw(json_values(4))
    return changed


def any_input(model: type[BaseModel], *samples: dict[str, Any]) -> st.SearchStrategy[Json]:
    """What a property test feeds a model: anything, schema-shaped values, near misses."""
    options = [json_values(), shaped_like(model), *[near_misses(s) for s in samples]]
    return st.one_of(options)


@cache
def shaped_like(model: type[BaseModel]) -> st.SearchStrategy[Json]:
    """Values shaped by the model's JSON schema (built once per model)."""
    return from_schema(model.model_json_schema())


def valid(model: type[Model], *samples: dict[str, Any]) -> st.SearchStrategy[Model]:
    """Bodies the model accepts: the samples, and schema-shaped values that happen to be valid."""

    def parsed(value: Json) -> st.SearchStrategy[Model]:
        try:
            return st.just(model.model_validate(value))
        except ValidationError:
            return st.nothing()

    return st.one_of(*[st.just(s) for s in samples], shaped_like(model)).flatmap(parsed)


def any_body_is_valid_or_a_validation_error(
    samples: dict[type[BaseModel], dict[str, Any]],
) -> Callable[..., None]:
    """The test that each body model, fed any input (near misses of its sample too), gives a
    valid body or a ValidationError, never another error; one case per model."""

    @pytest.mark.parametrize("body", list(samples), ids=lambda m: m.__name__)
    @quick
    @given(data=st.data())
    def test(body: type[BaseModel], data: st.DataObject) -> None:
        with contextlib.suppress(ValidationError):
            body.model_validate(data.draw(any_input(body, samples[body])))

    given_test: Callable[..., None] = test  # Hypothesis's decorators return Any
    return given_test
