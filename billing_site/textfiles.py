"""Uploaded text files (CSV statements, usage files) read the same way everywhere."""

import codecs

from django.utils.translation import gettext as _

from billing_site.errors import ValidationFailed


def decode_text(content: bytes) -> str:
    """A text file's characters: UTF-8 (with or without BOM), UTF-16 with its BOM, else Latin-1.

    UTF-16 without a BOM cannot be told apart reliably; its NUL bytes give it away, and it is refused
    with what to do rather than misread as Latin-1 (every other character a NUL)."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ValidationFailed(fields={"file": _("The file says it is UTF-16 but cannot be read as such.")}) from exc
    if b"\x00" in content[:4096]:
        raise ValidationFailed(fields={"file": _("The file is not a text file in UTF-8, UTF-16 (with its byte-order mark) or Latin-1. Save it as CSV UTF-8.")})
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("latin-1")
