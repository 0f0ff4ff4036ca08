"""natsobj.parse_size: the one size parser (bucket policies and the CLI's size options)."""

from __future__ import annotations

from typing import Any

import pytest

import natsobj
from natsobj import parse_size


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (1000, 1000),
        ("100", 100),
        (" 100 ", 100),
        ("1B", 1),
        # SI: powers of 1000, any case (Supabase's "50MB" means 50,000,000 bytes).
        ("1kB", 1000),
        ("1KB", 1000),
        ("50MB", 50_000_000),
        ("50 mb", 50_000_000),
        ("1GB", 1000**3),
        ("2TB", 2 * 1000**4),
        ("1PB", 1000**5),
        # IEC: powers of 1024, and so are the single letters.
        ("1 KiB", 1024),
        ("64kib", 64 * 1024),
        ("2GiB", 2 * 1024**3),
        ("1PiB", 1024**5),
        ("1K", 1024),
        ("1m", 1024**2),
        ("1G", 1024**3),
        ("3T", 3 * 1024**4),
        # Fractions are exact, then rounded down to a whole byte.
        ("1.5MB", 1_500_000),
        ("1.5MiB", 1_572_864),
        ("0.1kB", 100),
        (".5K", 512),
        ("1.", 1),
        ("0.3KiB", 307),
        ("0.999B", 0),
    ],
)
def test_parse_size(value: int | str, expected: int) -> None:
    assert parse_size(value) == expected


@pytest.mark.parametrize(
    "value",
    [-1, "-1", "MB", "", " ", "10 parsecs", "1 K B", "1e3", "0x10", "1,000", "Infinity",
     "nan", "1KiBB", "1" * 31, True, None, 1.0, b"1"],
)  # fmt: skip
def test_parse_size_rejects(value: Any) -> None:
    with pytest.raises(natsobj.InvalidArgumentError, match="size"):
        parse_size(value)


def test_the_error_names_what_the_size_is_for() -> None:
    with pytest.raises(natsobj.InvalidArgumentError, match=r"^'5 pc' is not a file_size_limit"):
        parse_size("5 pc", what="file_size_limit")
    with pytest.raises(natsobj.InvalidArgumentError, match=r"^chunk_size must not be negative"):
        parse_size(-5, what="chunk_size")


def test_policy_and_cli_read_sizes_alike() -> None:
    """The bucket policy's file_size_limit goes through the same parser."""
    for text, size in (("1.5MB", 1_500_000), ("1G", 1024**3)):
        config = natsobj.ObjectStoreConfig.model_validate({"bucket": "b", "file_size_limit": text})
        assert config.file_size_limit == size
