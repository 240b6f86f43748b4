"""Recur settings: one file, read from the environment, failing loudly where production needs a value.

Every variable is listed in the README's configuration table.
"""

import datetime as dt
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# A development default exists only where DEBUG is on; production must set its own secret.
if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="recur-dev-only-secret-key-not-for-production")
else:
    SECRET_KEY = env.str("SECRET_KEY")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # The kernel (audit log, idempotency, roles) and the product-to-cash stages, left to right. They
    # come first so their templates and translations win over Django's own (login, "Email", "Filter").
    "billing_site",
    "customers",
    "catalog",
    "quotes",
    "contracts",
    "invoicing",
    "payments",
    "accounting",
    "imports",
    # Around the flow: delivers the events the stages record (imports none of them).
    "webhooks",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "djmoney",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "billing_site.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "billing_site.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "billing_site.urls"
WSGI_APPLICATION = "billing_site.wsgi.application"
ASGI_APPLICATION = "billing_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "billing_site.context_processors.shell",
            ],
        },
    },
]

# SQLite under var/ is the embedded default; DATABASE_URL selects PostgreSQL in production and CI.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'recur.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process, the worker and beat share the file: WAL lets readers run beside one writer,
    # IMMEDIATE takes the write lock at BEGIN so two writers queue instead of failing mid-transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    DATABASES["default"]["TEST"] = {"NAME": env.str("SQLITE_TEST_NAME", default="") or None}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# SQLite cannot enforce NULLS NOT DISTINCT unique constraints; services validate the same rule.
SILENCED_SYSTEM_CHECKS = ["models.W047"]

# Login throttling (billing_site/security.py): the axes backend refuses a locked-out username or client
# address before any password is hashed; a success resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one alone locks
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # attempts during a lock do not extend it
AXES_LOCKOUT_CALLABLE = "billing_site.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "billing_site.security.client_ip"
AXES_VERBOSE = False
# How many reverse proxies in front of the app append to X-Forwarded-For (0: use REMOTE_ADDR).
LOGIN_TRUSTED_PROXIES = env.int("LOGIN_TRUSTED_PROXIES", default=0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Internationalisation: English and French; the user's preference wins over the browser's.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "billing_site" / "locale"]
# One date format per language on every page and document (billing_site/formats/).
FORMAT_MODULE_PATH = ["billing_site.formats"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
# Business dates (invoice dates, service periods, "today") are computed in this zone.
BILLING_TIME_ZONE = env.str("BILLING_TIME_ZONE", default="Europe/Paris")

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "billing_site" / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
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

# Contracts: renewal quotes (or auto-renewals) are made this many days before a contract ends.
RENEWAL_NOTICE_DAYS = env.int("RENEWAL_NOTICE_DAYS", default=60)

# Invoicing: accounts billed per database transaction in a run chunk (a failure retries them one by one).
INVOICING_ACCOUNTS_PER_TRANSACTION = env.int("INVOICING_ACCOUNTS_PER_TRANSACTION", default=100)

# A contract migrated from another system (the contracts import) is scheduled this many months
# ahead, not to its end; the daily job writes the rest as the months pass, an amendment first writes
# it all. 0: to the end, as a contract activated here.
MIGRATED_SCHEDULE_MONTHS = env.int("MIGRATED_SCHEDULE_MONTHS", default=3)
# Invoicing: an invoice run's target and invoice dates may be at most this many days ahead.
INVOICE_RUN_HORIZON_DAYS = env.int("INVOICE_RUN_HORIZON_DAYS", default=400)

# Invoicing: a running chunk with no heartbeat for this many seconds lost its worker; beat sends it again.
INVOICE_RUN_STALE_SECONDS = env.int("INVOICE_RUN_STALE_SECONDS", default=90)

# Payments: a transiently declined charge is tried again this many days after the first decline.
PAYMENT_RETRY_DAYS = [int(d) for d in env.list("PAYMENT_RETRY_DAYS", default=["3", "5", "7"])]

# Webhooks: seconds a receiver has to answer, and failed attempts in a row that disable an endpoint.
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=10)
WEBHOOK_DISABLE_AFTER_FAILURES = env.int("WEBHOOK_DISABLE_AFTER_FAILURES", default=50)

# Money
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "JPY", "KWD")
DEFAULT_CURRENCY = env.str("DEFAULT_CURRENCY", default="EUR")

# Email: console in development, SMTP through EMAIL_URL in production.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="billing@recur.local")
# The address people open Recur at, for links in e-mails sent by jobs and commands (set-password links).
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")

# Celery. With CELERY_BROKER_URL (Redis) it is used; without it, a real worker and beat run on
# kombu's filesystem transport under var/broker, which needs no server.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
BROKER_DIR = Path(env.str("BROKER_DIR", default=str(VAR_DIR / "broker")))
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # kombu keeps its exchange tables here; its default is ./control in the working directory.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=f"file://{BROKER_DIR / 'results'}")
else:
    # Redis redelivers a task that is not acknowledged within this many seconds (tasks acknowledge
    # late, when done): it must cover the longest task, an invoice run chunk, or a slow chunk would
    # be handed to a second worker while the first still runs it. A dead worker's chunk does not
    # wait for it: beat sends it again after INVOICE_RUN_STALE_SECONDS (invoicing.tasks.invoice_runs_recover).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3 * 3600)}
    CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = BILLING_TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Each stage declares its scheduled jobs in `<app>/beat.py` as SCHEDULE (invoice runs, payment runs,
# dunning, renewals, quote expiry); they are merged here.
CELERY_BEAT_SCHEDULE: dict = {
    "heartbeat": {"task": "billing_site.tasks.heartbeat", "schedule": 300.0},
}
for _app in ("customers", "catalog", "quotes", "contracts", "invoicing", "payments", "accounting", "webhooks"):
    if find_spec(f"{_app}.beat"):
        CELERY_BEAT_SCHEDULE.update(import_module(f"{_app}.beat").SCHEDULE)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["billing_site.permissions.RolePermission"],
    "DEFAULT_PAGINATION_CLASS": "billing_site.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "billing_site.schema.AutoSchema",
    "EXCEPTION_HANDLER": "billing_site.api.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Recur API",
    "DESCRIPTION": (
        "Recur billing back-office: accounts, catalog, quotes, contracts, invoices and payments. "
        "Authenticate with `Authorization: Token <key>` or a session. Every POST accepts an "
        "`Idempotency-Key` header: the same key and body replay the first response; the same key "
        "with another body is refused with 409. Errors share one format: "
        '`{"error": {"code", "message", "fields": {field: [messages]}}}`. Amounts are strings at the '
        'currency\'s minor unit (EUR `"250.00"`, JPY `"250"`); unit prices and quantities keep their '
        'significant decimals (`"93.333333"`, `"2.5"`). Events: `GET /api/v1/events/?after=<sequence>`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Operation ids and tags without the version prefix: `accounts_list`, `quotes_submit`.
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SCHEMA_PATH_PREFIX_TRIM": False,
    # One readable name per choice set (several models have a `status`); drf-spectacular resolves nested
    # dotted paths, so the kernel imports no stage for it.
    "ENUM_NAME_OVERRIDES": {
        "EventTypeEnum": "billing_site.events.EVENT_TYPE_CHOICES",
        "RoleEnum": "billing_site.roles.Role",
        "AccountStatusEnum": "customers.models.Account.Status",
        "QuoteStatusEnum": "quotes.models.Quote.Status",
        "OrderTypeEnum": "contracts.models.Order.Type",
        "OrderStatusEnum": "contracts.models.Order.Status",
        "AmendmentTypeEnum": "contracts.models.AmendmentType",
        "ContractStatusEnum": "contracts.models.Contract.Status",
        "SubscriptionStatusEnum": "contracts.models.Subscription.Status",
        "ScheduleEntryKindEnum": "contracts.models.ScheduleEntry.Kind",
        "ScheduleEntryStatusEnum": "contracts.models.ScheduleEntry.Status",
        "InvoiceStatusEnum": "invoicing.models.Invoice.Status",
        "LineSourceEnum": "invoicing.models.LineSource",
        "CreditNoteKindEnum": "invoicing.models.CreditNote.Kind",
        "CreditNoteStatusEnum": "invoicing.models.CreditNote.Status",
        "InvoiceRunStatusEnum": "invoicing.models.InvoiceRun.Status",
        "StatementImportStatusEnum": "payments.models.StatementImport.Status",
        "StatementLineStatusEnum": "payments.models.StatementLine.Status",
        "PaymentRunStatusEnum": "payments.models.PaymentRun.Status",
        "PaymentAttemptStatusEnum": "payments.models.PaymentAttempt.Status",
        "PaymentSourceEnum": "payments.models.Payment.Source",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # failures and lockouts, not every successful sign-in
    },
}

CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default="default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
            "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)

# Production behind a TLS-terminating proxy (docs/deployment.md): `manage.py check --deploy` passes
# with these defaults. SECURE_PROXY_SSL_HEADER trusts the proxy's X-Forwarded-Proto: set it only
# when the proxy always sets (or strips) that header.
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # probes inside the network speak plain HTTP
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    if env.bool("BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
