"""``python -m gateway``: daphne's access log only when asked for."""

from __future__ import annotations

import pytest

from gateway.__main__ import access_log_wanted


@pytest.mark.parametrize(
    ("argv", "environ", "wanted"),
    [
        (["-b", "127.0.0.1", "-p", "8000", "gateway.asgi:application"], {}, False),
        (["-p", "8000", "app"], {"GATEWAY_ACCESS_LOG": "0"}, False),
        (["-p", "8000", "app"], {"GATEWAY_ACCESS_LOG": ""}, False),
        (["-p", "8000", "app"], {"GATEWAY_ACCESS_LOG": "1"}, True),
        (["-p", "8000", "app"], {"GATEWAY_ACCESS_LOG": " On "}, True),
        (["--access-log", "-", "app"], {}, True),
        (["--access-log=/tmp/access.log", "app"], {}, True),
    ],
)
def test_the_access_log_is_off_unless_asked_for(
    argv: list[str], environ: dict[str, str], wanted: bool
) -> None:
    assert access_log_wanted(argv, environ) is wanted
