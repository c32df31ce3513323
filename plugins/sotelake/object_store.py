"""An object store as the lake's root: the URL (``s3://bucket/prefix``), the credentials and
endpoint from the standard AWS variables, and the path type of a lake on either a local folder
or a store. On the ground floor, with the settings, which check ``SOTELAKE_LAKE`` with it before
any work; the lake's storage (sotelake.lake.storage) does everything else with such a path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sotelake.errors import ConfigurationError

if TYPE_CHECKING:
    from upath import UPath

    LakePath = Path | UPath  # a local folder's path, or one on an object store


@dataclass(frozen=True)
class S3Access:
    """How to reach an S3-compatible store, from the standard AWS environment variables."""

    key_id: str
    secret: str
    session_token: str | None
    region: str
    endpoint_url: str | None  # None: AWS itself

    @property
    def fsspec_options(self) -> dict:
        return {
            "key": self.key_id,
            "secret": self.secret,
            "token": self.session_token,
            "client_kwargs": {"region_name": self.region, "endpoint_url": self.endpoint_url},
            # other processes (Airflow tasks, DuckDB) write too: never answer from a stale listing
            "use_listings_cache": False,
        }


def s3_access(variable: str = "SOTELAKE_LAKE") -> S3Access:
    """The store's credentials and endpoint; a ConfigurationError names what is missing."""
    key_id = os.environ.get("AWS_ACCESS_KEY_ID", "").strip()
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "").strip()
    if not key_id or not secret:
        raise ConfigurationError(
            f"{variable} is an s3:// URL, so set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(and AWS_ENDPOINT_URL for a store other than AWS, e.g. http://localhost:9000 for "
            "MinIO): DuckDB, which dbt reads the lake with, takes its credentials from them"
        )
    named = "AWS_ENDPOINT_URL_S3" if os.environ.get("AWS_ENDPOINT_URL_S3") else "AWS_ENDPOINT_URL"
    endpoint = os.environ.get(named, "").strip()
    if endpoint:
        parts = urlsplit(endpoint)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path not in ("", "/")
        ):
            raise ConfigurationError(
                f"{named}={endpoint!r}: expected the store's address, "
                "http(s)://host[:port] without a path (e.g. http://localhost:9000)"
            )
    region = (
        os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    ).strip()
    token = os.environ.get("AWS_SESSION_TOKEN", "").strip() or None
    return S3Access(key_id, secret, token, region, endpoint.rstrip("/") or None)


def object_store_root(url: str, variable: str = "SOTELAKE_LAKE") -> UPath:
    """The path of ``s3://bucket/prefix`` on the store (checked: scheme, bucket, credentials).

    ``s3a://`` (Spark's name for S3) means the same, so a cluster's Spark can share the URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("s3", "s3a"):
        raise ConfigurationError(
            f"{variable}={url!r}: expected a local folder or an s3:// URL (AWS S3, MinIO or "
            f"another S3-compatible store); {parts.scheme}:// is not supported"
        )
    if not parts.netloc or parts.query or parts.fragment:
        raise ConfigurationError(
            f"{variable}={url!r}: expected s3://bucket or s3://bucket/prefix (e.g. s3://sote/lake)"
        )
    from upath import UPath

    return UPath(url.rstrip("/"), **s3_access(variable).fsspec_options)
