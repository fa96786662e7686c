"""One env-driven settings file.

Every knob is an environment variable with a sane local default, so a laptop runs Guanxi with no
configuration and a company deployment sets DATABASE_URL, REDIS_URL, SECRET_KEY and ALLOWED_HOSTS.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
DATA_DIR = Path(os.environ.get("GUANXI_DATA_DIR", PROJECT_DIR / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
DEFAULT_SECRET_KEY = "guanxi-insecure-local-development-key-change-me-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1", "testserver"}

# A public deployment must not run with the key from the source tree: sessions, tokens and password
# reset links would be forgeable by anyone who read it. Local use keeps working without setup.
if not DEBUG and SECRET_KEY == DEFAULT_SECRET_KEY and not set(ALLOWED_HOSTS) <= LOCAL_HOSTS:
    raise ImproperlyConfigured(
        "SECRET_KEY is the built-in development key while DEBUG is off and ALLOWED_HOSTS "
        "names a non-local host. Set SECRET_KEY to a long random value."
    )

SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "template_partials",
    # Listed so the API docs page uses ninja's bundled Swagger UI files (served by us, no inline
    # script) instead of a CDN page with inline script that the CSP would block.
    "ninja",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "django_tasks_rq",
    "django_rq",
    "guanxi.core",
    "guanxi.accounts",
    "guanxi.customers",
    "guanxi.transfer",
    "guanxi.notifications",
    "guanxi.engagement",
    "guanxi.service",
    "guanxi.service.knowledge",
    "guanxi.service.quality",
    "guanxi.feedback",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "guanxi.core.middleware.RequestContextMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "guanxi.core.middleware.ApiErrorContractMiddleware",
    # Before the NUL guard, which reads every form body: see UploadSizeGuardMiddleware.
    "guanxi.core.middleware.UploadSizeGuardMiddleware",
    "guanxi.core.middleware.NulByteGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "guanxi.accounts.middleware.SecondFactorMiddleware",
    "guanxi.core.middleware.ApplicationErrorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "guanxi.urls"
WSGI_APPLICATION = "guanxi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "guanxi.core.context_processors.shell",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
# IMMEDIATE takes the write lock when a transaction starts, so two writers queue on the busy
# timeout instead of one failing with "database is locked" halfway through. WAL lets readers
# carry on while one process writes.
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": (
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=NORMAL;"
        "PRAGMA foreign_keys=ON;"
        "PRAGMA busy_timeout=20000;"
    ),
}
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        # A SQLite file named by URL gets the same settings as the default one.
        DATABASES["default"]["OPTIONS"] = {
            **SQLITE_OPTIONS,
            **DATABASES["default"].get("OPTIONS", {}),
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "guanxi.sqlite3",
            "OPTIONS": dict(SQLITE_OPTIONS),
            "TEST": {"NAME": os.environ.get("GUANXI_TEST_SQLITE") or None},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, sessions, jobs ------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    # The database cache is shared by every gunicorn worker, which the API rate limit relies on.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "guanxi_cache",
            # Culling at the default 300 entries would throw away rate-limit counters and
            # sign-in lockouts under load.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = int(os.environ.get("GUANXI_SESSION_SECONDS", 60 * 60 * 12))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "guanxi.core.errors.csrf_failure"

RQ_QUEUES = {"default": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0", "DEFAULT_TIMEOUT": 600}}
if REDIS_URL:
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

AXES_FAILURE_LIMIT = int(os.environ.get("GUANXI_LOGIN_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = float(os.environ.get("GUANXI_LOGIN_COOLOFF_HOURS", 0.25))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "guanxi.accounts.views.login_locked_out"
AXES_CLIENT_IP_CALLABLE = "guanxi.core.context.request_client_ip"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False
OTP_TOTP_ISSUER = "Guanxi"

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_NAME = "guanxi_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": os.environ.get(
            "GUANXI_STATICFILES_STORAGE",
            "guanxi.core.storage.StaticStorage",
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security headers -----------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
HTTPS = env_bool("GUANXI_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("GUANXI_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("GUANXI_HSTS_SECONDS", 31536000 if HTTPS else 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- API ------------------------------------------------------------------------------------
NINJA_PAGINATION_PER_PAGE = 50
GUANXI_API_RATE = os.environ.get("GUANXI_API_RATE", "600/min")
GUANXI_API_TOKEN_PREFIX = "gx_"

# --- Product policy knobs --------------------------------------------------------------------
GUANXI_RECYCLE_DAYS = int(os.environ.get("GUANXI_RECYCLE_DAYS", 30))
# How many contacts' masked phones, e-mail and WeChat IDs one user may reveal per day (midnight to
# midnight in TIME_ZONE); a cap makes bulk harvesting of personal data slow and visible (PIPL).
GUANXI_REVEAL_DAILY_LIMIT = int(os.environ.get("GUANXI_REVEAL_DAILY_LIMIT", 30))
GUANXI_DEMO_PASSWORD = os.environ.get("GUANXI_DEMO_PASSWORD", "guanxi-demo")
# Exports (guanxi.transfer): up to this many rows download at once, more run as a background job
# whose file stays downloadable for GUANXI_EXPORT_KEEP_DAYS; beyond GUANXI_EXPORT_MAX_ROWS the
# filters must narrow it (an XLSX sheet holds 1,048,576 rows).
GUANXI_EXPORT_SYNC_LIMIT = int(os.environ.get("GUANXI_EXPORT_SYNC_LIMIT", 5000))
GUANXI_EXPORT_MAX_ROWS = int(os.environ.get("GUANXI_EXPORT_MAX_ROWS", 1_000_000))
GUANXI_EXPORT_KEEP_DAYS = int(os.environ.get("GUANXI_EXPORT_KEEP_DAYS", 7))
GUANXI_EXPORT_PENDING_LIMIT = int(os.environ.get("GUANXI_EXPORT_PENDING_LIMIT", 3))
# A vCard file to import: a hostile or mistaken upload cannot make the parser eat the memory.
# Each card also recomputes the customer's search key, so the time grows with the square of the
# count: about 5 s for 200 cards on two cores.
GUANXI_VCARD_MAX_BYTES = int(os.environ.get("GUANXI_VCARD_MAX_BYTES", 1024 * 1024))
GUANXI_VCARD_MAX_CARDS = int(os.environ.get("GUANXI_VCARD_MAX_CARDS", 200))
# CSV / XLSX imports (guanxi.transfer): files up to GUANXI_IMPORT_MAX_BYTES and
# GUANXI_IMPORT_MAX_ROWS rows; an XLSX (a zip) may unpack to GUANXI_IMPORT_XLSX_MAX_UNZIPPED
# bytes at a ratio of at most GUANXI_IMPORT_XLSX_MAX_RATIO per entry, so a zip bomb is refused
# before anything is inflated. Up to GUANXI_IMPORT_SYNC_ROWS rows run in the request, larger
# files as a job. An import can be undone for GUANXI_IMPORT_UNDO_DAYS.
GUANXI_IMPORT_MAX_BYTES = int(os.environ.get("GUANXI_IMPORT_MAX_BYTES", 256 * 1024 * 1024))
GUANXI_IMPORT_MAX_ROWS = int(os.environ.get("GUANXI_IMPORT_MAX_ROWS", 1_000_000))
GUANXI_IMPORT_XLSX_MAX_UNZIPPED = int(
    os.environ.get("GUANXI_IMPORT_XLSX_MAX_UNZIPPED", 1024 * 1024 * 1024)
)
GUANXI_IMPORT_XLSX_MAX_RATIO = int(os.environ.get("GUANXI_IMPORT_XLSX_MAX_RATIO", 200))
GUANXI_IMPORT_SYNC_ROWS = int(os.environ.get("GUANXI_IMPORT_SYNC_ROWS", 2000))
GUANXI_IMPORT_UNDO_DAYS = int(os.environ.get("GUANXI_IMPORT_UNDO_DAYS", 30))
# Files of GUANXI_IMPORT_PARALLEL_ROWS rows or more are validated by this many forked processes
# (0 or 1: in the importing process) while the importing process writes.
GUANXI_IMPORT_WORKERS = int(os.environ.get("GUANXI_IMPORT_WORKERS", os.cpu_count() or 1))
GUANXI_IMPORT_PARALLEL_ROWS = int(os.environ.get("GUANXI_IMPORT_PARALLEL_ROWS", 20_000))
# Interaction attachments (guanxi.engagement): the size of one file and how many one interaction
# keeps; the types are a fixed list checked by content (engagement.services.ATTACHMENT_TYPES).
# Service desk: a resolved ticket the customer has not confirmed closes after this many days (the
# confirmation link expires with it).
GUANXI_TICKET_AUTOCLOSE_DAYS = int(os.environ.get("GUANXI_TICKET_AUTOCLOSE_DAYS", 7))
GUANXI_ATTACHMENT_MAX_BYTES = int(os.environ.get("GUANXI_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))
GUANXI_ATTACHMENTS_PER_INTERACTION = int(os.environ.get("GUANXI_ATTACHMENTS_PER_INTERACTION", 10))
# Files a ticket keeps over its life (photos of the goods, invoices, logs): enough for a case, few
# enough that its page and its API answer stay small.
GUANXI_ATTACHMENTS_PER_TICKET = int(os.environ.get("GUANXI_ATTACHMENTS_PER_TICKET", 20))
# No setting of its own: core.middleware.UploadSizeGuardMiddleware refuses, unread, a request body
# larger than the largest upload the settings above allow (GUANXI_IMPORT_MAX_BYTES,
# GUANXI_VCARD_MAX_BYTES, or GUANXI_ATTACHMENT_MAX_BYTES times the larger per-request file count)
# plus 64 KiB for the rest of the form.

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "guanxi@localhost")
# For EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend (e-mail notifications).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", 25))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", 30))

# --- Notifications (guanxi.notifications) ---------------------------------------------------
# Robot webhook URLs and secrets are encrypted with this Fernet key (urlsafe base64, 32 bytes);
# empty: a key derived from SECRET_KEY. Old keys (comma-separated) still decrypt while rows are
# re-encrypted with `guanxi notifications_reencrypt` (docs/operations.md).
GUANXI_FIELD_ENCRYPTION_KEY = os.environ.get("GUANXI_FIELD_ENCRYPTION_KEY", "")
GUANXI_FIELD_ENCRYPTION_OLD_KEYS = env_list("GUANXI_FIELD_ENCRYPTION_OLD_KEYS", "")
# Robots post only to the providers' own hosts over https (no requests into the internal
# network); hosts listed here are allowed too, over http or https (a relay, or tests).
GUANXI_ROBOT_EXTRA_HOSTS = env_list("GUANXI_ROBOT_EXTRA_HOSTS", "")
GUANXI_ROBOT_TIMEOUT_SECONDS = float(os.environ.get("GUANXI_ROBOT_TIMEOUT_SECONDS", 10))
# Per-provider messages a minute per robot; the providers' published limits by default.
GUANXI_ROBOT_RATE_PER_MINUTE: dict[str, int] = {}
# E-mail and robot deliveries: attempts before giving up, and the first retry's wait (doubling).
GUANXI_NOTIFY_MAX_ATTEMPTS = int(os.environ.get("GUANXI_NOTIFY_MAX_ATTEMPTS", 5))
GUANXI_NOTIFY_RETRY_BASE_SECONDS = int(os.environ.get("GUANXI_NOTIFY_RETRY_BASE_SECONDS", 60))

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {"axes": {"level": "ERROR"}},
}

# How many reverse proxies in front of Guanxi append to X-Forwarded-For (0: trust the socket).
GUANXI_TRUSTED_PROXY_COUNT = int(os.environ.get("GUANXI_TRUSTED_PROXY_COUNT", 0))
NINJA_NUM_PROXIES = GUANXI_TRUSTED_PROXY_COUNT
