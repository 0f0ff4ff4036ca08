"""The Last-Modified date the Supabase downloads write: RFC 9110's IMF-fixdate, in GMT
whatever zone the time is in, exactly as email.utils formats it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

from natsobj.gateway._supabase_download import _http_date


def test_http_dates_match_email_utils_in_any_zone() -> None:
    chosen = random.Random(7)
    stamps = [
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2000, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5))),  # next year in GMT
    ]
    for _ in range(2000):
        zone = timezone(timedelta(minutes=chosen.randrange(-720, 841, 15)))
        stamps.append(datetime.fromtimestamp(chosen.uniform(0, 4e9), zone))
    for stamp in stamps:
        assert _http_date(stamp) == format_datetime(stamp.astimezone(UTC), usegmt=True)
    assert _http_date(stamps[2]) == "Fri, 01 Jan 2027 04:30:00 GMT"
    assert _http_date(None) == ""
