"""Django settings for the gateway, built on the shared platform settings."""

from __future__ import annotations

import os

import dj_database_url

from config.env import ROOT, load

PLATFORM = load()

BASE_DIR = ROOT
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-insecure-key-set-DJANGO_SECRET_KEY")
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],gateway").split(",")
    if h.strip()
]

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
    "django.middleware.security.SecurityMiddleware",
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

_db = dj_database_url.parse(PLATFORM.database_url)
if _db["ENGINE"] == "django.db.backends.postgresql":
    # A pool, not persistent connections: under ASGI every request runs its sync code
    # in a thread of its own, and CONN_MAX_AGE kept one connection open per dead thread
    # (71 idle after a 500-order load run, then "too many clients" and HTTP 500 for
    # every request). The pool keeps at most ``GATEWAY_DB_POOL_MAX`` connections per
    # process and hands them from request to request.
    _db["CONN_MAX_AGE"] = 0
    _db["OPTIONS"] = {
        "pool": {
            "min_size": 2,
            "max_size": int(os.environ.get("GATEWAY_DB_POOL_MAX", "") or 16),
            "timeout": 10,
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
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["gateway.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "gateway.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Choreography-saga order platform API",
    "DESCRIPTION": "Place orders and follow them through payment, inventory and the saga.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

#: Live updates to browsers (dashboard): channels-redis on the platform's Redis. A message
#: that cannot be delivered in time is dropped; browsers notice the gap and resync.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [PLATFORM.redis_url], "capacity": 500, "expiry": 30},
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
