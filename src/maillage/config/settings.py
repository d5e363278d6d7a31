"""Django settings for Maillage. Every value comes from the environment (see env.py) with demo defaults."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
import xstatic.pkg.leaflet
import xstatic.pkg.leaflet_markercluster
from django.utils.translation import gettext_lazy as _

from maillage.config.env import base_url, env_bool, env_int, env_list, env_str, secret_key

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
    "maillage.reference",
    "maillage.accounts",
    "maillage.directory",
    "maillage.flows",
    "maillage.ingest",
    "maillage.synergies",
    "maillage.marketplace",
    "maillage.events",
    "maillage.web",
    "maillage.atlas",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
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
# Detections on a Dask cluster (docs/operations.md): the scheduler's address
# (tcp://host:8786) sends every detection there; without one, a detection of at least
# MAILLAGE_DASK_MIN_FLOWS flows runs on a LocalCluster of this machine, smaller ones in process.
MAILLAGE_DASK_SCHEDULER = env_str("MAILLAGE_DASK_SCHEDULER", "")
MAILLAGE_DASK_MIN_FLOWS = env_int("MAILLAGE_DASK_MIN_FLOWS", 2_000_000)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "client_error_without_traceback": {
            "()": "maillage.config.logging.ClientErrorWithoutTraceback",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        # 4xx: one line at WARNING, no traceback (5xx keep theirs).
        "django.request": {"filters": ["client_error_without_traceback"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}
