"""``natsobj serve`` settings: flag > env > config file > default, clear errors for a bad
file, HTTPS, and what reaches the workers. uvicorn is replaced by a recorder here; the
last test runs the real command with two workers over HTTPS."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import trustme
import uvicorn
from prometheus_client.parser import text_string_to_metric_families

import natsobj
from natsobj.cli import invoke
from natsobj.cli._serve import app_from_env

from .conftest import SECRET, serving, token
from .test_serve_cli import free_port, stop, wait_ready


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What each ``natsobj serve`` would have started: uvicorn's arguments, the workers'
    config and the metrics directory, instead of a server."""
    for name in list(os.environ):
        if name.startswith(("NATS_", "NATSOBJ_", "OTEL_")) or name == "PROMETHEUS_MULTIPROC_DIR":
            monkeypatch.delenv(name)
    seen: list[dict[str, Any]] = []

    def run(app: str, **kwargs: Any) -> None:
        config = json.loads(os.environ["NATSOBJ_SERVE_CONFIG"])
        metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        seen.append({**kwargs, **config, "metrics_dir": metrics_dir})

    monkeypatch.setattr(uvicorn, "run", run)
    return seen


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_flag_beats_env_beats_file_beats_default(
    runs: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pem = write(tmp_path / "k.pem", "not checked by the parent")
    config = write(
        tmp_path / "gateway.toml",
        f"""
        port = 7001
        workers = 3
        jwt-secret = "from-file"
        anon_key = "anon-from-file"
        objectstore-key = ["k1={pem}"]
        server = ["nats://file-a:4222", "nats://file-b:4222"]
        timeout = "2s"
        metrics = false
        log-format = "json"
        """,
    )
    assert invoke(["serve", "--config", config]) == 0
    monkeypatch.setenv("NATSOBJ_PORT", "7002")
    monkeypatch.setenv("NATSOBJ_METRICS", "true")
    monkeypatch.setenv("NATS_URL", "nats://env:4222")
    assert invoke(["serve", "--config", config]) == 0
    assert invoke(["serve", "--config", config, "--port", "7003", "--server", "nats://flag:1"]) == 0
    assert invoke(["--server", "nats://group:1", "serve", "--config", config]) == 0
    monkeypatch.setenv("NATSOBJ_SERVER", "nats://natsobj-env:4222")
    assert invoke(["serve", "--config", config]) == 0
    monkeypatch.setenv("NATSOBJ_CONFIG", config)  # the file named by the environment
    assert invoke(["serve"]) == 0
    monkeypatch.delenv("NATSOBJ_CONFIG")
    assert invoke(["serve"]) == 0  # no file: the defaults
    file, env, flag, group, own_env, env_file, default = runs
    assert [r["port"] for r in runs] == [7001, 7002, 7003, 7002, 7002, 7002, 7002]
    assert (file["workers"], default["workers"]) == (3, 1)
    assert file["settings"]["server"] == "nats://file-a:4222,nats://file-b:4222"
    assert (file["settings"]["timeout"], default["settings"]["timeout"]) == (2.0, 5.0)
    assert file["gateway"]["jwt_secret"] == "from-file"
    assert file["gateway"]["anon_key"] == "anon-from-file"
    assert file["gateway"]["objectstore_keys"] == [f"k1={pem}"]
    assert (file["gateway"]["metrics"], env["gateway"]["metrics"]) == (False, True)
    assert file["metrics_dir"] is None  # metrics off: no directory
    assert env["metrics_dir"] is not None  # three workers: prometheus multiprocess mode
    assert not Path(env["metrics_dir"]).exists()  # removed when the server stopped
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    assert env["settings"]["server"] == "nats://env:4222"
    assert flag["settings"]["server"] == "nats://flag:1"
    assert group["settings"]["server"] == "nats://group:1"
    assert own_env["settings"]["server"] == env_file["settings"]["server"]
    assert own_env["settings"]["server"] == "nats://natsobj-env:4222"
    assert default["gateway"]["jwt_secret"] is None
    assert default["log_config"]["formatters"]["natsobj_access"] == {"format": "%(message)s"}
    assert "JsonFormatter" in file["log_config"]["formatters"]["natsobj_access"]["()"]
    assert all(r["access_log"] is False for r in runs)  # uvicorn's own access log is off


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('jwt_secrt = "x"', "unknown key 'jwt_secrt' (did you mean 'jwt-secret'?)"),
        ("port = 70000", "key 'port': 70000 is not in the range 0<=x<=65535"),
        ('port = "eighty"', "key 'port': 'eighty' is not a valid integer"),
        ('metrics = "yes"', "key 'metrics' wants true or false"),
        ('log-format = "xml"', "key 'log-format': 'xml' is not one of 'text', 'json'"),
        ("objectstore-key = [1]", "key 'objectstore-key' wants a string or a list of strings"),
        ('timeout = "soon"', "key 'timeout'"),
        ("host = {a = 1}", "key 'host' wants a single value"),
        ('jwt-secret = "a"\njwt_secret = "b"', "key 'jwt-secret' is given twice"),
        ("port = ", "not valid TOML"),
    ],
)
def test_bad_config_files_are_clear_errors(
    runs: list[dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    message: str,
) -> None:
    config = write(tmp_path / "bad.toml", text)
    assert invoke(["serve", "--config", config]) == 2
    err = capsys.readouterr().err
    assert config in err
    assert message in err
    assert runs == []


def test_missing_config_https_and_tracing_mistakes(
    runs: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cert = write(tmp_path / "cert.pem", "not a certificate")
    cases = [
        (["--config", str(tmp_path / "none.toml")], "cannot read it"),
        (["--https-cert", cert], "--https-cert and --https-key go together"),
        (["--https-cert", cert, "--https-key", cert], "cannot load the HTTPS files"),
        (["--https-client-ca", cert], "--https-client-ca needs --https-cert"),
        (["--cors-origin", "app.example.com"], "--cors-origin: a CORS origin is"),
        (["--cors-origin", "https://app.example.com/path"], "(no path)"),
    ]
    for args, message in cases:
        assert invoke(["serve", *args]) == 2
        assert message in capsys.readouterr().err
    os.environ["OTEL_TRACES_EXPORTER"] = "carrier-pigeon"  # removed by the fixture's monkeypatch
    assert invoke(["serve", "--tracing"]) == 2
    assert "OTEL_TRACES_EXPORTER='carrier-pigeon'" in capsys.readouterr().err
    del os.environ["OTEL_TRACES_EXPORTER"]
    assert runs == []


@pytest.mark.anyio
async def test_a_worker_builds_its_app_from_what_serve_resolved(
    server: natsobj.EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {"server": server.url, "timeout": 3.0}
    gateway: dict[str, Any] = {"jwt_secret": SECRET, "anon_key": None, "service_key": None}
    gateway |= {"objectstore_keys": [], "metrics": False, "access_log": False, "tracing": True}
    monkeypatch.setenv(
        "NATSOBJ_SERVE_CONFIG", json.dumps({"settings": settings, "gateway": gateway})
    )
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    app = app_from_env()
    async with serving(app) as running, httpx.AsyncClient(base_url=running.url) as http:
        assert (await http.get("/ready")).status_code == 200
        assert (await http.get("/metrics")).status_code == 404
        headers = {"Authorization": f"Bearer {token('service_role')}"}
        assert (await http.get("/storage/v1/bucket", headers=headers)).status_code == 200
    monkeypatch.delenv("NATSOBJ_SERVE_CONFIG")
    with pytest.raises(RuntimeError, match="start the gateway with natsobj serve"):
        app_from_env()


def _total_requests(text: str, route: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "natsobj_gateway_requests_total" and s.labels["route"] == route
    )


@pytest.mark.anyio
async def test_serve_from_a_config_file_two_workers_mutual_tls_json_log(
    server: natsobj.EmbeddedServer, tmp_path: Path
) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "gw.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))  # clients must show a cert it signed
    ca.issue_cert("client@example.test").private_key_and_cert_chain_pem.write_to_path(
        str(tmp_path / "client.pem")
    )
    port = free_port()
    config = write(
        tmp_path / "gateway.toml",
        f"""
        server = "{server.url}"
        port = {port}
        workers = 2
        jwt-secret = "{SECRET}"
        https-cert = "{tmp_path / "gw.pem"}"
        https-key = "{tmp_path / "gw.pem"}"
        https-client-ca = "{tmp_path / "ca.pem"}"
        log-format = "json"
        """,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "NATSOBJ_"))}
    process = await anyio.open_process(
        [sys.executable, "-m", "natsobj.cli", "serve", "--config", config],
        env=env,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    anonymous = ssl.create_default_context()
    ca.configure_trust(anonymous)
    trust = ssl.create_default_context()
    ca.configure_trust(trust)
    trust.load_cert_chain(tmp_path / "client.pem")
    url = f"https://127.0.0.1:{port}"
    try:
        await wait_ready(url, verify=trust)
        async with httpx.AsyncClient(base_url=url, verify=anonymous) as http:
            with pytest.raises(httpx.TransportError):  # no client certificate
                await http.get("/health")
        headers = {"Authorization": f"Bearer {token('service_role')}"}
        for _ in range(6):  # new connections: they land on both workers
            async with httpx.AsyncClient(base_url=url, verify=trust) as http:
                listed = await http.get("/storage/v1/bucket", headers=headers)
                assert listed.status_code == 200
        async with httpx.AsyncClient(base_url=url, verify=trust) as http:
            scrapes = [(await http.get("/metrics")).text for _ in range(3)]
    finally:
        output = (await stop(process)).decode()
    # Whichever worker answers, a scrape counts the requests of both.
    assert all(_total_requests(text, "/storage/v1/bucket") == 6 for text in scrapes)
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    bucket_lines = [line for line in lines if line["route"] == "/storage/v1/bucket"]
    assert len(bucket_lines) == 6
    assert {line["status"] for line in bucket_lines} == {200}


def test_cors_origins_from_flags_env_and_file_reach_the_workers(
    runs: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(tmp_path / "cors.toml", 'cors-origin = ["https://a.example", "http://b:8080"]')
    assert invoke(["serve", "--config", config]) == 0
    monkeypatch.setenv("NATSOBJ_CORS_ORIGIN", "https://env.example *")
    assert invoke(["serve", "--config", config]) == 0
    assert invoke(["serve", "--cors-origin", "https://flag.example"]) == 0
    monkeypatch.delenv("NATSOBJ_CORS_ORIGIN")
    assert invoke(["serve"]) == 0
    origins = [run["gateway"]["cors_origins"] for run in runs]
    assert origins == [
        ["https://a.example", "http://b:8080"],
        ["https://env.example", "*"],
        ["https://flag.example"],
        [],
    ]
