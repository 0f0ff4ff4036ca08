"""A blocking ``EmbeddedServer``: ``with natsobj.sync.EmbeddedServer() as server``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import natsobj

from ._client import Client, Wrapper, blocking

__all__ = ["EmbeddedServer"]


class EmbeddedServer(Wrapper[natsobj.EmbeddedServer]):
    """A real ``nats-server`` process (see ``natsobj.EmbeddedServer``, which takes the same
    arguments), run from its own event loop thread. ``with`` starts it and stops it on
    exit (and removes its temporary directory); ``close()`` does the same as leaving.

    Raises:
        ServerBinaryNotFoundError, InvalidArgumentError: from the constructor, as the
            async one.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        store_dir: str | os.PathLike[str] | None = None,
        jetstream: bool = True,
        binary: str | os.PathLike[str] | None = None,
        extra_args: Sequence[str] = (),
        config: str | None = None,
        name: str | None = None,
        startup_timeout: float = 15.0,
        stop_timeout: float = 5.0,
    ) -> None:
        client = Client()
        try:
            server = client.call_sync(
                natsobj.EmbeddedServer,
                host=host,
                port=port,
                store_dir=store_dir,
                jetstream=jetstream,
                binary=binary,
                extra_args=extra_args,
                config=config,
                name=name,
                startup_timeout=startup_timeout,
                stop_timeout=stop_timeout,
            )
        except BaseException:
            client.close()
            raise
        super().__init__(client, server)

    def __enter__(self) -> EmbeddedServer:
        try:
            if not self.running:
                self.start()
        except BaseException as exc:
            self.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            if not self._client.closed:
                self._client.call(self._async.aclose)
        finally:
            self._client.close(*exc_info)

    def close(self) -> None:
        """Stop the server, remove its temporary directory and stop the loop thread."""
        self.__exit__(None, None, None)

    start = blocking(natsobj.EmbeddedServer.start)
    stop = blocking(natsobj.EmbeddedServer.stop)
    kill = blocking(natsobj.EmbeddedServer.kill)
    restart = blocking(natsobj.EmbeddedServer.restart)
    wait = blocking(natsobj.EmbeddedServer.wait)

    @property
    def url(self) -> str:
        return self._async.url

    @property
    def host(self) -> str:
        return self._async.host

    @property
    def port(self) -> int:
        return self._async.port

    @property
    def name(self) -> str | None:
        return self._async.name

    @property
    def binary(self) -> Path:
        return self._async.binary

    @property
    def work_dir(self) -> Path | None:
        return self._async.work_dir

    @property
    def store_dir(self) -> Path | None:
        return self._async.store_dir

    @property
    def config_file(self) -> Path | None:
        return self._async.config_file

    @property
    def pid(self) -> int | None:
        return self._async.pid

    @property
    def running(self) -> bool:
        return self._async.running

    @property
    def returncode(self) -> int | None:
        return self._async.returncode

    @property
    def version(self) -> str | None:
        return self._async.version

    @property
    def log_lines(self) -> list[str]:
        return self._async.log_lines
