"""The console's presets are the spec's example and services/synth/presets.py, not copies that drift."""

from __future__ import annotations

import json
import subprocess
import sys

from services.synth.presets import LANGUAGES, PARLEY_SUMMARY_SCHEMA, console_presets, parley_summaries_prompt
from testkit.spec import SYNTHETIC, curl_example
from tests.conftest import ROOT


def test_the_customer_support_preset_is_the_specs_request() -> None:
    command = curl_example(SYNTHETIC)
    spec = json.loads(command.split("-d '", 1)[1].rsplit("'", 1)[0])
    assert json.loads((ROOT / "console" / "presets" / "customer-support.json").read_text()) == spec


def test_the_parley_summaries_preset_is_generated_from_the_service() -> None:
    printed = subprocess.run([sys.executable, "-m", "services.synth.presets"], capture_output=True, text=True,
                             check=True, cwd=ROOT).stdout
    assert json.loads(printed) == console_presets()
    assert console_presets()["schema"] == PARLEY_SUMMARY_SCHEMA
    assert console_presets()["prompts"]["es"] == parley_summaries_prompt("es")
    assert "Spanish" in console_presets()["prompts"]["es"]
    assert set(console_presets()["languages"]) == set(LANGUAGES)
