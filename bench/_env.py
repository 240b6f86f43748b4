"""What every benchmark script needs before Django starts: the project on `sys.path` and the settings a
benchmark runs with (imported first by each script, which runs from this folder)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_site.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("DEBUG", "0")  # DEBUG keeps every query in memory: never benchmark with it
os.environ.setdefault("ALLOWED_HOSTS", "testserver")  # the scripts that call pages use the test client's host
