"""SyntheticDataService: translates proto <-> job <-> engine, nothing else."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import grpc

from parley.synth.v1 import synth_service_pb2 as pb
from parley.synth.v1 import synth_service_pb2_grpc as pb_grpc
from services.common.errors import ParleyError
from services.common.values import from_python
from services.synth.engine import Engine, Tally
from services.synth.providers.base import Provider
from services.synth.request import Job, build_job
from services.synth.settings import SynthSettings


class SyntheticDataServicer(pb_grpc.SyntheticDataServiceServicer):
    def __init__(self, engine: Engine, settings: SynthSettings) -> None:
        self._engine = engine
        self._settings = settings

    async def _job(self, request: pb.GenerateSyntheticDataRequest | pb.StreamSyntheticDataRequest,
                   streaming: bool) -> Job:
        job = build_job(request.payload, request.config, self._settings, streaming=streaming,
                        providers=list(self._engine.providers))
        return dataclasses.replace(job, model=await self._engine.providers[job.provider].model_for(job.model))

    async def GenerateSyntheticData(
        self, request: pb.GenerateSyntheticDataRequest, context: grpc.aio.ServicerContext
    ) -> pb.GenerateSyntheticDataResponse:
        job = await self._job(request, streaming=False)
        tally = Tally()
        produced = [item async for item in self._engine.run(job, tally)]
        produced.sort(key=lambda item: item.index)  # slot order: a seeded run reproduces exactly
        return pb.GenerateSyntheticDataResponse(
            data=[from_python(item.record) for item in produced],
            provider=job.provider, model=job.model, usage=_usage(tally), metadata=_metadata(job, tally),
        )

    async def StreamSyntheticData(
        self, request: pb.StreamSyntheticDataRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.StreamSyntheticDataResponse]:
        job = await self._job(request, streaming=True)
        tally = Tally()
        sent = 0
        try:
            async for item in self._engine.run(job, tally):
                sent += 1
                yield pb.StreamSyntheticDataResponse(record=pb.RecordEvent(
                    index=item.index, data=from_python(item.record), produced=sent, requested=job.count))
        except ParleyError as exc:
            if sent == 0:
                raise  # nothing sent yet: a plain error status, as the unary call answers
            # After the first record an HTTP/1.1 client of the transcoded stream can see
            # no status any more: the error travels as the last event.
            yield pb.StreamSyntheticDataResponse(
                error=pb.ErrorEvent(status=exc.http_status, message=exc.message))
            return
        yield pb.StreamSyntheticDataResponse(done=pb.DoneEvent(
            provider=job.provider, model=job.model, usage=_usage(tally), metadata=_metadata(job, tally)))


    async def ListModels(self, request: pb.ListModelsRequest,
                         context: grpc.aio.ServicerContext) -> pb.ListModelsResponse:
        listed = await asyncio.gather(*(_models(name, p) for name, p in self._engine.providers.items()))
        return pb.ListModelsResponse(providers=listed)


async def _models(name: str, provider: Provider) -> pb.ProviderModels:
    try:
        models = await provider.models()
    except ParleyError as exc:
        return pb.ProviderModels(provider=name, reachable=False, error=exc.message,
                                 default_model=provider.default_model)
    return pb.ProviderModels(provider=name, reachable=True, models=models, default_model=provider.default_model)


def _usage(tally: Tally) -> pb.Usage:
    return pb.Usage(input_tokens=tally.input_tokens, output_tokens=tally.output_tokens,
                    total_tokens=tally.input_tokens + tally.output_tokens)


def _metadata(job: Job, tally: Tally) -> pb.Metadata:
    return pb.Metadata(
        count=tally.produced,
        validation_passed=tally.produced == job.count,
        requested=job.count,
        failed_attempts=tally.failed_attempts,
        schema_draft=job.plan.draft,
        failures=tally.failures,
        diversity=pb.Diversity(distinct_values={name: len(values) for name, values in tally.values.items()},
                               near_duplicates=tally.failures.get("near_duplicate", 0)),
    )
