"""ISO 3166 country choices, named in the active language (from Babel's CLDR data)."""

from functools import lru_cache

from babel import Locale
from django.utils import translation


@lru_cache(maxsize=8)
def _countries(language: str) -> tuple[tuple[str, str], ...]:
    territories = Locale.parse({"fr": "fr_FR"}.get(language, "en_US")).territories
    pairs = [(code, name) for code, name in territories.items() if len(code) == 2 and code.isalpha() and code not in {"ZZ", "XA", "XB", "EU", "EZ", "UN", "QO"}]
    return tuple(sorted(pairs, key=lambda p: p[1]))


def country_choices():
    return list(_countries((translation.get_language() or "en")[:2]))


def country_name(code: str) -> str:
    return dict(_countries((translation.get_language() or "en")[:2])).get(code, code)


COUNTRY_CODES = frozenset(code for code, _ in _countries("en"))

# Member states of the European Union (VAT area), for the intra-EU reverse-charge mention.
EU_COUNTRIES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU",
    "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})
