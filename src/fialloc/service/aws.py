"""The service's S3 access: input files from an ``s3://`` data root, results to a bucket.

boto3 is imported only when S3 is used, so the app and the handler start without AWS.
"""

from __future__ import annotations

import re
import shutil
from functools import cache
from pathlib import Path
from typing import Any

from fialloc.data.loaders import CURVE_TABLES, OPTIONAL, REQUIRED, SUFFIXES
from fialloc.service.requests import KEY_PATTERN, RequestError, RequestProblem

__all__ = ["INPUT_FILES", "fetch_inputs", "put_json", "s3_client"]

#: The file names a data location may hold (see :func:`fialloc.data.load`).
INPUT_FILES = frozenset(
    {f"{name}{suffix}" for name in (*REQUIRED, *CURVE_TABLES, *OPTIONAL) for suffix in SUFFIXES}
    | {"valuation.json", "mandate.json"}
)


@cache
def s3_client() -> Any:
    """Return the process's S3 client (credentials from the Lambda or task role)."""
    import boto3

    return boto3.client("s3")


def fetch_inputs(root: str, location: str, target: Path, max_bytes: int) -> None:
    """Download the input files of ``<root>/<location>/`` into `target`.

    Parameters
    ----------
    root : str
        ``s3://bucket`` or ``s3://bucket/prefix``: the data root.
    location : str
        Key path under the root (segments of letters, digits and ``_=.-``, none starting
        with a dot).
    target : Path
        An existing local directory.
    max_bytes : int
        Most bytes to download; a larger data location is refused.

    Raises
    ------
    RequestError
        400 for a location that is not a valid key path; 413 if its input files together
        are larger than `max_bytes`.
    """
    where = "portfolio.location"
    if not re.fullmatch(KEY_PATTERN, location.rstrip("/")):
        problem = (
            f"{location!r} is not a key path under the data root (letters, digits and "
            "_=.- in /-separated parts, none starting with a dot)"
        )
        raise RequestError(400, "invalid request", [RequestProblem(where, problem)])
    bucket, _, base = root.removeprefix("s3://").partition("/")
    prefix = "/".join(p for p in (base.strip("/"), location.strip("/")) if p) + "/"
    client = s3_client()
    wanted: dict[str, str] = {}
    total = 0
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, Delimiter="/"
    ):
        for item in page.get("Contents", []):
            name = item["Key"][len(prefix) :]
            if name in INPUT_FILES:
                wanted[name] = item["Key"]
                total += int(item["Size"])
    if total > max_bytes:
        problem = (
            f"its input files hold {total:,} bytes, over this service's limit of {max_bytes:,}"
        )
        raise RequestError(413, "request too large", [RequestProblem(where, problem)])
    for name, key in wanted.items():
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        with body, (target / name).open("wb") as out:
            shutil.copyfileobj(body, out, 1 << 20)


def put_json(bucket: str, key: str, text: bytes) -> None:
    """Store a JSON document at ``s3://<bucket>/<key>``."""
    s3_client().put_object(Bucket=bucket, Key=key, Body=text, ContentType="application/json")
