"""Production settings: `check --deploy` passes with the documented variables, every response has a
Content-Security-Policy that the pages satisfy (no inline script or style), the schema and the docs
accept a token."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x7!kq2@Lm9#vR4$tW8^zB1&nC6*pF3(sH5)jD0_gY2+eA7=uQ9-iO4~",
    "ALLOWED_HOSTS": "billing.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://billing.example.com",
    "BEHIND_TLS_PROXY": "1",
}


def test_check_deploy_with_the_documented_production_variables_prints_no_issue(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(PRODUCTION, STATIC_ROOT=str(tmp_path / "static"))
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout, done.stdout + done.stderr


def test_production_settings_redirect_to_https_and_trust_the_proxy(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(PRODUCTION, STATIC_ROOT=str(tmp_path / "static"))
    code = ("from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
            "s.SECURE_PROXY_SSL_HEADER, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_REDIRECT_EXEMPT)")
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "True 31536000 ('HTTP_X_FORWARDED_PROTO', 'https') True True ['^healthz$']", done.stderr


INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style[\s>]|\sstyle=\"|\son[a-z]+=\"", re.I)


@pytest.mark.parametrize("name", ["home", "customers:list", "quotes:index", "contracts:index", "invoicing:index",
                                  "invoicing:runs", "payments:index", "payments:reports", "password_change"])
def test_pages_carry_a_csp_and_no_inline_script_or_style(finance_client, name):
    response = finance_client.get(reverse(name), follow=True)
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
    assert INLINE.findall(response.content.decode()) == []


def test_the_schema_and_the_docs_accept_a_token(finance_user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=finance_user).key}")
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/accounts/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert INLINE.findall(docs.content.decode().split("</head>", 1)[1]) == []
    assert client.get("/api/docs/?script").status_code == 200
    assert APIClient().get("/api/schema/").status_code == 302  # no token, no session: the login page


def test_the_docs_page_opens_without_a_session_and_loads_the_schema_with_the_token_given_to_authorize(finance_user):
    """A token client has no session: the page and its script are public (no data in them); the script
    sends the credentials entered in Authorize (`Token <key>`) with the schema request."""
    import json
    import re

    anonymous = APIClient()
    page = anonymous.get("/api/docs/")
    assert page.status_code == 200 and b"swagger-ui" in page.content
    script = anonymous.get("/api/docs/?script").content.decode()
    names = re.search(r"const schemaAuthNames = (\[.*?\]);", script, re.S)
    assert json.loads(names.group(1)) == ["tokenAuth"]
    assert 'SwaggerUIBundle({\n  url: "/api/schema/?docs"' in script
    # Without credentials, the docs' schema request gets a sign-in prompt: no operation, the token scheme.
    prompt = anonymous.get("/api/schema/?docs").json()
    assert (prompt["paths"], list(prompt["components"]["securitySchemes"])) == ({}, ["tokenAuth"])
    assert anonymous.get("/api/schema/").status_code == 302  # a program without credentials: the login page
    # With the token Authorize sends, the same request is the whole schema.
    anonymous.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=finance_user).key}")
    full = anonymous.get("/api/schema/?docs&format=json").json()
    assert "/api/v1/accounts/" in full["paths"] and full["components"]["securitySchemes"]["tokenAuth"] == prompt[
        "components"]["securitySchemes"]["tokenAuth"]
