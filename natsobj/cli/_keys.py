"""``natsobj objectstore-key ...``: the gateway's shared Sentry Objectstore key set.

Every ``natsobj serve --objectstore-key-set`` instance watches the set and applies a
change within a second. Needs the gateway extra (``cryptography``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import click

from ._connect import Settings, open_manager
from ._errors import CliError, ExitCode
from ._options import global_options, pass_settings
from ._output import emit_json
from ._run import run

__all__ = ["objectstore_key"]

_PERMISSIONS = ("object.read", "object.write", "object.delete")
_set_option = click.option(
    "--key-set",
    "key_set",
    default="natsobj_objectstore_keys",
    show_default=True,
    envvar="NATSOBJ_OBJECTSTORE_KEY_SET",
    show_envvar=True,
    metavar="BUCKET",
    help="The bucket holding the key set.",
)


def _read_pem(path: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()[:65536]
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc}", ExitCode.BAD_INPUT) from exc


def _need_extra() -> None:
    if importlib.util.find_spec("cryptography") is None:
        raise CliError(
            "objectstore keys need the gateway extra: pip install 'natsobj[gateway]'",
            ExitCode.BAD_INPUT,
        )


@click.group("objectstore-key")
def objectstore_key() -> None:
    """Add, revoke and list the Sentry Objectstore public keys that every gateway
    started with --objectstore-key-set verifies tokens with (changes hold within 1 s)."""


@objectstore_key.command("add")
@click.argument("kid")
@click.argument("pem_path", metavar="PEM")
@click.option(
    "--max-permission",
    "permissions",
    multiple=True,
    type=click.Choice(_PERMISSIONS),
    help="A permission tokens of this kid may grant (repeatable; default: the kid's"
    " own, all three for a new kid).",
)
@_set_option
@global_options()
@pass_settings
def key_add(
    settings: Settings, kid: str, pem_path: str, permissions: tuple[str, ...], key_set: str
) -> None:
    """Add an Ed25519 public key PEM as a version of KID (a new kid, or key rotation:
    other versions stay until revoked); --max-permission replaces the kid's, else an
    existing kid keeps its own (a rotation never widens them)."""
    _need_extra()
    from natsobj.gateway import add_objectstore_key

    pem = _read_pem(pem_path)

    async def go() -> None:
        async with open_manager(settings) as manager:
            await add_objectstore_key(
                manager, kid, pem, max_permissions=permissions or None, bucket=key_set
            )

    run(go)


@objectstore_key.command("revoke")
@click.argument("kid")
@click.argument("pem_path", metavar="[PEM]", required=False)
@_set_option
@global_options()
@pass_settings
def key_revoke(settings: Settings, kid: str, pem_path: str | None, key_set: str) -> None:
    """Revoke one version of KID (PEM), or the whole kid; exit 3 if there was none."""
    _need_extra()
    from natsobj.gateway import revoke_objectstore_key

    pem = None if pem_path is None else _read_pem(pem_path)

    async def go() -> None:
        async with open_manager(settings) as manager:
            if not await revoke_objectstore_key(manager, kid, pem, bucket=key_set):
                raise CliError(f"no such key in {key_set}: {kid}", ExitCode.NOT_FOUND)

    run(go)


@objectstore_key.command("list")
@_set_option
@global_options()
@pass_settings
def key_list(settings: Settings, key_set: str) -> None:
    """The key set as JSON: by kid, its versions (PEM) and max_permissions."""
    _need_extra()
    from natsobj.gateway import objectstore_keys
    from natsobj.gateway._objectstore_keys import public_pem

    async def go() -> None:
        async with open_manager(settings) as manager:
            keys = await objectstore_keys(manager, bucket=key_set)
        emit_json(
            {
                kid: {
                    "versions": [public_pem(key) for key in config.versions],
                    "max_permissions": sorted(config.max_permissions),
                }
                for kid, config in sorted(keys.items())
            }
        )

    run(go)
