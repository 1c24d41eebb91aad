"""Reads the examples out of the specs in docs/specs/, so tests and benchmarks run them verbatim."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SPECS = Path(__file__).resolve().parents[1] / "docs" / "specs"
CONVERSATIONS = SPECS / "conversations-api.md"
SYNTHETIC = SPECS / "synthetic-data-api.md"


def fenced(path: Path, language: str) -> list[tuple[str, str]]:
    """(nearest heading above, block text) for every ```language block, in order."""
    text = path.read_text()
    blocks = []
    for match in re.finditer(rf"```{language}\n(.*?)```", text, re.S):
        headings = re.findall(r"^#+ (.*)$", text[: match.start()], re.M)
        blocks.append((headings[-1].strip("* ") if headings else "", match.group(1)))
    return blocks


def json_example(path: Path, heading: str) -> Any:
    """The JSON block under the heading that contains `heading`."""
    for title, body in fenced(path, "json"):
        if heading in title:
            return json.loads(body)
    raise LookupError(f"no JSON example under a heading with {heading!r} in {path.name}")


def json_examples(path: Path, heading: str) -> list[Any]:
    return [json.loads(body) for title, body in fenced(path, "json") if heading in title]


def curl_example(path: Path) -> str:
    (_, command), *_ = fenced(path, "bash")
    return command
