"""natsobj's HTTP gateway (extra ``[gateway]``): Supabase Storage under ``/storage/v1``,
Sentry Objectstore under ``/v1``, ``/health`` and ``/ready``; served by ``natsobj serve``."""

from __future__ import annotations

from ._app import create_app

__all__ = ["create_app"]
