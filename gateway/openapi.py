"""OpenAPI 3.1 for Parley's REST face, generated from the descriptor set's google.api.http
annotations (what the gateway's transcoder serves), with the protos' comments as descriptions.

    python -m gateway.openapi build/parley.pb > build/openapi.json   (make proto does this)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from google.api import (
    annotations_pb2,
    field_behavior_pb2,
    http_pb2,
)
from google.protobuf import descriptor_pb2
from validate import validate_pb2

from parley.api.v1 import field_pb2

F = descriptor_pb2.FieldDescriptorProto
_SCALARS: dict[int, dict[str, Any]] = {
    F.TYPE_STRING: {"type": "string"}, F.TYPE_BOOL: {"type": "boolean"},
    F.TYPE_INT32: {"type": "integer", "format": "int32"}, F.TYPE_SINT32: {"type": "integer", "format": "int32"},
    F.TYPE_UINT32: {"type": "integer", "format": "int32", "minimum": 0},
    # proto3 JSON writes 64-bit integers as strings.
    F.TYPE_INT64: {"type": "string", "format": "int64"}, F.TYPE_UINT64: {"type": "string", "format": "uint64"},
    F.TYPE_DOUBLE: {"type": "number"}, F.TYPE_FLOAT: {"type": "number"},
    F.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    ".google.protobuf.Value": {"description": "Any JSON value."},
    ".google.protobuf.Struct": {"type": "object"},
    ".google.protobuf.ListValue": {"type": "array"},
}
# The gateway's bound on a request body (gateway/render.py MAX_REQUEST_BYTES; a test keeps them alike).
MAX_BODY_BYTES = 1024 * 1024
_ERRORS = {"400": "The request is not valid; the message names the field",
           "401": "Missing, unknown, revoked or expired key", "403": "The key lacks the method's scope",
           "404": "Not found", "409": "Conflict",
           "413": f"Request too large: a body over {MAX_BODY_BYTES:,} bytes (JSON Schema cannot bound a body's "
                  "size), or more than this deployment's limit of entities or records",
           "429": "Rate limit; see Retry-After", "503": "A dependency is unavailable; see Retry-After",
           "504": "A dependency timed out"}
# Which credentials each service takes (services/common/keys.py: INGEST_FORMS, SYNTH_FORMS).
_SECURITY: dict[str, list[dict[str, list[str]]]] = {"parley.synth.v1": [{"bearer": []}, {"basic": []}]}
_DEFAULT_SECURITY: list[dict[str, list[str]]] = [{"apiKey": []}, {"basic": []}]


class _Files:
    """Messages, enums and comments of a FileDescriptorSet, by full name."""

    def __init__(self, files: list[descriptor_pb2.FileDescriptorProto]) -> None:
        self.files = files
        self.messages: dict[str, descriptor_pb2.DescriptorProto] = {}
        self.enums: dict[str, descriptor_pb2.EnumDescriptorProto] = {}
        self.comments: dict[tuple[str, tuple[int, ...]], str] = {}
        for file in files:
            for location in file.source_code_info.location:
                if location.leading_comments:
                    self.comments[(file.name, tuple(location.path))] = location.leading_comments.strip()
            self._index(f".{file.package}" if file.package else "", file.message_type, file.enum_type)
        self.message_paths = {name: path for name, path in self._paths()}
        # Item schemas of repeated request fields, by component name (see _nested_items).
        self.items: dict[str, dict[str, Any]] = {}

    def _index(self, scope: str, messages: Any, enums: Any) -> None:
        for enum in enums:
            self.enums[f"{scope}.{enum.name}"] = enum
        for message in messages:
            name = f"{scope}.{message.name}"
            self.messages[name] = message
            self._index(name, message.nested_type, message.enum_type)

    def _paths(self) -> list[tuple[str, tuple[str, tuple[int, ...]]]]:
        found: list[tuple[str, tuple[str, tuple[int, ...]]]] = []
        for file in self.files:
            for i, message in enumerate(file.message_type):
                found.append((f".{file.package}.{message.name}", (file.name, (4, i))))
        return found

    def comment(self, key: tuple[str, tuple[int, ...]] | None) -> str:
        """The element's leading comment, less lines meant for buf's linter."""
        text = self.comments.get(key, "") if key else ""
        lines = (line for line in text.split("\n") if not line.strip().startswith("buf:lint:"))
        return "\n".join(lines).strip()


def _string_rules(rules: validate_pb2.StringRules) -> dict[str, Any]:
    """validate.rules' string rules as JSON Schema keywords."""
    found: dict[str, Any] = {}
    if getattr(rules, "in"):
        found["enum"] = list(getattr(rules, "in"))
    if rules.HasField("min_len"):
        found["minLength"] = rules.min_len
    if rules.HasField("max_len"):
        found["maxLength"] = rules.max_len
    if rules.HasField("pattern"):
        found["pattern"] = rules.pattern
    return found


def _number_rules(rules: Any) -> dict[str, Any]:
    return {keyword: getattr(rules, name) for name, keyword in (("gte", "minimum"), ("lte", "maximum"))
            if rules.HasField(name)}


def _scalar_rules(rules: validate_pb2.FieldRules) -> dict[str, Any]:
    kind = rules.WhichOneof("type")
    if kind == "string":
        return _string_rules(rules.string)
    if kind in ("int32", "double"):
        return _number_rules(getattr(rules, kind))
    return {}


def _value_shape(shape: field_pb2.ValueShape) -> dict[str, Any]:
    """A Value holding an array of one message, that array as a JSON string, or none."""
    array = {"type": "array", "maxItems": shape.max_items,
             "items": {"$ref": f"#/components/schemas/{_schema_name('.' + shape.items)}"}}
    # A custom format: a validator that does not know it accepts any string, as JSON Schema says.
    written = {"type": "string", "format": f"json-{shape.items.rsplit('.', 1)[-1].lower()}-array",
               "contentMediaType": "application/json", "contentSchema": array,
               "description": "The same array written as a JSON string; \"\" for none."}
    return {"anyOf": [array, written, {"type": "null"}]}


def _field_schema(files: _Files, field: descriptor_pb2.FieldDescriptorProto) -> dict[str, Any]:
    options = field.options
    rules = options.Extensions[validate_pb2.rules]
    if options.Extensions[field_pb2.value].items:
        return _value_shape(options.Extensions[field_pb2.value])
    if fixed := options.Extensions[field_pb2.fixed_bool]:
        # The message, with some of its flags fixed in this request.
        flags = {rule.field: {"enum": [rule.value, None]} for rule in fixed}
        names = {f.name: f.json_name for f in files.messages[field.type_name].field}
        ref = {"$ref": f"#/components/schemas/{_schema_name(field.type_name)}"}
        return {"allOf": [ref, {"properties": {names[n]: v for n, v in flags.items()}}]}
    if field.type == F.TYPE_MESSAGE:
        entry = files.messages.get(field.type_name)
        if entry is not None and entry.options.map_entry:
            return {"type": "object", "additionalProperties": _field_schema(files, entry.field[1])}
        schema = _WELL_KNOWN.get(field.type_name) or {"$ref": f"#/components/schemas/{_schema_name(field.type_name)}"}
    elif field.type == F.TYPE_ENUM:
        schema = {"type": "string", "enum": [v.name for v in files.enums[field.type_name].value]}
    else:
        schema = dict(_SCALARS[field.type])
        schema.update(_scalar_rules(rules.repeated.items if field.label == F.LABEL_REPEATED else rules))
        if options.Extensions[field_pb2.format]:
            schema["format"] = options.Extensions[field_pb2.format]
    if field.label == F.LABEL_REPEATED:
        array: dict[str, Any] = {"type": "array", "items": schema}
        for name, keyword in (("min_items", "minItems"), ("max_items", "maxItems")):
            if rules.repeated.HasField(name):
                array[keyword] = getattr(rules.repeated, name)
        return array
    if rules.string.ignore_empty and field.type == F.TYPE_STRING and set(schema) - {"type", "maxLength"}:
        # Empty (or null) means absent: the rules hold for a value that is given.
        constraints = {k: v for k, v in schema.items() if k != "type"}
        return {"type": ["string", "null"], "anyOf": [{"maxLength": 0}, constraints]}
    return schema


def required(field: descriptor_pb2.FieldDescriptorProto) -> bool:
    return field_behavior_pb2.REQUIRED in field.options.Extensions[field_behavior_pb2.field_behavior]


def _query_schema(files: _Files, field: descriptor_pb2.FieldDescriptorProto) -> dict[str, Any]:
    """A query parameter: absent when empty, so its rules hold for a value that is given."""
    schema = _field_schema(files, field)
    return schema | {"type": "string"} if "anyOf" in schema else schema


def _schema_name(full_name: str) -> str:
    return full_name.lstrip(".").replace(".", "_")


def _required_when(message: descriptor_pb2.DescriptorProto, rule: field_pb2.RequiredWhen) -> dict[str, Any]:
    names = {f.name: f.json_name for f in message.field}
    return {"if": {"properties": {names[rule.when]: {"enum": list(rule.values)}}, "required": [names[rule.when]]},
            "then": {"properties": {names[rule.field]: {"type": "string", "minLength": 1}},
                     "required": [names[rule.field]]}}


def _nested_items(files: _Files, name: str, array: dict[str, Any]) -> dict[str, Any]:
    """The gateway reads an array nested in a repeated field as its items ([["a"], "b"] is
    ["a", "b"]): each item may be an item, or an array of such items, as deep as it goes."""
    ref = {"$ref": f"#/components/schemas/{name}"}
    nested: dict[str, Any] = {"type": "array", "items": ref}
    if "minItems" in array:  # an empty nested array adds nothing toward the least
        nested["minItems"] = 1
    files.items[name] = {"anyOf": [array["items"], nested]}
    return {**array, "items": ref}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """proto3 JSON reads null as a field left out."""
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    if isinstance(kind, list) or {"type": "null"} in schema.get("anyOf", []):
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def _message_schema(files: _Files, full_name: str, in_requests: bool,
                    leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """A message as JSON Schema; `in_requests` where clients send it, `leave_out` the fields a path binds."""
    message = files.messages[full_name]
    where = files.message_paths.get(full_name)
    properties = {}
    for i, field in enumerate(message.field):
        if field.name in leave_out:
            continue
        prop = _field_schema(files, field)
        if in_requests and prop.get("type") == "array":
            prop = _nested_items(files, f"{_schema_name(full_name)}_{field.json_name}_item", prop)
        if in_requests and not required(field):
            prop = _nullable(prop)
        if description := files.comment((where[0], (*where[1], 2, i))) if where else "":
            # A $ref takes no siblings in older tools: wrap it to carry the field's comment.
            prop = {"allOf": [prop], "description": description} if "$ref" in prop else \
                {**prop, "description": description}
        properties[field.json_name] = prop
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if names := [f.json_name for f in message.field if required(f) and f.name not in leave_out]:
        schema["required"] = names
    if conditions := [_required_when(message, rule) for rule in message.options.Extensions[field_pb2.required_when]]:
        schema["allOf"] = conditions
    if in_requests:
        # Fields it does not name are ignored, but a key must have a name.
        schema["propertyNames"] = {"minLength": 1}
    if description := files.comment(where):
        schema["description"] = description
    return schema


# The media types of the methods that answer, or take, raw bodies (google.api.HttpBody).
_RAW_BODIES = {"ExportConversations": ("application/x-ndjson", "text/csv")}
_RAW_REQUESTS = {"ImportConversations": "application/x-ndjson"}


def _first_sentence(comment: str) -> str:
    text = " ".join(comment.split())
    return text.split(". ")[0].rstrip(".")


def _operation(files: _Files, package: str, service: Any, method: Any, where: tuple[str, tuple[int, ...]],
               rule: http_pb2.HttpRule) -> tuple[str, str, dict[str, Any]]:
    verb = rule.WhichOneof("pattern")
    template = getattr(rule, verb)
    request = files.messages[method.input_type]
    by_proto = {f.name: f for f in request.field}
    in_path = re.findall(r"\{(\w+)\}", template)
    path = re.sub(r"\{(\w+)\}", lambda m: "{" + by_proto[m.group(1)].json_name + "}", template)
    parameters = [{"name": by_proto[name].json_name, "in": "path", "required": True,
                   "schema": _field_schema(files, by_proto[name])} for name in in_path]
    if rule.body != "*":
        parameters += [{"name": f.json_name, "in": "query", "schema": _query_schema(files, f), "required": required(f)}
                       for f in request.field if f.name not in in_path and f.type != F.TYPE_MESSAGE]
    operation: dict[str, Any] = {
        "operationId": method.name, "tags": [service.name],
        "summary": _first_sentence(files.comment(where)), "description": files.comment(where),
        "security": _SECURITY.get(package, _DEFAULT_SECURITY),
        "responses": {"200": {"description": "OK", "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{_schema_name(method.output_type)}"}}}},
            **{code: {"description": text, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}} for code, text in _ERRORS.items()}},
    }
    if method.server_streaming and method.output_type != ".google.api.HttpBody":
        # A transcoded stream: one response message a line.
        operation["responses"]["200"]["content"] = {"application/x-ndjson": operation["responses"]["200"].pop(
            "content")["application/json"] | {"x-parley-stream": "one JSON object a line"}}
    if method.output_type == ".google.api.HttpBody":
        # Raw bodies (HttpBody), streamed: their media types, not the wrapper message.
        operation["responses"]["200"]["content"] = {
            media: {"schema": {"type": "string"}} for media in _RAW_BODIES[method.name]}
    if parameters:
        operation["parameters"] = parameters
    if rule.body == "*" and method.input_type == ".google.api.HttpBody":
        operation["requestBody"] = {"required": True, "content": {_RAW_REQUESTS[method.name]: {
            "schema": {"type": "string", "description": "One JSON object a line, streamed"}}}}
    elif rule.body == "*":
        # The body is the request less what the path binds (a field in both: the body's wins).
        body = _message_schema(files, method.input_type, True, leave_out=tuple(in_path))
        operation["requestBody"] = {"required": "required" in body, "content": {"application/json": {
            "schema": body if in_path else {"$ref": f"#/components/schemas/{_schema_name(method.input_type)}"}}}}
    return path, verb, operation


def _reachable(files: _Files, roots: set[str]) -> set[str]:
    """The messages `roots` hold, themselves included, well-known types left out."""
    found: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in found or name.startswith(".google."):  # well-known, or a raw body
            continue
        message = files.messages[name]
        if not message.options.map_entry:  # a map is an object, not a schema of its own
            found.add(name)
        for field in message.field:
            shape = field.options.Extensions[field_pb2.value]
            pending += [f".{shape.items}"] if shape.items else []
            pending += [field.type_name] if field.type == F.TYPE_MESSAGE else []
    return found


def document(descriptor_set: bytes) -> dict[str, Any]:
    fds = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set)
    files = _Files(list(fds.file))
    paths: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    inputs: set[str] = set()
    for file in files.files:
        if not file.package.startswith("parley."):
            continue
        for s, service in enumerate(file.service):
            for m, method in enumerate(service.method):
                if not method.options.HasExtension(annotations_pb2.http):
                    continue
                rule = method.options.Extensions[annotations_pb2.http]
                where = (file.name, (6, s, 2, m))
                path, verb, operation = _operation(files, file.package, service, method, where, rule)
                paths.setdefault(path, {})[verb] = operation
                used.update({method.input_type, method.output_type})
                inputs.add(method.input_type)
    schemas = {"Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}}
    in_requests = _reachable(files, inputs)
    for name in sorted(_reachable(files, used)):  # every message a request or response holds
        schemas[_schema_name(name)] = _message_schema(files, name, name in in_requests)
    schemas.update(files.items)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Parley", "version": "0.1.0",
                 "description": "Contact-center conversation summaries and synthetic data. Errors are "
                                "always {\"error\": \"<message>\"}; every constraint a field has is "
                                "stated on it, and rules that depend on stored data in each operation."},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items())), "securitySchemes": {
            "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            "bearer": {"type": "http", "scheme": "bearer"},
            "basic": {"type": "http", "scheme": "basic", "description": "Any user name; the API key as password."},
        }},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("descriptor", type=Path)
    args = parser.parse_args()
    json.dump(document(args.descriptor.read_bytes()), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
