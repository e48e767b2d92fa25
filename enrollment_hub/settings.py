"""Enrollment Hub settings: one module, every deployment difference read from the environment.

See `.env.example` for the variables. Values are typed and fail loudly when malformed.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Development by default (as a fresh clone is run); every deployment sets DEBUG=False, and then
# SECRET_KEY and FIELD_ENCRYPTION_KEYS must be given.
DEBUG = env.bool("DEBUG", default=True)

if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
else:
    SECRET_KEY = env.str("SECRET_KEY")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "forms_catalog",
    "sso",
    "parent_portal",
    "admin_config",
    "roster",  # SIS roster sync (OneRoster CSV and REST)
    "security",  # sign-in index, security audit events; keep after the apps whose admin it extends
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "enrollment_hub.security.SecurityHeadersMiddleware",  # CSP, Permissions-Policy (hardening)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "enrollment_hub.security.SignInLifetimeMiddleware",  # idle/absolute timeout, deactivated accounts
    "enrollment_hub.throttle.SignInThrottleMiddleware",  # SSO start/callback, Django admin sign-in
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "enrollment_hub.urls"
WSGI_APPLICATION = "enrollment_hub.wsgi.application"

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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# Database: SQLite in the project folder unless DATABASE_URL says otherwise.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's built-in psycopg 3 connection pool; CONN_MAX_AGE must stay 0 with it.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DB_POOL_MAX_SIZE", default=8),
        "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
    }

# Shared cache (locks, discovery/JWKS caches, throttles): Redis in production, local memory by default.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://enrollment-hub")}

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = env.str("LOGIN_URL", default="/admin/login/")

# Security: secure defaults in production, relaxed only by DEBUG for local HTTP.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# Fernet keys for secrets at rest, newest first (comma-separated). Generate one with
# `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

# --- Parent single sign-on and outbound HTTP (sso app) ------------------------------------------
# Every request to a district's identity provider or SIS goes through sso.safe_http: https only,
# these timeouts and size cap, and no private/loopback/link-local addresses unless explicitly
# allowed (tests and the local demo only; never in production).
OUTBOUND_ALLOW_PRIVATE_ADDRESSES = env.bool("OUTBOUND_ALLOW_PRIVATE_ADDRESSES", default=False)
OUTBOUND_CONNECT_TIMEOUT = env.float("OUTBOUND_CONNECT_TIMEOUT", default=5.0)
OUTBOUND_READ_TIMEOUT = env.float("OUTBOUND_READ_TIMEOUT", default=10.0)
OUTBOUND_MAX_BYTES = env.int("OUTBOUND_MAX_BYTES", default=1024 * 1024)
# Parents sign in through their district's OIDC provider (configuration per district, read at
# request time by sso.oidc); staff keep Django's password sign-in.
AUTHENTICATION_BACKENDS = [
    "sso.oidc.DistrictOIDCBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Cache lifetime of a provider's JWKS (an unknown key id refetches once).
SSO_JWKS_CACHE_SECONDS = env.int("SSO_JWKS_CACHE_SECONDS", default=3600)
# Allowed clock skew for ID token exp/iat, in seconds.
SSO_CLOCK_LEEWAY_SECONDS = env.int("SSO_CLOCK_LEEWAY_SECONDS", default=60)
# Demo mode: a development identity provider with demo parent accounts (scripts/run-demo).
# It can never be switched on in production settings.
DEMO_MODE = env.bool("DEMO_MODE", default=False)
if DEMO_MODE and not DEBUG:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("DEMO_MODE=True is refused when DEBUG=False: the demo identity provider "
                               "and its demo parent accounts never run in production.")

# --- District admin console (admin_config) --------------------------------------------------------
# Staff sign-in throttle (admin_config/throttle.py): after LOGIN_FAILURE_LIMIT failed sign-ins for one
# username, or from one client IP, within LOGIN_FAILURE_WINDOW seconds, further attempts are refused
# until the window ends. Counters live in the shared cache (CACHE_URL), so the limit holds across app
# servers; Django admin's sign-in shares them (enrollment_hub.throttle.SignInThrottleMiddleware).
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_FAILURE_WINDOW = env.int("LOGIN_FAILURE_WINDOW", default=15 * 60)
# Rows per page in the Submission Workspace and the audit log.
CONSOLE_PAGE_SIZE = env.int("CONSOLE_PAGE_SIZE", default=50)

# --- Hardening: sign-in lifetime, throttles, shared-cache outages (enrollment_hub/security.py,
# enrollment_hub/throttle.py, enrollment_hub/cache.py, security app; docs/reliability.md) -------
# OWASP ASVS 7.3: a sign-in ends after this many idle seconds, and at the latest this many seconds
# after it began, whatever the activity. Both are checked server-side on every request.
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_ABSOLUTE_LIFETIME = env.int("SESSION_ABSOLUTE_LIFETIME", default=SESSION_COOKIE_AGE)
# Activity is written to the session at most this often (seconds), not on every request.
SESSION_ACTIVITY_RESOLUTION = env.int("SESSION_ACTIVITY_RESOLUTION", default=60)
SESSION_COOKIE_AGE = max(SESSION_COOKIE_AGE, SESSION_ABSOLUTE_LIFETIME)
SESSION_COOKIE_SAMESITE = "Lax"  # the identity provider's redirect back is a top-level GET
CSRF_COOKIE_HTTPONLY = True  # scripts read the token from the form's csrfmiddlewaretoken field
CSRF_COOKIE_SAMESITE = "Lax"
# Throttles: {"<name>_<ip|account>": (limit, window_seconds)} overriding enrollment_hub/throttle.py's
# defaults (sso_start, sso_callback: every request per address and per district). Counters live in
# the shared cache. Staff password sign-in (console and Django admin) uses LOGIN_FAILURE_LIMIT/_WINDOW.
THROTTLE_RULES: dict = {}
# Behind N trusted proxies, the client address is the Nth entry from the right of X-Forwarded-For.
THROTTLE_TRUSTED_PROXIES = env.int("THROTTLE_TRUSTED_PROXIES", default=0)
# Redis as the shared cache degrades instead of raising while Redis is unreachable, and is not
# retried for CACHE_RETRY_AFTER seconds after a failure.
CACHE_RETRY_AFTER = env.float("CACHE_RETRY_AFTER", default=5.0)
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "enrollment_hub.cache.ResilientRedisCache"
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {"socket_connect_timeout": env.float("CACHE_CONNECT_TIMEOUT", default=0.5),
         "socket_timeout": env.float("CACHE_SOCKET_TIMEOUT", default=1.0)}
    )

# --- Form tab (parent_portal/form_views.py, parent_portal/form_runtime/) ---------------------------
# R9 Cannot Open Another Form: a guardian's open-form lock (a database row, so every app server sees
# it) expires this many seconds after the tab was last used; the tab's heartbeat renews it.
FORM_LOCK_TIMEOUT = env.int("FORM_LOCK_TIMEOUT", default=10 * 60)
# The payment gateway class (parent_portal.form_runtime.payments.PaymentGateway); the sandbox by default.
PAYMENT_GATEWAY = env.str("PAYMENT_GATEWAY", default="parent_portal.form_runtime.payments.SandboxGateway")
# The form tab's Spanish strings; the portal's catalog (locale/) comes first where both have a string.
LOCALE_PATHS = [*LOCALE_PATHS, BASE_DIR / "parent_portal" / "form_runtime" / "locale"]

# --- Performance (docs/performance.md) -----------------------------------------------------------
# Deployments (or test runs) that share one Redis keep their keys apart with a prefix.
if env.str("CACHE_KEY_PREFIX", default=""):
    CACHES["default"]["KEY_PREFIX"] = env.str("CACHE_KEY_PREFIX")
# The cached form catalog (forms_catalog/catalog_cache.py): None = on when the cache is shared by
# every process (Redis), off with per-process memory; True/False force it.
FORM_CATALOG_CACHE = env.bool("FORM_CATALOG_CACHE", default=None)
