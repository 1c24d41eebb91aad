"""Reading a model's answer: the one JSON value in it, or why there is none to use.

Models that are not grammar-constrained wrap the record in a ```json fence or in prose
("Sure! Here is..."): the value is taken out of either. A value JSON cannot carry on to
the client (NaN, an infinite number such as 1e999, an integer too large for a JSON
number to hold exactly) is refused here, with its reason, before it can break a response.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Integers beyond 2^53 lose digits in a JSON number read as a double (JavaScript, protobuf's Value).
MAX_EXACT_INT = 2**53
# Where a value may start in prose; at most this many places are tried.
_STARTS = re.compile(r"[\[{]")
_MAX_STARTS = 20
_FENCE = re.compile(r"```[A-Za-z]*[ \t]*\n?(.*?)```", re.DOTALL)


class Unusable(ValueError):
    """An answer with no usable JSON value: `kind` names why for metadata.failures."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def _constant(name: str) -> Any:
    raise Unusable("unrepresentable", f"it has {name}, which JSON cannot carry; use a finite number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise Unusable("unrepresentable", f"the number {text[:40]} is too large to be finite; use a smaller one")
    return value


def _int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_EXACT_INT:
        raise Unusable("unrepresentable",
                       f"the integer {text[:40]} is too large for a JSON number to hold exactly; use a smaller one")
    return value


_DECODER = json.JSONDecoder(parse_float=_float, parse_int=_int, parse_constant=_constant)


def value_of(answer: str) -> Any:
    """The JSON value the answer is, or holds in a code fence or in prose around it."""
    text = answer.strip()
    try:
        return _whole(text)
    except json.JSONDecodeError as exc:
        first_problem = exc
    for fenced in _FENCE.findall(text):
        try:
            return _whole(fenced.strip())
        except json.JSONDecodeError:
            continue
    for n, start in enumerate(_STARTS.finditer(text)):
        if n == _MAX_STARTS:
            break
        try:
            value, _ = _DECODER.raw_decode(text, start.start())
        except json.JSONDecodeError:
            continue
        return value
    raise Unusable("not_json", f"it is not a single valid JSON value ({first_problem.msg} at character "
                               f"{first_problem.pos})")


def _whole(text: str) -> Any:
    value, end = _DECODER.raw_decode(text)
    if text[end:].strip():
        raise json.JSONDecodeError("Extra data", text, end)
    return value
