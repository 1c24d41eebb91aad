# The ingest and synth images, from the repository root:
#   docker build -f deploy/docker/service.Dockerfile --target ingest -t parley/ingest .
#   docker build -f deploy/docker/service.Dockerfile --target synth  -t parley/synth .
# No HEALTHCHECK: Kubernetes probes the services' grpc.health.v1 directly.

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY requirements.txt requirements-build.txt ./
RUN python -m venv /venv \
 && /venv/bin/pip install --no-cache-dir -r requirements.txt \
 && /venv/bin/pip install --no-cache-dir "$(grep '^grpcio-tools==' requirements-build.txt)"
COPY proto/ proto/
COPY services/ services/
# Stubs generated here from proto/, never copied in from a developer's machine.
RUN /venv/bin/python -m services.common.protogen --out /src/gen --descriptor /src/parley.pb \
 && /venv/bin/pip uninstall --yes grpcio-tools

FROM python:3.11-slim-bookworm AS runtime
RUN useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin parley
COPY --from=build /venv /venv
COPY --from=build /src/gen /app/gen
COPY services/ /app/services/
ENV PATH=/venv/bin:$PATH \
    PYTHONPATH=/app:/app/gen \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /app
USER 10001:10001

FROM runtime AS ingest
ENV INGEST_LISTEN=0.0.0.0:50051
EXPOSE 50051
CMD ["python", "-m", "services.ingest"]

FROM runtime AS synth
ENV SYNTH_LISTEN=0.0.0.0:50052
EXPOSE 50052
CMD ["python", "-m", "services.synth"]
