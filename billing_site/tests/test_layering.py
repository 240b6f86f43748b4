"""The kernel knows no stage (DESIGN §2): no module of billing_site imports a stage or the webhooks app."""

import ast
import os
from pathlib import Path

from django.conf import settings

KERNEL = Path(__file__).resolve().parents[1]
STAGES = {"customers", "catalog", "quotes", "contracts", "invoicing", "payments", "webhooks", "imports", "accounting"}


def test_no_kernel_module_imports_a_stage():
    offenders = []
    for path in KERNEL.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.relative_to(KERNEL)}: {n}" for n in names if n.split(".")[0] in STAGES]
    assert offenders == []


def test_the_embedded_broker_keeps_its_control_files_under_var():
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        assert options["control_folder"] == str(settings.BROKER_DIR / "control")
        if "BROKER_DIR" not in os.environ:
            assert settings.BROKER_DIR == settings.VAR_DIR / "broker"
