"""Envoy's admin interface is out of reach: a private unix socket, and a probes port with two read-only pages."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest
import yaml

from gateway.envoy import Gateway
from gateway.render import PLACES, render


async def test_the_probes_port_serves_only_readiness_and_metrics(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway.probes_port}") as probes:
        ready = await probes.get("/ready")
        metrics = await probes.get("/stats/prometheus")
        refused = [await probes.request(method, path) for method, path in (
            ("POST", "/quitquitquit"), ("POST", "/logging?level=debug"), ("GET", "/logging"),
            ("GET", "/config_dump"), ("GET", "/clusters"), ("POST", "/ready"), ("POST", "/healthcheck/fail"))]

    assert (ready.status_code, ready.text.strip()) == (200, "LIVE")
    assert metrics.status_code == 200 and "envoy_server_live" in metrics.text
    for response in refused:
        assert response.status_code == 404
    assert gateway.alive()
    assert gateway.admin("/ready")[0] == 200  # still up, and still readable by its owner


def test_the_admin_socket_is_private(gateway: Gateway) -> None:
    mode = Path(gateway.workdir / "admin.sock").stat().st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) & 0o077 == 0


@pytest.mark.parametrize("place", sorted(PLACES))
def test_no_place_binds_the_admin_interface_to_a_network_port(place: str) -> None:
    values = {**PLACES["kubernetes"], **PLACES[place], "admin_pipe": "/tmp/a.sock"}
    config = yaml.safe_load(render(values))
    assert set(config["admin"]["address"]) == {"pipe"}
