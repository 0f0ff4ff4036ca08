"""CORS (``create_app(cors_origins=...)``, ``natsobj serve --cors-origin``): what a
browser asks before and with a storage-js call from a page on another origin."""

from __future__ import annotations

import httpx
import pytest

import natsobj
from natsobj.gateway import create_app

from .conftest import SECRET, serving, token

pytestmark = pytest.mark.anyio
APP = "https://app.example.com"
PREFLIGHT = {
    "Origin": APP,
    "Access-Control-Request-Method": "PUT",
    "Access-Control-Request-Headers": "authorization, apikey, x-upsert, content-type",
}


async def test_preflights_and_answers_carry_cors_for_the_origins_given(
    server: natsobj.EmbeddedServer,
) -> None:
    app = create_app(server.url, jwt_secret=SECRET, cors_origins=[APP])
    async with serving(app) as gateway, httpx.AsyncClient(base_url=gateway.url) as http:
        url = "/storage/v1/object/no-such-bucket/a.txt"
        answer = await http.options(url, headers=PREFLIGHT)
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == APP
        assert "PUT" in answer.headers["access-control-allow-methods"]
        allowed = answer.headers["access-control-allow-headers"].lower()
        assert {"authorization", "apikey", "x-upsert"} <= {h.strip() for h in allowed.split(",")}
        assert "access-control-allow-credentials" not in answer.headers

        other = await http.options(url, headers={**PREFLIGHT, "Origin": "https://evil.example"})
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers

        # An error answer is marked too, so the page can read why.
        auth = {"Authorization": f"Bearer {token('authenticated')}", "Origin": APP}
        missing = await http.get(url, headers=auth)
        assert missing.status_code == 400
        assert missing.json()["statusCode"] == "404"
        assert missing.headers["access-control-allow-origin"] == APP
        assert missing.headers["access-control-expose-headers"] == "*"


async def test_no_cors_unless_asked(server: natsobj.EmbeddedServer) -> None:
    app = create_app(server.url, jwt_secret=SECRET)
    async with serving(app) as gateway, httpx.AsyncClient(base_url=gateway.url) as http:
        answer = await http.get("/health", headers={"Origin": APP})
        assert answer.status_code == 200
        assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize(
    "origins",
    [["app.example.com"], ["https://a.example/x"], ["ftp://a.example"], "https://a.example", [1]],
)
def test_bad_origins_are_refused(server: natsobj.EmbeddedServer, origins: object) -> None:
    with pytest.raises(natsobj.InvalidArgumentError, match="origin"):
        create_app(server.url, cors_origins=origins)  # type: ignore[arg-type]
