"""Built-in requests: the spec's customer-support conversations, and Parley conversation
summaries (a Conversation with its Agent and VirtualAgent children and their insights),
which `python -m parley demo` turns into ingest's entities."""

from __future__ import annotations

from typing import Any

LANGUAGES = {"en": "English", "es": "Spanish", "pt": "Portuguese", "fr": "French", "de": "German",
             "it": "Italian"}

# One contact-center conversation, as Genesys would summarize it. Flat on purpose: small
# models keep to a flat shape far better than to nested arrays of typed objects.
_TEXT = {"type": "string", "minLength": 20, "maxLength": 400}
_TITLE = {"type": "string", "minLength": 3, "maxLength": 80}
PARLEY_SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["mediaType", "summary", "reasonTitle", "reasonDescription", "resolutionTitle",
                 "resolutionDescription", "outcome", "agentSummary"],
    "properties": {
        "mediaType": {"enum": ["Call", "Email", "Message"]},
        "outcome": {"enum": ["Resolved", "Unresolved", "Escalated"]},
        "summary": {**_TEXT, "description": "What the customer wanted and what happened, two or three sentences"},
        "reasonTitle": {**_TITLE, "description": "Why the customer got in touch, a few words"},
        "reasonDescription": {**_TEXT, "description": "The reason in one sentence"},
        "resolutionTitle": {**_TITLE, "description": "What was done, a few words"},
        "resolutionDescription": {**_TEXT, "description": "The resolution in one sentence"},
        "actionItem": {**_TEXT, "description": "A follow-up someone must do, or leave it out"},
        "agentSummary": {**_TEXT, "description": "The human agent's part, in one or two sentences"},
        "virtualAgentSummary": {**_TEXT, "description": "What the bot handled before the agent, or leave it out"},
    },
}


def parley_summaries_prompt(language: str) -> str:
    name = LANGUAGES.get(language, language)
    return (f"Summaries of customer contacts at a contact center (telecom, retail, banking, travel), written "
            f"in {name}. Each is one conversation: why the customer got in touch, what was done, and the "
            f"agent's part. Vary the businesses, the problems and the tone; be specific (products, amounts, "
            f"dates), never generic. Every text field in {name}.")


def console_presets() -> dict[str, Any]:
    """The Parley-summaries preset as the console's build takes it (`python -m services.synth.presets`)."""
    return {"schema": PARLEY_SUMMARY_SCHEMA, "languages": LANGUAGES,
            "prompts": {code: parley_summaries_prompt(code) for code in LANGUAGES}}


if __name__ == "__main__":
    import json
    import sys

    json.dump(console_presets(), sys.stdout, indent=2)
    sys.stdout.write("\n")
