"""A large, plausible data set written by PostgreSQL itself (INSERT ... SELECT from
generate_series: the speed of COPY without shipping the rows), for the scale benchmark.

Every fourth summary is an Agent child of the Conversation before it; languages, media types,
agents, sources and insight titles are skewed the way contact-center data is; dates spread
over 2025; each summary has a Reason and a Resolution (70% with an outcome), one in five an
ActionItem too: about 2.2 insights a summary.
"""

from __future__ import annotations

import asyncio

import asyncpg

# Pseudo-random but repeatable, and independent of n's residues (so of the child and media
# type patterns): PostgreSQL's own hash of the row number, 0..99.
_PICK = "(abs(hashint8(n)) % 100)"
_LANGUAGE = (f"CASE WHEN {_PICK} < 40 THEN 'en' WHEN {_PICK} < 65 THEN 'es' WHEN {_PICK} < 75 THEN 'pt'"
             f" WHEN {_PICK} < 83 THEN 'fr' WHEN {_PICK} < 90 THEN 'de' WHEN {_PICK} < 95 THEN 'it' ELSE 'ja' END")
_MEDIA = ("CASE WHEN abs(hashint8(-n)) % 20 < 10 THEN 'Call' WHEN abs(hashint8(-n)) % 20 < 15 THEN 'Message'"
          " WHEN abs(hashint8(-n)) % 20 < 19 THEN 'Email' ELSE 'Unknown' END")
_PHRASES = {
    "en": ["Customer asked for a refund of a damaged parcel", "Caller could not log in to the mobile app",
           "Customer disputed a roaming charge on the last invoice", "Order arrived late and the box was open",
           "Customer wanted to change the delivery address", "Subscription renewal failed with the saved card"],
    "es": ["El cliente pidió el reembolso de un paquete dañado", "No podía iniciar sesión en la aplicación",
           "Reclamó un cargo de itinerancia en la factura", "El pedido llegó tarde y la caja abierta"],
    "pt": ["O cliente pediu reembolso de uma encomenda danificada", "Não conseguia entrar no aplicativo"],
    "fr": ["Le client a demandé le remboursement d'un colis endommagé", "Impossible de se connecter à l'application"],
    "de": ["Der Kunde verlangte eine Erstattung für ein beschädigtes Paket", "Anmeldung in der App schlug fehl"],
    "it": ["Il cliente ha chiesto il rimborso di un pacco danneggiato", "Non riusciva ad accedere all'app"],
    "ja": ["お客様は破損した荷物の返金を求めた", "アプリにログインできなかった"],
}
REASONS = ["Refund request", "Login problem", "Billing dispute", "Late delivery", "Address change",
           "Payment failed", "Roaming charges", "Cancel subscription", "Damaged item", "Password reset"]
OUTCOMES = ["refunded", "fixed", "escalated"]


def _phrase(language: str) -> str:
    cases = " ".join(
        f"WHEN '{lang}' THEN (ARRAY[{', '.join(_quote(p) for p in phrases)}])[1 + n % {len(phrases)}]"
        for lang, phrases in _PHRASES.items())
    return f"CASE {language} {cases} END"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _reason(n: str) -> str:
    """A Reason title skewed toward the first ones (a few reasons dominate, as they do)."""
    pick = f"(abs(hashint8({n} + 7)) % 100)"
    return f"(ARRAY[{', '.join(_quote(r) for r in REASONS)}])[1 + ({pick} * {pick}) / 1000]"


def _outcome(n: str) -> str:
    return f"CASE WHEN {n} % 10 < 7 THEN (ARRAY[{', '.join(_quote(o) for o in OUTCOMES)}])[1 + {n} % 3] END"


_SUMMARIES = f"""
INSERT INTO summaries (summary_id, summary_type, media_type, language, agent_id, source_id, summary, generated,
                       date_created, conversation_id, content_hash, insights_json, search)
SELECT 'scale-' || n, CASE WHEN n % 4 = 0 THEN 'Agent' ELSE 'Conversation' END, media, language,
       CASE WHEN n % 4 = 0 THEN 'agent-' || ((n * 31) % 500) END, 'source-' || (n % 20),
       phrase || ' (' || n || ')', n % 3 <> 0,
       timestamptz '2025-01-01 00:00:00+00' + n * (interval '1 second' * 31536000 / $3),
       CASE WHEN n % 4 = 0 THEN 'scale-' || (n - 1) END, '\\x00'::bytea,
       '[{{"type":"Reason","title":' || to_json(reason) || ',"description":"The customer said so"}},'
       || '{{"type":"Resolution","title":"Handled","description":"What the agent did"'
       || coalesce(',"outcome":' || to_json(outcome), '') || '}}'
       || CASE WHEN n % 5 = 0 THEN ',{{"type":"ActionItem","title":"Call back","description":"Within two days"}}'
               ELSE '' END || ']',
       setweight(to_tsvector(parley_ts_config(language), phrase || ' (' || n || ')'), 'A')
       || setweight(to_tsvector(parley_ts_config(language), reason || ' The customer said so'), 'B')
FROM (SELECT n, {_LANGUAGE} AS language, {_MEDIA} AS media, {_reason('n')} AS reason, {_outcome('n')} AS outcome
      FROM generate_series($1::bigint, $2::bigint) AS n) AS t,
     LATERAL (SELECT {_phrase('t.language')} AS phrase) AS p
"""

# The summaries and their insights in one statement, as the service writes them (the counts
# kept for stats, migration 009, need a summary's insights in its transaction), each
# summary with the copy of its insights an export reads (migration 013).
_INSIGHTS = f"""
INSERT INTO insights (summary_pk, position, type, title, description, outcome)
SELECT s.id, i.position, i.type, i.title, i.description, i.outcome
FROM (SELECT id, substr(summary_id, 7)::bigint AS n FROM added) AS s,
     LATERAL (VALUES (0, 'Reason', {_reason('s.n')}, 'The customer said so', NULL),
                     (1, 'Resolution', 'Handled', 'What the agent did', {_outcome('s.n')}),
                     (2, 'ActionItem', 'Call back', 'Within two days', NULL)) AS i(position, type, title, description,
                                                                                 outcome)
WHERE i.position < 2 OR s.n % 5 = 0
"""


async def load(conn: asyncpg.Connection, rows: int, chunk: int = 100_000) -> None:
    """Adds `rows` summaries (scale-1 .. scale-N) and their insights, `chunk` at a time
    (a multiple of 4, so each child's parent is in its statement)."""
    await conn.execute("SET synchronous_commit = off")
    await conn.execute("SET maintenance_work_mem = '256MB'")
    for first in range(1, rows + 1, chunk):
        last = min(rows, first + chunk - 1)
        await conn.execute(f"WITH added AS ({_SUMMARIES} RETURNING id, summary_id) {_INSIGHTS}", first, last, rows)
    # Counted as the service would count them within seconds (it may be counting now: wait).
    while await conn.fetchval("SELECT count(*) FROM count_queue"):
        await conn.execute("SELECT parley_merge_counts()")
        await asyncio.sleep(1)
    for table in ("summaries", "insights", "summary_counts", "actor_counts", "title_counts", "count_queue"):
        await conn.execute(f"VACUUM ANALYZE {table}")
