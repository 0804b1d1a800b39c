"""Turn a msgspec validation message into one a user can act on.

msgspec says ``Object contains unknown field `allow_list` - at `$.enforce```;
we say ``enforce.allow_list: unknown key, did you mean `allow`? (valid keys: ...)``.
The schema is walked alongside the data so the message can name a table's key
(msgspec writes ``[...]`` for it), list the valid keys and quote the bad value.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

import msgspec
import msgspec.inspect as mi

from shieldwall.config.types import dec_hook

_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")
_FIELD = re.compile(r"^Object (contains unknown|missing required) field `([^`]*)`$")
_NAMES = {
    "int": "a whole number",
    "float": "a number",
    "str": "a string",
    "bool": "true or false",
    "array": "a list",
    "object": "a table",
    "null": "nothing",
}
_MISSING = object()


def explain(message: str, data: object, schema: type, where: str = "") -> str:
    """``<key path>: <what is wrong>`` for a msgspec ``ValidationError`` message."""
    match = _AT.match(message)
    assert match is not None  # the pattern matches any text
    text, raw_path = match.group("message"), match.group("path") or ""
    info, value, path, field = _walk(mi.type_info(schema), data, raw_path, where)
    keyed = _FIELD.match(text)
    if keyed is not None:
        name = keyed.group(2)
        key = f"{path}.{name}" if path else name
        struct = _unwrap(info)
        valid = [f.encode_name for f in struct.fields] if isinstance(struct, mi.StructType) else []
        if keyed.group(1) == "contains unknown":
            near = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
            guess = f", did you mean `{near[0]}`?" if near else ""
            return f"{key}: unknown key{guess} (valid keys: {', '.join(sorted(valid)) or 'none'})"
        fields = struct.fields if isinstance(struct, mi.StructType) else ()
        missing = next((f for f in fields if f.encode_name == name), None)
        return _with_hint(key, "required key is missing", missing)
    return _with_hint(path or "(top level)", _reword(text, info, value), field)


def _walk(
    info: mi.Type, value: object, raw_path: str, where: str
) -> tuple[mi.Type, object, str, mi.Field | None]:
    path, field = where, None
    for step in _STEP.finditer(raw_path):
        name, index = step.groups()
        info = _unwrap(info)
        if name is not None and isinstance(info, mi.StructType):
            field = next((f for f in info.fields if f.encode_name == name), None)
            info = field.type if field is not None else mi.AnyType()
            value = value.get(name, _MISSING) if isinstance(value, dict) else _MISSING
            path = f"{path}.{name}" if path else name
        elif index == "..." and isinstance(info, mi.DictType):
            info, field = info.value_type, None
            key, value = _failing_entry(info, value)
            path = f"{path}.{key}" if path else key
        elif index is not None and index.isdigit():
            info = getattr(info, "item_type", mi.AnyType())
            field = None
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else _MISSING
            path += f"[{index}]"
            if isinstance(value, dict) and isinstance(value.get("name"), str):
                path += f" ({value['name']})"
    return info, value, path, field


def _failing_entry(info: mi.Type, table: object) -> tuple[str, object]:
    """The key of ``table`` whose value does not fit ``info`` (msgspec only says ``[...]``)."""
    if not isinstance(table, dict):
        return "?", _MISSING
    kind = getattr(_unwrap(info), "cls", None)
    for key, item in table.items():
        try:
            if kind is not None:
                msgspec.convert(item, kind, dec_hook=dec_hook)
        except msgspec.ValidationError:
            return str(key), item
    return "?", _MISSING


def _unwrap(info: mi.Type) -> mi.Type:
    while True:
        if isinstance(info, mi.Metadata):
            info = info.type
        elif isinstance(info, mi.UnionType):
            parts = [t for t in info.types if not isinstance(t, mi.NoneType)]
            if len(parts) != 1:
                return info
            info = parts[0]
        else:
            return info


def _reword(text: str, info: mi.Type, value: object) -> str:
    shown = _show(value)
    if text.startswith("Invalid enum value"):
        literal = _unwrap(info)
        if isinstance(literal, mi.LiteralType):
            options = ", ".join(str(v) for v in literal.values)
            return f"must be one of {options}; got {shown}"
        return f"not an accepted value: {shown}"
    if not text.startswith("Expected `"):
        return text  # a hook's own message: already worded for people

    def name(found: re.Match[str]) -> str:
        return " or ".join(_NAMES.get(part, part) for part in found.group(1).split(" | "))

    worded = re.sub(r"`([^`]*)`", name, text.replace("Expected ", "must be ", 1))
    worded = re.sub(r", got .*$", "", worded)
    return f"{worded}, got {shown}" if value is not _MISSING else worded


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _with_hint(key: str, text: str, field: Any) -> str:
    hint = None
    if field is not None and isinstance(field.type, mi.Metadata):
        hint = (field.type.extra_json_schema or {}).get("description")
    return f"{key}: {hint} ({text})" if hint else f"{key}: {text}"
