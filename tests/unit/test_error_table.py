"""One error table: the gateway's Lua filter is rendered from the services' own HTTP_STATUS."""

from __future__ import annotations

import re

import grpc

from gateway.render import PLACES, render
from services.common import errors


def test_the_rendered_gateway_maps_every_code_as_the_services_do() -> None:
    config = render(dict(PLACES["kubernetes"]))
    table = re.search(r"local HTTP_STATUS = \{(.*?)\}", config)
    assert table is not None
    rendered = {int(code): int(status) for code, status in re.findall(r"\[(\d+)\] = (\d+)", table.group(1))}

    expected = {code.value[0]: status for code, status in errors.HTTP_STATUS.items() if code != grpc.StatusCode.OK}
    assert rendered == expected
    assert set(errors.HTTP_STATUS) == set(grpc.StatusCode)


def test_each_error_answers_the_status_its_code_maps_to() -> None:
    assert errors.TooLarge("x").http_status == 413
    assert errors.Unauthenticated().http_status == 401
    assert errors.Unavailable("x").http_status == 503
    assert errors.DeadlineExceeded("x").http_status == 504
