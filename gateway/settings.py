"""Django settings for the gateway, built on the shared platform settings.

Environment (besides the platform's, read by ``config.env``):

``DJANGO_SECRET_KEY``
    The signing key (sessions, CSRF). Unset or empty: a random key generated once in
    ``var/secret_key`` (mode 0600) and shared by every process of this checkout (what
    ``make run``, the tests and ``sagactl`` use). With ``DEBUG`` off the process refuses to
    start on a public default (the old built-in or compose values) or a weak key (fewer
    than 50 characters or 5 distinct ones, ``django-insecure-...``); with ``DJANGO_HTTPS=1``
    it must be set explicitly (replicas behind one proxy must share it).
``DJANGO_DEBUG``
    ``1`` for Django's debug mode (never in a deployment). Default off.
``DJANGO_ALLOWED_HOSTS``
    Comma-separated host names served (default ``localhost,127.0.0.1,[::1],gateway``).
``DJANGO_HTTPS``
    ``1`` when the site is served over HTTPS (directly or by a TLS proxy): redirects HTTP
    to HTTPS (``/health``, ``/ready`` and ``/metrics*`` exempt, for probes and scrapers on
    the plain port), secure session and CSRF cookies, HSTS. ``manage.py check --deploy``
    then reports no warning (a CI test proves it).
``DJANGO_HSTS_SECONDS`` (default 31536000), ``DJANGO_HSTS_INCLUDE_SUBDOMAINS`` (default
``1``), ``DJANGO_HSTS_PRELOAD`` (default ``1``)
    The HSTS header with ``DJANGO_HTTPS=1``. Turning one off makes ``check --deploy`` warn.
``DJANGO_SECURE_PROXY_SSL_HEADER``
    Behind a TLS proxy: the header it sets on HTTPS requests and its value, e.g.
    ``X-Forwarded-Proto: https``. Only set it when the proxy always sets (or strips) that
    header; anyone could send it otherwise.
``DJANGO_CSRF_TRUSTED_ORIGINS``
    Comma-separated origins (``https://ops.example.com``) allowed for unsafe requests
    besides the request's own host (a proxy that changes the host or port).
``DJANGO_NUM_PROXIES``
    Reverse proxies in front of the gateway (default 0): the client IP that throttles count
    by is then taken from ``X-Forwarded-For`` (never trusted with 0).
``GATEWAY_CACHE_URL``
    A ``redis://`` URL for Django's cache (throttle counters, login lockout), shared by
    every gateway process. Unset: a per-process in-memory cache, so each process counts
    on its own.
``GATEWAY_THROTTLE_ANON`` (default ``100/s``), ``GATEWAY_THROTTLE_STAFF`` (``20/s``),
``GATEWAY_THROTTLE_PUBLIC`` (``10/s``), ``GATEWAY_THROTTLE_PAGE_VIEWS`` (``30/m``),
``GATEWAY_THROTTLE_PASSWORD`` (``10/15m``)
    Request rates, ``N/<k><s|m|h|d>`` or ``off``: the anonymous JSON API per client IP; the
    staff API per user; the public endpoints that read Kafka or write rows (``/``,
    ``/ready``, ``/metrics``, ``/metrics/dlq``) per client IP; the page views recorded per
    client IP (loads beyond are served but not counted); password checks per client IP
    (``/login`` and HTTP Basic; the attempt is counted before the ~0.5 s hash and given
    back when it succeeds, so wrong passwords lock the address out until the window ends).
    A refused request is a JSON 429 with ``Retry-After``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import ROOT, load

PLATFORM = load()

BASE_DIR = ROOT


def _flag(name: str, default: str = "0") -> bool:
    return (os.environ.get(name, "") or default).strip().lower() in ("1", "true", "yes", "on")


def _list(name: str, default: str = "") -> list[str]:
    return [p.strip() for p in (os.environ.get(name) or default).split(",") if p.strip()]


DEBUG = _flag("DJANGO_DEBUG")
HTTPS = _flag("DJANGO_HTTPS")

#: Keys published in this repository's history or compose file: never accepted without DEBUG.
PUBLIC_SECRET_KEYS = frozenset(
    {"dev-only-insecure-key-set-DJANGO_SECRET_KEY", "compose-demo-only-change-me"}
)
_KEY_HELP = (
    "set DJANGO_SECRET_KEY to a random string of 50+ characters, e.g. the output of "
    "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`"
)


def _local_secret_key(path: Path) -> str:
    """This checkout's generated key: created once (atomically: concurrent starts agree)."""
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            draft = path.with_name(f".{path.name}.{os.getpid()}")
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(50) + "\n")
            try:
                os.link(draft, path)
            except FileExistsError:
                pass  # another process won the race: use its key
            finally:
                draft.unlink()
        return path.read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(
            f"SECRET_KEY: DJANGO_SECRET_KEY is not set and {path} cannot be used "
            f"({exc}): {_KEY_HELP}."
        ) from exc


def weak_secret_key(key: str) -> bool:
    """A public default, or weaker than Django's ``check --deploy`` accepts (W009)."""
    return (
        key in PUBLIC_SECRET_KEYS
        or key.startswith("django-insecure-")
        or len(key) < 50
        or len(set(key)) < 5
    )


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "").strip()
if not SECRET_KEY:
    if HTTPS:
        raise ImproperlyConfigured(
            "SECRET_KEY: DJANGO_SECRET_KEY is not set and DJANGO_HTTPS=1: a deployment needs "
            f"one explicit key shared by its gateway processes; {_KEY_HELP}."
        )
    SECRET_KEY = _local_secret_key(ROOT / "var" / "secret_key")
if not DEBUG and weak_secret_key(SECRET_KEY):
    raise ImproperlyConfigured(
        "SECRET_KEY: DJANGO_SECRET_KEY is a public default or too weak and DEBUG is off; "
        f"refusing to start: {_KEY_HELP} (or unset it for a key generated in var/)."
    )

ALLOWED_HOSTS = _list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],gateway")

# -- HTTPS (DJANGO_HTTPS=1), proxies, framing ------------------------------------------
SECURE_SSL_REDIRECT = HTTPS
#: Probes and scrapers call these on the plain port inside the deployment.
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$", r"^metrics(/dlq)?$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS") or 31_536_000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS and _flag("DJANGO_HSTS_INCLUDE_SUBDOMAINS", "1")
SECURE_HSTS_PRELOAD = HTTPS and _flag("DJANGO_HSTS_PRELOAD", "1")
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = _list("DJANGO_CSRF_TRUSTED_ORIGINS")


def _proxy_ssl_header(text: str) -> tuple[str, str] | None:
    """``"X-Forwarded-Proto: https"`` -> ``("HTTP_X_FORWARDED_PROTO", "https")``."""
    if not text.strip():
        return None
    name, sep, value = text.partition(":")
    if not sep or not name.strip() or not value.strip():
        raise ImproperlyConfigured(
            "DJANGO_SECURE_PROXY_SSL_HEADER must look like 'X-Forwarded-Proto: https'."
        )
    return "HTTP_" + name.strip().upper().replace("-", "_"), value.strip()


SECURE_PROXY_SSL_HEADER = _proxy_ssl_header(os.environ.get("DJANGO_SECURE_PROXY_SSL_HEADER", ""))

AUTH_PASSWORD_VALIDATORS = [
    # Not UserAttributeSimilarityValidator: staff accounts are ops logins, often named after
    # their role, and the harness's test accounts are ("it-admin", "it-admin-pw-7").
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

#: Throttle counters and the password lockout (``gateway.throttles``).
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
        if (url := os.environ.get("GATEWAY_CACHE_URL", "").strip())
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "gateway"}
    )
}

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "gateway.orders",
    "gateway.catalog",
    "gateway.analytics",
    "gateway.operations",
    "gateway.outbox",
    "gateway.projector",
    "dashboard",
]

MIDDLEWARE = [
    "gateway.operations.counters.RequestCountMiddleware",
    "gateway.middleware.BodySizeLimitMiddleware",
    "gateway.middleware.DependencyUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

#: A request refused by the CSRF check gets the JSON error shape too.
CSRF_FAILURE_VIEW = "gateway.errors.csrf_failure"

ROOT_URLCONF = "gateway.urls"
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/dashboard/ops"
ASGI_APPLICATION = "gateway.asgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ]
        },
    }
]

#: Connections in the database pool, at most (``GATEWAY_DB_POOL_MAX``).
_POOL_MAX = int(os.environ.get("GATEWAY_DB_POOL_MAX", "") or 16)
#: Threads that serve requests (``gateway.handler``), one request at a time each: by
#: default as many as the pool has connections, so no request waits for one.
GATEWAY_REQUEST_THREADS = int(os.environ.get("GATEWAY_REQUEST_THREADS", "") or _POOL_MAX)

_db = dj_database_url.parse(PLATFORM.database_url)
if _db["ENGINE"] == "django.db.backends.postgresql":
    # A pool, not persistent connections: under Django's ASGI handler every request ran
    # its sync code in a thread of its own, and CONN_MAX_AGE kept one connection open per
    # dead thread (71 idle after a 500-order load run, then "too many clients" and HTTP 500 for
    # every request). The pool keeps at most ``GATEWAY_DB_POOL_MAX`` connections per
    # process and hands them from request to request.
    _db["CONN_MAX_AGE"] = 0
    # A PostgreSQL restart must not cost a request: every connection is checked before
    # the pool hands it out, and a failed check drains the pool (``gateway.pgpool``).
    # Reconnection attempts during an outage give up after ``reconnect_timeout`` instead
    # of backing off for minutes; the next request then opens a connection at once.
    _db["ENGINE"] = "gateway.pgpool"
    _db["CONN_HEALTH_CHECKS"] = True
    _db["OPTIONS"] = {
        "pool": {
            "min_size": 2,
            "max_size": _POOL_MAX,
            "timeout": 10,
            "reconnect_timeout": 5,
        }
    }
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    (ROOT / "var").mkdir(exist_ok=True)
    # Several processes (gateway, relay, projector) share the file: wait on locks.
    _db["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    _db["CONN_MAX_AGE"] = 0
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
STATIC_URL = "static/"

#: Requests with a larger body are refused with 413 before any parsing.
MAX_REQUEST_BODY_BYTES = int(os.environ.get("GATEWAY_MAX_BODY_BYTES", str(64 * 1024)))
#: `/ready` fails while the oldest unpublished outbox row is older than this (seconds).
GATEWAY_OUTBOX_MAX_AGE_S = float(os.environ.get("GATEWAY_OUTBOX_MAX_AGE_S", "30"))
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["gateway.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "gateway.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Fixed-window counters in CACHES (see the module docstring); the staff API and the
    # plain Django views choose their own scope.
    "DEFAULT_THROTTLE_CLASSES": ["gateway.throttles.AnonThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("GATEWAY_THROTTLE_ANON") or "100/s",
        "staff": os.environ.get("GATEWAY_THROTTLE_STAFF") or "20/s",
        "public": os.environ.get("GATEWAY_THROTTLE_PUBLIC") or "10/s",
        "page_views": os.environ.get("GATEWAY_THROTTLE_PAGE_VIEWS") or "30/m",
        "password": os.environ.get("GATEWAY_THROTTLE_PASSWORD") or "10/15m",
    },
    # The client IP is REMOTE_ADDR unless proxies are declared (X-Forwarded-For is
    # otherwise anyone's to forge, and would dodge every per-IP limit).
    "NUM_PROXIES": int(os.environ.get("DJANGO_NUM_PROXIES") or 0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Choreography-saga order platform API",
    "DESCRIPTION": "Place orders and follow them through payment, inventory and the saga.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every operation's common error answers, in the problem shape (gateway.openapi).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "gateway.openapi.document_errors",
    ],
}


def _channel_layer_url(redis_url: str) -> str:
    """``REDIS_URL`` with database 1: the channel layer's keys never mix with inventory's
    stock (database 0 of the same server, which runs ``noeviction``: see harness/redis.py
    and docker-compose.yml)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(redis_url)
    return urlunsplit(parts._replace(path="/1"))


#: Live updates to browsers (dashboard): channels-redis on the platform's Redis, database 1.
#: A message that cannot be delivered in time is dropped; browsers notice the gap and resync.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [_channel_layer_url(PLATFORM.redis_url)],
            "capacity": 500,
            "expiry": 30,
        },
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}, "aiokafka": {"level": "WARNING"}},
}
