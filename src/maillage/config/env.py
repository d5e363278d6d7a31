"""The one place where settings are read from the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in _TRUE


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value is None or value == "" else int(value)


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def base_url(name: str, default: str) -> str:
    """The site's public address (scheme and host, maybe a path), without a trailing slash: links
    in e-mails are built on it, since an e-mail has no request to take the host from."""
    value = os.environ.get(name) or default
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ImproperlyConfigured(
            f"{name} must be an http(s) address such as https://host, not {value!r}"
        )
    return value.rstrip("/")


def secret_key(var_dir: Path) -> str:
    """SECRET_KEY from the environment, else a key generated once and kept in var/ (not in git)."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key


def cache_config(url: str, folder: Path, key_prefix: str) -> dict:
    """Django's default cache from CACHE_URL: ``redis://…`` (Redis, shared by every process on
    any machine), ``locmem://`` (this process only: tests, one-process tools), or, when empty,
    files in ``folder`` (shared by the processes of one machine)."""
    common = {"KEY_PREFIX": key_prefix, "TIMEOUT": 600}
    scheme = urlsplit(url).scheme if url else ""
    if scheme in ("redis", "rediss", "unix"):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, **common}
    if scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", **common}
    if url:
        raise ImproperlyConfigured(
            f"CACHE_URL must be redis://host:port/db, locmem:// or empty, not {url!r}"
        )
    return {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(folder),
        "OPTIONS": {"MAX_ENTRIES": 5000},
        **common,
    }
