"""The generation loop: records in parallel, each validated, re-asked when invalid, yielded as it passes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from services.common import metrics
from services.synth import answers, diversity
from services.synth.providers.base import Call, Completion, Provider
from services.synth.request import Job
from services.synth.schema import canonical

log = logging.getLogger("parley.synth.engine")

_INSTRUCTIONS = (
    "You generate synthetic data. Each reply is exactly one record: one JSON value and nothing else, "
    "no prose, no code fences. Make it realistic and specific, and different from other records."
)
_ANSWER_LIMIT = 4000  # characters of a rejected answer echoed back to the model


@dataclass(frozen=True)
class Produced:
    index: int  # the record's slot, 0 to count-1
    record: Any


@dataclass
class Tally:
    input_tokens: int = 0
    output_tokens: int = 0
    failed_attempts: int = 0
    # Rejected answers by kind ("not_json", "unrepresentable", "schema", "duplicate", "truncated").
    failures: dict[str, int] = field(default_factory=dict)
    produced: int = 0
    # Canonical text of every accepted record: no two returned records are identical.
    seen: set[str] = field(default_factory=set)
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=3))
    near: diversity.NearDuplicates = field(default_factory=diversity.NearDuplicates)
    # The distinct values (canonical JSON) of each watched field among accepted records.
    values: dict[str, set[str]] = field(default_factory=dict)

    def add(self, completion: Completion) -> None:
        self.input_tokens += completion.input_tokens
        self.output_tokens += completion.output_tokens
        metrics.TOKENS.labels("input").inc(completion.input_tokens)
        metrics.TOKENS.labels("output").inc(completion.output_tokens)


_DONE = object()  # a worker has no more slots to fill
_FAILED = object()  # a slot whose every attempt was rejected


class Engine:
    def __init__(self, providers: dict[str, Provider], concurrency: int) -> None:
        self.providers = providers
        self._concurrency = concurrency
        # Shared by every request of this process: Ollama never sees more calls than it has slots.
        self._slots = asyncio.Semaphore(concurrency)

    async def run(self, job: Job, tally: Tally) -> AsyncIterator[Produced]:
        """Yields records as they validate. A failure no retry can fix (Ollama away, model
        missing) is raised; cancelling the consumer cancels every call in flight."""
        queue: asyncio.Queue[object] = asyncio.Queue(maxsize=2 * self._concurrency)
        slots = iter(range(job.count))
        workers = [asyncio.create_task(self._work(job, tally, slots, queue))
                   for _ in range(min(job.count, self._concurrency))]
        finished = 0
        try:
            while finished < len(workers):
                item = await queue.get()
                if item is _DONE:
                    finished += 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    assert isinstance(item, Produced)
                    yield item
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def _work(self, job: Job, tally: Tally, slots: Iterator[int], queue: asyncio.Queue[object]) -> None:
        try:
            for index in slots:  # shared: each slot is taken by exactly one worker
                record = await self._record(job, index, tally)
                if record is not _FAILED:
                    tally.produced += 1
                    metrics.RECORDS.inc()
                    await queue.put(Produced(index, record))
        except Exception as exc:  # handed to the consumer, which raises it
            await queue.put(exc)
        finally:
            await queue.put(_DONE)

    async def _record(self, job: Job, index: int, tally: Tally) -> Any:
        """One record, re-asked with the reason after each invalid answer; _FAILED if none passed."""
        provider = self.providers[job.provider]
        first = messages = _messages(job, index, tally)
        for attempt in range(job.max_retries + 1):
            call = Call(job.model, messages, job.plan.record_schema, job.temperature,
                        _seed(job.seed, index, attempt), job.max_tokens)
            async with self._slots:
                asked = time.perf_counter()
                completion = await provider.complete(call)
                metrics.PROVIDER_SECONDS.labels(provider.name).observe(time.perf_counter() - asked)
            tally.add(completion)
            record, problem, kind = _judge(job, completion, tally)
            metrics.ATTEMPTS.labels("accepted" if problem is None else "rejected").inc()
            if problem is None:
                return record
            tally.failed_attempts += 1
            tally.failures[kind] = tally.failures.get(kind, 0) + 1
            log.info("record %d attempt %d rejected: %s", index, attempt + 1, problem)
            # Only the latest rejected answer goes back: a conversation that grew with every
            # retry outgrew a small model's context (llama-server: 2,048 tokens a slot).
            messages = [
                *first,
                {"role": "assistant", "content": completion.content[:_ANSWER_LIMIT]},
                {"role": "user", "content": f"That answer was rejected: {problem}. "
                                            "Reply with only the corrected JSON record."},
            ]
        return _FAILED


def _judge(job: Job, completion: Completion, tally: Tally) -> tuple[Any, str | None, str]:
    """(record, None, "") for an accepted answer, else (None, the reason told the model, its kind)."""
    if completion.truncated:
        return None, "it was cut off at the model's length limit; write a shorter record", "truncated"
    try:
        record = answers.value_of(completion.content)
    except answers.Unusable as exc:
        return None, exc.reason, exc.kind
    problem = job.plan.problem(record)
    if problem:
        return None, f"it does not follow the schema: {problem}", "schema"
    text = canonical(record)
    if text in tally.seen:
        return None, "it repeats a record already generated; write a different one", "duplicate"
    record_words = diversity.words(record)
    if tally.near.close_to(record_words):
        return None, "it says nearly what a record already generated says; write a different one", "near_duplicate"
    tally.seen.add(text)
    tally.near.add(record_words)
    tally.recent.append(text[:160])
    if isinstance(record, dict):
        for name in job.spread.watched:
            if name in record:
                tally.values.setdefault(name, set()).add(canonical(record[name]))
    return record, None, ""


def _messages(job: Job, index: int, tally: Tally) -> list[dict[str, str]]:
    schema = job.plan.record_schema
    system = _INSTRUCTIONS + (
        f"\nEvery record must satisfy this JSON Schema:\n{json.dumps(schema)}" if schema
        else "\nEvery record is a JSON object."
    )
    user = f"{job.prompt}\n\nWrite record {index + 1} of {job.count}.{job.spread.hint(index)}"
    # Without a seed, a note of recent records steers away from repeats. With one, the
    # note is left out: what else is done by then depends on timing, and a seeded run
    # must reproduce.
    if job.seed is None and tally.recent:
        user += " Records already written begin like this; do not repeat them: " + " | ".join(tally.recent)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _seed(base: int | None, index: int, attempt: int) -> int | None:
    """A distinct, reproducible seed per record and attempt, derived from the caller's."""
    if base is None:
        return None
    digest = hashlib.sha256(f"{base}:{index}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
