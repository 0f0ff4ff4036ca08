"""``natsobj server``: a local nats-server (or loopback cluster) with JetStream until Ctrl-C."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import click

import natsobj

from ._errors import CliError
from ._output import (
    emit_json_line,
)
from ._run import run

__all__ = ["server"]


@click.command()
@click.option(
    "-p",
    "--port",
    type=click.IntRange(0, 65535),
    default=4222,
    show_default=True,
    help="Client port; 0 picks a free one.",
)
@click.option("-a", "--host", default="127.0.0.1", show_default=True, help="Listen address.")
@click.option(
    "-d",
    "--store-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="JetStream store directory, kept on exit (relative to the current directory). "
    "[default: a temporary directory, removed on exit]",
)
@click.option(
    "--cluster",
    "cluster_size",
    type=click.IntRange(1, 9),
    help="Run a loopback JetStream cluster of N servers (free ports), e.g. to try replicas.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line once it is ready.")
@click.pass_context
def server(
    ctx: click.Context,
    port: int,
    host: str,
    store_dir: Path | None,
    cluster_size: int | None,
    as_json: bool,
) -> None:
    """Run nats-server with JetStream until Ctrl-C.

    Prints the URL to use (also as `export NATS_URL=...`). Data lives in a temporary
    directory unless --store-dir names one.
    """
    port_given = ctx.get_parameter_source("port") is not click.core.ParameterSource.DEFAULT
    if cluster_size is not None and port_given:
        raise click.UsageError("--port cannot be used with --cluster (nodes take free ports)")
    try:
        if cluster_size is None:
            run(lambda: _single(host, port, store_dir, as_json), stop_is_success=True)
        else:
            run(lambda: _cluster(cluster_size, host, store_dir, as_json), stop_is_success=True)
    except natsobj.ServerStartupError as exc:
        raise CliError(f"nats-server failed to start: {exc.reason}") from exc
    except natsobj.EmbeddedServerError as exc:
        raise CliError(str(exc)) from exc
    if not as_json:
        click.echo("nats-server stopped", err=True)


def _announce(urls: list[str], version: str | None, store: str, kept: bool, as_json: bool) -> None:
    url = ",".join(urls)
    if as_json:
        emit_json_line({"url": url, "urls": urls, "version": version, "store_dir": store})
    else:
        what = f"nats-server {version}" if version else "nats-server"
        nodes = f" ({len(urls)} nodes)" if len(urls) > 1 else ""
        click.echo(f"{what} with JetStream{nodes} listening on {url}")
        click.echo(f"store: {store} ({'kept' if kept else 'temporary, removed on exit'})")
        click.echo(f"use it: export NATS_URL={url}")
        click.echo("press Ctrl-C to stop")
    sys.stdout.flush()


async def _single(host: str, port: int, store_dir: Path | None, as_json: bool) -> None:
    async with natsobj.EmbeddedServer(host=host, port=port, store_dir=store_dir) as node:
        # The server made a relative --store-dir absolute: that is the one it uses.
        _announce([node.url], node.version, str(node.store_dir), store_dir is not None, as_json)
        code = await node.wait()
        # Ctrl-C in a terminal reaches nats-server too; if it was faster than our own
        # handler, give that signal a moment to arrive and count as a clean stop.
        await anyio.sleep(0.25)
    if code != 0:
        raise CliError(f"nats-server exited with code {code}")


async def _cluster(size: int, host: str, store_dir: Path | None, as_json: bool) -> None:
    async with natsobj.EmbeddedCluster(size, host=host, store_dir=store_dir) as nodes:
        stores = [str(node.store_dir) for node in nodes.servers]
        store = f"{stores[0]} ... {stores[-1]}" if store_dir is not None else ", ".join(stores)
        _announce(nodes.urls, nodes.servers[0].version, store, store_dir is not None, as_json)
        codes: list[int] = []
        async with anyio.create_task_group() as tg:

            async def wait(node: natsobj.EmbeddedServer) -> None:
                codes.append(await node.wait())
                tg.cancel_scope.cancel()

            for node in nodes.servers:
                tg.start_soon(wait, node)
        await anyio.sleep(0.25)  # as in _single: a Ctrl-C may be on its way
    if codes and codes[0] != 0:
        raise CliError(f"a nats-server of the cluster exited with code {codes[0]}")
