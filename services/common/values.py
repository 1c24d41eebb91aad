"""google.protobuf.Value <-> plain Python, the shape JSON has; faster than json_format."""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2


def to_python(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return {key: to_python(item) for key, item in value.struct_value.fields.items()}
    if kind == "list_value":
        return [to_python(item) for item in value.list_value.values]
    if kind == "number_value":
        number = value.number_value
        # JSON has one number type and Value holds it as a double: 3 arrives as 3.0.
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind is None or kind == "null_value":
        return None
    return getattr(value, kind)


def struct_to_python(struct: struct_pb2.Struct) -> dict[str, Any]:
    return {key: to_python(item) for key, item in struct.fields.items()}


def from_python(obj: Any) -> struct_pb2.Value:
    value = struct_pb2.Value()
    if obj is None:
        value.null_value = struct_pb2.NULL_VALUE
    elif isinstance(obj, bool):
        value.bool_value = obj
    elif isinstance(obj, int | float):
        value.number_value = obj
    elif isinstance(obj, str):
        value.string_value = obj
    elif isinstance(obj, dict):
        value.struct_value.update(obj)
    elif isinstance(obj, list | tuple):
        value.list_value.extend(obj)
    else:
        raise TypeError(f"not a JSON value: {type(obj).__name__}")
    return value
