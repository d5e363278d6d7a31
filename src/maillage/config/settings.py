"""Django settings for Maillage. Every value comes from the environment (see env.py) with demo defaults."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import xstatic.pkg.leaflet
import xstatic.pkg.leaflet_markercluster
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _
from whitenoise.compress import Compressor

from maillage.config.env import (
    base_url,
    cache_config,
    env_bool,
    env_int,
    env_list,
    env_str,
    secret_key,
)
from maillage.config.logging import logging_config

SRC_DIR = Path(__file__).resolve().parent.parent
BASE_DIR = SRC_DIR.parent.parent
VAR_DIR = Path(env_str("MAILLAGE_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = secret_key(VAR_DIR)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",  # serves the API docs (Swagger UI) from its own static files, not a CDN
    "django_tasks",
    "django_tasks_db",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "maillage.reference",
    "maillage.accounts",
    "maillage.notifications",
    "maillage.directory",
    "maillage.flows",
    "maillage.ingest",
    "maillage.exports",
    "maillage.synergies",
    "maillage.marketplace",
    "maillage.events",
    "maillage.networks",
    "maillage.web",
    "maillage.atlas",
    "maillage.operations",
    "maillage.privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files before anything else touches the request (no session, no database).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    # Early, so that every later log line of the request carries its id.
    "maillage.config.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): signed in with a second factor in this session (django-otp).
    "django_otp.middleware.OTPMiddleware",
    # Deny by default (Django's LoginRequiredMiddleware): every view needs a signed-in user unless
    # marked @login_not_required (tests/accounts/test_deny_by_default.py lists the public ones).
    "maillage.web.middleware.DenyByDefaultMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Users of MAILLAGE_OTP_REQUIRED_ROLES reach nothing but their enrolment until they have a
    # second factor.
    "maillage.accounts.middleware.TwoFactorRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "maillage.config.middleware.NeutralServerHeaderMiddleware",
    "maillage.web.middleware.LoginForAnonymousNotFoundMiddleware",
    # Last, as django-axes requires: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "maillage.config.urls"
WSGI_APPLICATION = "maillage.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SRC_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
            # Tests set MAILLAGE_STRICT_TEMPLATES=1 so that an undefined variable fails loudly.
            "string_if_invalid": "INVALID[%s]" if env_bool("MAILLAGE_STRICT_TEMPLATES") else "",
        },
    }
]

# SQLite under var/ by default; DATABASE_URL=postgres://… in production.
# Web requests and batch jobs get different lock/statement timeouts (MAILLAGE_DB_TIMEOUT, seconds).
_db_timeout = env_int("MAILLAGE_DB_TIMEOUT", 20)
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'maillage.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
        # A persistent connection is checked before a request reuses it: after a PostgreSQL
        # restart the first request of each worker reconnects instead of failing.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, for the test database: some tests run commands in a subprocess.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    DATABASES["default"]["OPTIONS"] = {
        "timeout": _db_timeout,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        f"-c statement_timeout={_db_timeout * 1000}"
    )

# Cached map layers and lists (maillage.caching): one cache for every process of the service.
# Keys are prefixed by the database, so that two databases never share an entry.
_db = DATABASES["default"]
CACHES = {
    "default": cache_config(
        env_str("CACHE_URL"),
        VAR_DIR / "cache",
        hashlib.sha256(
            f"{_db['ENGINE']}|{_db.get('HOST')}|{_db.get('PORT')}|{_db['NAME']}".encode()
        ).hexdigest()[:12],
    )
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Brute-force protection (django-axes): after MAILLAGE_LOGIN_FAILURE_LIMIT wrong passwords for one
# username, that account is refused (even with the right password) for MAILLAGE_LOGIN_COOLOFF_MINUTES.
# AxesStandaloneBackend first, so every authenticate() call must pass the request.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lifetime of a new personal API token, in days (its owner may revoke it sooner).
MAILLAGE_API_TOKEN_DAYS = env_int("MAILLAGE_API_TOKEN_DAYS", 90)

# Optional two-factor authentication (django-otp, TOTP with backup codes): a user who enrolled
# from « Double authentification » is asked a code after their password. Users of the roles in
# MAILLAGE_OTP_REQUIRED_ROLES (comma-separated: chamber_admin, advisor, company, animator,
# export_advisor, cluster_manager, and superuser for superusers) must enrol before anything else.
MAILLAGE_OTP_REQUIRED_ROLES = env_list("MAILLAGE_OTP_REQUIRED_ROLES", [])
OTP_TOTP_ISSUER = env_str("MAILLAGE_OTP_ISSUER", "Maillage")
# A wrong code doubles the wait before the next try on that device (1 s, 2 s, 4 s…).
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1

AXES_FAILURE_LIMIT = env_int("MAILLAGE_LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("MAILLAGE_LOGIN_COOLOFF_MINUTES", 15))
# Per account, not per address: a chamber's users often share one office address (NAT), and ten
# typos there must not lock them all out; axes.W006 (no "ip_address") is therefore silenced.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_COOLOFF_MESSAGE = _(
    "Compte temporairement bloqué après trop de tentatives de connexion. Réessayez plus tard."
)
AXES_PERMALOCK_MESSAGE = AXES_COOLOFF_MESSAGE
# axes' log lines name the client; ours say only the path and a hash of the username (no IP).
AXES_VERBOSE = False
AXES_CLIENT_STR_CALLABLE = "maillage.config.logging.axes_client_str"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "fr"
# French only until the interface has another catalogue under locale/: with English offered,
# an English-speaking browser got Django's own texts (dates, form errors) in English around our
# French ones.
LANGUAGES = [("fr", _("Français"))]
LOCALE_PATHS = [SRC_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
# WhiteNoise serves the static files. `make serve` collects them into STATIC_ROOT and sets
# MAILLAGE_COLLECTED_STATIC=true: hashed names, compressed copies, cached for a year. Otherwise
# (demo, tests) they are found where they live, at each request.
MAILLAGE_COLLECTED_STATIC = env_bool("MAILLAGE_COLLECTED_STATIC", False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "maillage.config.storage.StaticStorage"
        if MAILLAGE_COLLECTED_STATIC
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not MAILLAGE_COLLECTED_STATIC
# Source maps (django-ninja's Swagger UI and ReDoc: 5 MB) are fetched only by a browser's developer
# tools: served as they are, not compressed, they no longer take most of collectstatic's time.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "map")
WHITENOISE_AUTOREFRESH = not MAILLAGE_COLLECTED_STATIC
# Uploaded files (marketplace attachments, network documents) are served only through views that
# ask the policy, never by URL.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STATICFILES_DIRS = [
    SRC_DIR / "static",
    # Leaflet and Leaflet.markercluster from their PyPI packages (no CDN).
    ("leaflet", xstatic.pkg.leaflet.BASE_DIR),
    ("leaflet-markercluster", xstatic.pkg.leaflet_markercluster.BASE_DIR),
]

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# The public address of the site: e-mails link to MAILLAGE_BASE_URL + path.
MAILLAGE_BASE_URL = base_url("MAILLAGE_BASE_URL", "http://127.0.0.1:8000")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Maillage <ne-pas-repondre@maillage.localhost>")

TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# Map background: an empty tile URL means the offline background (no request leaves the machine).
MAILLAGE_TILE_URL = env_str("MAILLAGE_TILE_URL", "")
MAILLAGE_PARTNER_INDEX_TTL = env_int("MAILLAGE_PARTNER_INDEX_TTL", 60)
# Partner index server (`manage.py partner_index_server`, started by bin/serve when set): the Unix
# socket where one process holds every scope's index instead of each web worker; empty: each web
# process holds its own. Its answer is awaited this many seconds (a scope's first build included)
# before falling back to an index built in process; each scope is rebuilt from the database every
# MAILLAGE_PARTNER_INDEX_REFRESH seconds (deltas of flows written meanwhile are replayed).
MAILLAGE_PARTNER_INDEX_SOCKET = env_str("MAILLAGE_PARTNER_INDEX_SOCKET", "")
MAILLAGE_PARTNER_INDEX_TIMEOUT = env_int("MAILLAGE_PARTNER_INDEX_TIMEOUT", 60)
MAILLAGE_PARTNER_INDEX_REFRESH = env_int("MAILLAGE_PARTNER_INDEX_REFRESH", 3600)
# A background run (detection, schedule, consortia, import) pending or running with no sign of
# life for this long is taken as lost (its worker died): marked failed, and a new one may start.
MAILLAGE_RUN_STALE_MINUTES = env_int("MAILLAGE_RUN_STALE_MINUTES", 10)
# Background task workers run at a lower CPU priority (os.nice) than the web processes.
MAILLAGE_TASK_NICE = env_int("MAILLAGE_TASK_NICE", 10)
# Detections on a Dask cluster (docs/operations.md): the scheduler's address
# (tcp://host:8786) sends every detection there; without one, a detection of at least
# MAILLAGE_DASK_MIN_FLOWS flows runs on a LocalCluster of this machine, smaller ones in process.
MAILLAGE_DASK_SCHEDULER = env_str("MAILLAGE_DASK_SCHEDULER", "")
MAILLAGE_DASK_MIN_FLOWS = env_int("MAILLAGE_DASK_MIN_FLOWS", 2_000_000)

# MAILLAGE_HTTPS=true: the site is reached over HTTPS (directly or through a reverse proxy).
# Cookies are then sent only over HTTPS, plain HTTP is redirected, and browsers are told to come
# back over HTTPS only (HSTS). Each of these can still be set on its own.
MAILLAGE_HTTPS = env_bool("MAILLAGE_HTTPS", False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", MAILLAGE_HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", MAILLAGE_HTTPS)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", MAILLAGE_HTTPS)
# The health check is asked by the supervisor on the loopback, in plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^sante/$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if MAILLAGE_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# Preloading (a list built into browsers, hard to leave) is the domain owner's decision: off by
# default, hence security.W021 silenced unless it is turned on.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS.append("security.W021")
# Behind a proxy that is not on this machine (gunicorn already trusts X-Forwarded-Proto from the
# loopback): trust its X-Forwarded-Proto header. Never set it when clients reach Django directly.
if env_bool("MAILLAGE_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Content-Security-Policy (django-csp): scripts, styles, images and requests from this site only;
# no inline script, handler or style attribute anywhere (tests/operations/test_headers.py checks
# the templates); data: images for the favicon placeholder and Leaflet; the map's tile server
# when one is configured.
# A tile URL such as https://{s}.tile.example.org/{z}/{x}/{y}.png allows https://*.tile.example.org.
_tiles = urlsplit(MAILLAGE_TILE_URL)
_tile_hosts = (
    [f"{_tiles.scheme}://{_tiles.netloc.replace('{s}', '*')}"] if MAILLAGE_TILE_URL else []
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *_tile_hosts],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# JSON lines on standard error, one object per record, with the request's id and without personal
# data (see maillage.config.logging). LOG_FORMAT=text for a human-readable console.
LOGGING = logging_config(
    level=env_str("LOG_LEVEL", "WARNING"),
    fmt=env_str("LOG_FORMAT", "json"),
    request_level=env_str("MAILLAGE_REQUEST_LOG_LEVEL", "INFO"),
)

# Health check (/sante/): the task queue is unhealthy when a task ready to run has waited longer
# than this (no worker takes them).
MAILLAGE_HEALTH_MAX_PENDING_MINUTES = env_int("MAILLAGE_HEALTH_MAX_PENDING_MINUTES", 10)

# Retention (docs/privacy.md): ``manage.py purge_retention``, run daily, deletes audit-log entries
# older than MAILLAGE_AUDIT_RETENTION_DAYS and notifications older than
# MAILLAGE_NOTIFICATION_RETENTION_DAYS.
MAILLAGE_AUDIT_RETENTION_DAYS = env_int("MAILLAGE_AUDIT_RETENTION_DAYS", 365)
MAILLAGE_NOTIFICATION_RETENTION_DAYS = env_int("MAILLAGE_NOTIFICATION_RETENTION_DAYS", 180)
