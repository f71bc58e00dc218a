"""Settings, read from the environment (django-environ). Every setting is listed in README.md."""

from datetime import time
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="insecure-demo-key-change-me" if DEBUG else "")
if not SECRET_KEY:
    # Refuse to start a production process with a guessable key.
    raise environ.ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config.apps.DialerAdminConfig",  # django.contrib.admin with a site for admins only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "agents",
    "campaigns",
    "leads",
    "dialer",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

# The demo runs on a SQLite file; tests and production use PostgreSQL (DATABASE_URL).
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'demo.sqlite3'}")
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # SQLite cannot hold a connection across threads; keep it simple for the demo.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The demo's web server, Celery worker, dialer and simulated agents all write: WAL lets
    # readers run beside the writer, IMMEDIATE takes the write lock when a transaction begins
    # (a deferred one upgrading later fails "database is locked" without waiting).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 60,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
# Everything is stored in UTC; ACCOUNT_TIMEZONE is how people read it.
TIME_ZONE = "UTC"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "config" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# --- The account (a single call center per installation) ---
ACCOUNT_NAME = env.str("ACCOUNT_NAME", default="Demo Call Center")
ACCOUNT_TIMEZONE = env.str("ACCOUNT_TIMEZONE", default="America/New_York")
# Region used to read national-format numbers (ISO 3166 code, as phonenumbers wants it).
ACCOUNT_DEFAULT_REGION = env.str("ACCOUNT_DEFAULT_REGION", default="US")
ACCOUNT_DEFAULT_CALLER_ID = env.str("ACCOUNT_DEFAULT_CALLER_ID", default="+12025550100")
ACCOUNT_DEFAULT_CALLER_NAME = env.str("ACCOUNT_DEFAULT_CALLER_NAME", default="Demo Call Center")
# The account's main numbers, offered as "Account" caller ID rows in the campaign builder.
ACCOUNT_MAIN_NUMBERS = env.list("ACCOUNT_MAIN_NUMBERS", default=["+12025550100", "+12025550101"])
# Legal calling hours in the lead's local time; no campaign setting can dial outside them.
LEGAL_CALLING_START = time.fromisoformat(env.str("LEGAL_CALLING_START", default="08:00"))
LEGAL_CALLING_END = time.fromisoformat(env.str("LEGAL_CALLING_END", default="21:00"))

# --- Lead import limits ---
LEAD_IMPORT_MAX_BYTES = env.int("LEAD_IMPORT_MAX_BYTES", default=256 * 1024 * 1024)
CRM_SYNC_TIMEOUT = env.float("CRM_SYNC_TIMEOUT", default=30.0)
CRM_SYNC_MAX_LEADS = env.int("CRM_SYNC_MAX_LEADS", default=1_000_000)
# Big imports read phone numbers in this many worker processes (0 or 1: in the importing one).
LEAD_IMPORT_WORKERS = env.int("LEAD_IMPORT_WORKERS", default=2)
# From this many leads (CSV: from this many bytes / 80) an import uses the workers.
LEAD_IMPORT_PARALLEL_FROM = env.int("LEAD_IMPORT_PARALLEL_FROM", default=50_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Redis, Celery ---
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# The demo needs no broker server: kombu's filesystem transport under var/.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = env.json(
    "CELERY_BROKER_TRANSPORT_OPTIONS",
    default={
        "data_folder_in": str(BASE_DIR / "var" / "broker"),
        "data_folder_out": str(BASE_DIR / "var" / "broker"),
        "processed_folder": str(BASE_DIR / "var" / "broker-processed"),
        # Broadcast (pidbox) messages: without this kombu writes ./control in the working dir.
        "control_folder": str(BASE_DIR / "var" / "broker-control"),
        "store_processed": False,
    },
)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
SELECTOR_TICK_SECONDS = env.float("SELECTOR_TICK_SECONDS", default=1.0)
# A dial request not dialed within this is dropped (the lead retries); the reaper gives back
# leads whose request no dialer took within DIALER_REAP_AFTER.
DIALER_REQUEST_TTL = env.int("DIALER_REQUEST_TTL", default=60)
DIALER_REAP_AFTER = env.int("DIALER_REAP_AFTER", default=120)
# Ticks expire rather than pile up behind a busy worker: the next one does the same work.
CELERY_BEAT_SCHEDULE = {
    "selector-tick": {
        "task": "dialer.selector_tick",
        "schedule": SELECTOR_TICK_SECONDS,
        "options": {"expires": max(SELECTOR_TICK_SECONDS * 2, 2)},
    },
    "selector-reaper": {"task": "dialer.reap", "schedule": 10.0, "options": {"expires": 20}},
    "desk-tick": {"task": "agents.desktop.tick_all", "schedule": 2.0, "options": {"expires": 4}},
}

# --- FreeSWITCH Event Socket ---
ESL_HOST = env.str("ESL_HOST", default="127.0.0.1")
ESL_PORT = env.int("ESL_PORT", default=8021)
ESL_PASSWORD = env.str("ESL_PASSWORD", default="ClueCon")
DIALER_NODE = env.str("DIALER_NODE", default="fs1")
DIALER_GATEWAY = env.str("DIALER_GATEWAY", default="carrier")
DIALER_CALLS_PER_SECOND = env.float("DIALER_CALLS_PER_SECOND", default=10.0)
DIALER_MAX_CONCURRENT_CALLS = env.int("DIALER_MAX_CONCURRENT_CALLS", default=200)
# The dialer's database writers as processes (dialer.recorder): off the daemon's GIL on
# PostgreSQL; SQLite (the demo) takes one writer at a time, so threads there.
DIALER_RECORDER_PROCESSES = env.int(
    "DIALER_RECORDER_PROCESSES",
    default=0 if DATABASES["default"]["ENGINE"].endswith("sqlite3") else 2,
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Outbound Dialer API",
    "DESCRIPTION": "Campaigns, leads and lead status of the outbound dialer.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
