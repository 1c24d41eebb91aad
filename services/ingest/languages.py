"""The languages search stems, each with its PostgreSQL stemmer: the one list of them.

Migration 010's parley_ts_config and its index per stemmer, the search (storage/reads.py)
and synth's presets are checked against it (tests/integration/test_contract_sql.py)."""

from __future__ import annotations

STEMMERS = {"es": "spanish", "en": "english", "pt": "portuguese", "fr": "french", "de": "german", "it": "italian"}
# Every other language is searched as written.
UNSTEMMED = "simple"
CONFIGS = (UNSTEMMED, *STEMMERS.values())
