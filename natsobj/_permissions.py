"""The subject permissions a NATS user needs to read, write or administer one bucket.

A bucket is the stream ``OBJ_<bucket>`` with subjects ``$O.<bucket>.C.>`` (chunks) and
``$O.<bucket>.M.>`` (metas). natsobj talks to JetStream through these subjects:

================================================  =====================================
publish to                                        for
================================================  =====================================
``$JS.API.INFO``                                  ``connect`` (checks JetStream is there)
``$JS.API.STREAM.INFO.OBJ_<b>``                   opening the bucket, ``status``
``$JS.API.DIRECT.GET.OBJ_<b>`` (and ``.>``)       metas and chunks (Direct Get)
``$JS.API.STREAM.MSG.GET.OBJ_<b>``                metas on replicated buckets (leader)
``$JS.API.CONSUMER.CREATE.OBJ_<b>`` (and ``.>``)  ``watch`` (an ordered consumer) ...
``$JS.API.CONSUMER.DELETE.OBJ_<b>.>``             ... removed when the watch ends
``$JS.FC.OBJ_<b>.>``                              ... and its flow control replies
``$O.<b>.C.>``, ``$O.<b>.M.>``                    writers: chunks and metas
``$JS.API.STREAM.PURGE.OBJ_<b>``                  writers: replaced, deleted, failed puts
``$JS.API.STREAM.CREATE/UPDATE/DELETE.OBJ_<b>``   admins: create, update, seal, delete
``$JS.API.STREAM.NAMES``                          admins: list buckets
================================================  =====================================

and every role subscribes to its reply inbox (``_INBOX.>`` unless the connection sets
``inbox_prefix``; give each user its own prefix so nobody can read others' replies).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ._checks import check_text
from ._errors import InvalidArgumentError
from ._wire import chunk_subject_filter, meta_subject_filter, stream_name, validate_bucket_name

__all__ = ["BucketPermissions", "bucket_permissions"]

Role = Literal["reader", "writer", "admin"]
_ROLES = ("reader", "writer", "admin")


class BucketPermissions(BaseModel):
    """Publish and subscribe allow lists for one role on one bucket."""

    model_config = ConfigDict(frozen=True)

    publish: list[str]
    subscribe: list[str]

    def server_config(self) -> dict[str, Any]:
        """As the ``permissions`` block of a user in a nats-server config file."""
        return {"publish": {"allow": self.publish}, "subscribe": {"allow": self.subscribe}}

    def jwt_claims(self) -> dict[str, Any]:
        """As the ``pub``/``sub`` permissions of a user JWT (decentralized auth)."""
        return {"pub": {"allow": self.publish}, "sub": {"allow": self.subscribe}}


def bucket_permissions(
    bucket: str,
    role: Role = "reader",
    *,
    inbox_prefix: str = "_INBOX",
    api_prefix: str = "$JS.API",
) -> BucketPermissions:
    """The least a user needs to be a ``reader``, ``writer`` or ``admin`` of ``bucket``.

    A reader can open the bucket, get, list, watch and read status; a writer can also put,
    delete, update metas, add links and sweep orphans; an admin can also create, update,
    seal and delete the bucket and list buckets. Anything else natsobj raises
    ``PermissionDeniedError`` for (or, for a publish the server drops, a timeout).

    Raises:
        InvalidBucketNameError: ``bucket`` is not a valid bucket name.
        InvalidArgumentError: unknown ``role``, or an empty prefix.
    """
    validate_bucket_name(bucket)
    if role not in _ROLES:
        raise InvalidArgumentError(f"role must be one of {', '.join(_ROLES)}, got {role!r}")
    for prefix, what in ((inbox_prefix, "inbox_prefix"), (api_prefix, "api_prefix")):
        if not check_text(prefix, what):
            raise InvalidArgumentError(f"{what} must not be empty")
    stream = stream_name(bucket)
    publish = [
        f"{api_prefix}.INFO",
        f"{api_prefix}.STREAM.INFO.{stream}",
        f"{api_prefix}.DIRECT.GET.{stream}",
        f"{api_prefix}.DIRECT.GET.{stream}.>",
        f"{api_prefix}.STREAM.MSG.GET.{stream}",
        f"{api_prefix}.CONSUMER.CREATE.{stream}",
        f"{api_prefix}.CONSUMER.CREATE.{stream}.>",
        f"{api_prefix}.CONSUMER.DELETE.{stream}.>",
        f"$JS.FC.{stream}.>",
    ]
    if role in ("writer", "admin"):
        publish += [
            chunk_subject_filter(bucket),
            meta_subject_filter(bucket),
            f"{api_prefix}.STREAM.PURGE.{stream}",
        ]
    if role == "admin":
        publish += [
            f"{api_prefix}.STREAM.CREATE.{stream}",
            f"{api_prefix}.STREAM.UPDATE.{stream}",
            f"{api_prefix}.STREAM.DELETE.{stream}",
            f"{api_prefix}.STREAM.NAMES",
        ]
    return BucketPermissions(publish=publish, subscribe=[f"{inbox_prefix}.>"])
