"""Every default port, declared once: service settings, the stack launcher and the cluster config read them here."""

INGEST = 50051
SYNTH = 50052
GATEWAY = 8080
GATEWAY_ADMIN = 9901
# The embedded PostgreSQL of `make run`: off 5432, so it never meets a machine's own server.
LOCAL_POSTGRES = 54329
# Prometheus /metrics of each service, apart from its gRPC port.
INGEST_METRICS = 9464
SYNTH_METRICS = 9465
