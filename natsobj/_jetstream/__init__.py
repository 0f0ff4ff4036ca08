"""The JetStream layer: the only package of natsobj that imports ``nats`` (nats-py).

Everything above it (the bucket core and parts, the manager, the sessions, the server
helpers) imports the names below from here, never from nats or from the modules inside:

- ``_client``: JetStream (API requests, publishes, stored messages, waits that fail as
  soon as their answer cannot come);
- ``_mux``: the one reply subscription a connection's transfers share; ``_inline``:
  subscriptions whose messages go straight to a function (the mux's, ordered consumers');
- ``_reads``: Direct Get read runs; ``_writes``: the byte budget, AckWindow, FastIngest;
- ``_consumer``: the ordered consumer (watchers, the index, scans of big buckets);
  ``_delivery``: what a delivered message's reply subject says (its sequences, timestamp,
  pending);
- ``_pull``: durable pull consumers (a change feed's), shared by replicas, and their admin;
- ``_connect``: the first connect, closing a connection, cluster readiness;
- ``_mapping``: nats-py exceptions and API errors as natsobj errors;
- ``_messages``: StoredMsg and the headers of answers; ``_tuning``: the nats-py patches;
- ``_nuid``: fork-safe NUIDs.
"""

from __future__ import annotations

from typing import TypeAlias

from nats.aio.client import Client

from ._client import JetStream
from ._connect import close_connection, first_connect, wait_jetstream
from ._consumer import OrderedConsumer
from ._delivery import Delivered
from ._mapping import api_error, map_nats_errors
from ._messages import Msg, Payload, StoredMsg, header_size
from ._mux import unsubscribe, wait_for
from ._nuid import new_nuid
from ._pull import (
    Delivery,
    PullConsumer,
    consumer_info,
    consumer_list,
    create_consumer,
    delete_consumer,
    reset_consumer,
)
from ._reads import MULTI_LAST_SUBJECTS
from ._tuning import parse_header_lines, speed_up_header_parsing
from ._writes import AckWindow, ByteBudget, FastIngest

__all__ = [
    "MULTI_LAST_SUBJECTS",
    "AckWindow",
    "ByteBudget",
    "Delivered",
    "Delivery",
    "FastIngest",
    "JetStream",
    "Msg",
    "NatsClient",
    "OrderedConsumer",
    "Payload",
    "PullConsumer",
    "StoredMsg",
    "api_error",
    "close_connection",
    "consumer_info",
    "consumer_list",
    "create_consumer",
    "delete_consumer",
    "first_connect",
    "header_size",
    "map_nats_errors",
    "new_nuid",
    "parse_header_lines",
    "reset_consumer",
    "speed_up_header_parsing",
    "unsubscribe",
    "wait_for",
    "wait_jetstream",
]

# For annotations (and the manager's type check) outside this package, which never
# imports nats itself.
NatsClient: TypeAlias = Client
