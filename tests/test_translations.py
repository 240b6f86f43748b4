"""Guard for the French catalogs: every message translated, nothing fuzzy, placeholders kept, .mo up to date.

When a test here fails after you added or changed a string:

    DEBUG=1 .venv/bin/python manage.py makemessages -l fr --no-location --ignore='.venv/*' --ignore='var/*' \
        --ignore='test-artifacts/*'
    # translate the msgids named in the failure, remove any "#, fuzzy" flag after checking the text
    DEBUG=1 .venv/bin/python manage.py compilemessages --ignore='.venv/*'

and commit both the .po and the .mo files.
"""

import io
import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from django.utils import translation

ROOT = Path(__file__).resolve().parents[1]
LANGUAGE = "fr"
NOT_THE_PROJECT = {"var", "test-artifacts", "node_modules"}  # and every hidden folder, such as .venv
CATALOGS = sorted(
    path
    for path in ROOT.glob(f"*/locale/{LANGUAGE}/LC_MESSAGES/django.po")
    if not path.relative_to(ROOT).parts[0].startswith(".")
    and path.relative_to(ROOT).parts[0] not in NOT_THE_PROJECT
)

# Named placeholders such as %(name)s or %(amount).2f; they are unambiguous in any message.
NAMED = re.compile(r"%\((\w+)\)[#0 +\-]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[diouxXeEfFgGcrsa]")
# Any %-conversion, named or not; only looked at in messages flagged python-format (a bare "%" in a
# plain message is just a percent sign).
ANY = re.compile(r"%(?:\((\w+)\))?[#0 +\-]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[diouxXeEfFgGcrsa%]")


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _load(path: Path):
    with path.open("rb") as f:
        return read_po(f, locale=LANGUAGE, abort_invalid=True)


def _messages(catalog):
    """The real messages of a catalog: no header, no obsolete (#~) entries."""
    return [m for m in catalog if m.id]


def _label_key(key) -> str:
    """'msgid ...' (the singular one for a plural message) and its msgctxt, if any."""
    context, msgid = key
    msgid = msgid[0] if isinstance(msgid, list | tuple) else msgid
    return f"msgid {msgid!r}" + (f" (msgctxt {context!r})" if context else "")


def _label(message) -> str:
    """The msgid, and where it comes from in the source, for failure messages."""
    where = ", ".join(f"{file}:{line}" if line else file for file, line in message.locations[:3])
    return _label_key((message.context, message.id)) + (f"  [{where}]" if where else "")


def _fail_if_any(path: Path, problem: str, lines: list[str]) -> None:
    if lines:
        pytest.fail(f"{_rel(path)}: {len(lines)} {problem}:\n  " + "\n  ".join(lines), pytrace=False)


catalog_param = pytest.mark.parametrize("po_path", CATALOGS, ids=[_rel(p) for p in CATALOGS])


def test_the_french_catalogs_exist():
    found = {_rel(p).split("/")[0] for p in CATALOGS}
    assert {"billing_site", "customers", "catalog"} <= found, f"French catalogs found: {sorted(found)}"


@catalog_param
def test_every_message_is_translated(po_path):
    catalog = _load(po_path)
    missing = []
    for message in _messages(catalog):
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if isinstance(message.id, tuple):
            expected = catalog.num_plurals
            if len(forms) < expected or not all(forms[:expected]):
                empty = [f"msgstr[{i}]" for i in range(expected) if i >= len(forms) or not forms[i]]
                missing.append(f"{_label(message)}: {', '.join(empty)} empty")
        elif not forms[0]:
            missing.append(_label(message))
    _fail_if_any(po_path, "message(s) without a French translation", missing)


@catalog_param
def test_no_fuzzy_messages(po_path):
    catalog = _load(po_path)
    fuzzy = [_label(m) for m in _messages(catalog) if m.fuzzy]
    if catalog.fuzzy:
        fuzzy.insert(0, 'the header (msgid ""): remove "#, fuzzy" above it')
    _fail_if_any(po_path, "fuzzy message(s) (check the translation, then remove the '#, fuzzy' flag)", fuzzy)


def _placeholders(text: str, python_format: bool) -> list[str]:
    if python_format:
        return sorted(match.group(0) for match in ANY.finditer(text))
    return sorted(match.group(0) for match in NAMED.finditer(text))


@catalog_param
def test_placeholders_are_kept(po_path):
    catalog = _load(po_path)
    wrong = []
    for message in _messages(catalog):
        python_format = "python-format" in message.flags
        if isinstance(message.id, tuple):
            singular, plural = message.id
            sources = [singular] + [plural] * (len(message.string) - 1)
            pairs = list(zip(sources, message.string, strict=True))
        else:
            pairs = [(message.id, message.string)]
        for index, (source, translated) in enumerate(pairs):
            if not translated:
                continue  # reported by test_every_message_is_translated
            want = _placeholders(source, python_format)
            got = _placeholders(translated, python_format)
            if want != got:
                form = f" msgstr[{index}]" if isinstance(message.id, tuple) else ""
                wrong.append(f"{_label(message)}:{form} has {got}, expected {want}")
    _fail_if_any(po_path, "translation(s) whose placeholders differ from the msgid", wrong)


def _hashable(value):
    return tuple(value) if isinstance(value, list | tuple) else value


def _mo_entries(catalog) -> dict:
    return {(m.context, _hashable(m.id)): _hashable(m.string) for m in catalog if m.id}


@catalog_param
def test_compiled_mo_matches_po(po_path):
    """The shipped .mo holds exactly what compiling the .po gives (mtimes mean nothing in a fresh clone)."""
    mo_path = po_path.with_suffix(".mo")
    if not mo_path.exists():
        pytest.fail(f"{_rel(mo_path)} is missing: run compilemessages and commit it.", pytrace=False)
    buffer = io.BytesIO()
    write_mo(buffer, _load(po_path))
    buffer.seek(0)
    expected = _mo_entries(read_mo(buffer))
    with mo_path.open("rb") as f:
        shipped = _mo_entries(read_mo(f))

    stale = [f"{_label_key(k)}: not in the .mo" for k in expected if k not in shipped]
    stale += [
        f"{_label_key(k)}: .mo has {shipped[k]!r}, .po has {expected[k]!r}"
        for k in expected
        if k in shipped and shipped[k] != expected[k]
    ]
    stale += [
        f"{_label_key(k)}: in the .mo but not (or not translated) in the .po"
        for k in shipped
        if k not in expected
    ]
    _fail_if_any(
        po_path, f"difference(s) with {mo_path.name} (run compilemessages and commit the .mo)", stale
    )


def test_a_msgid_has_the_same_translation_in_every_catalog():
    """Django merges all catalogs into one: for a msgid found in several, only one translation is ever shown
    (LOCALE_PATHS first, then INSTALLED_APPS order), so differing translations are a hidden bug."""
    seen: dict = {}
    for path in CATALOGS:
        for message in _messages(_load(path)):
            if message.string and not message.fuzzy:
                key = (message.context, _hashable(message.id))
                seen.setdefault(key, {}).setdefault(_hashable(message.string), []).append(_rel(path))
    conflicts = [
        f"{_label_key(key)}: "
        + "; ".join(f"{string!r} in {', '.join(files)}" for string, files in variants.items())
        for key, variants in seen.items()
        if len(variants) > 1
    ]
    if conflicts:
        pytest.fail(
            f"{len(conflicts)} msgid(s) translated differently in different catalogs (use one wording):\n  "
            + "\n  ".join(conflicts),
            pytrace=False,
        )


def test_django_serves_the_french_catalog():
    with translation.override(LANGUAGE):
        assert translation.gettext("New account") != "New account"
        assert translation.gettext("Log out") != "Log out"
