"""English formats: one date format everywhere (pages used to mix "11/30/2026" and "Nov. 30, 2026")."""

from django.conf.locale.en.formats import *  # noqa: F403

DATE_FORMAT = "m/d/Y"
SHORT_DATE_FORMAT = "m/d/Y"
DATETIME_FORMAT = "m/d/Y H:i"
SHORT_DATETIME_FORMAT = "m/d/Y H:i"
