"""The zh-Hans and English catalogues are complete, compiled, and in step with the code."""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import skip_or_fail

LOCALE = Path(__file__).resolve().parent.parent / "guanxi" / "locale"
LANGUAGES = ("zh_Hans", "en")


def _unquote(chunk: str) -> str:
    return chunk[1:-1].encode("raw_unicode_escape").decode("unicode_escape")


def parse_po(path: Path) -> list[dict[str, object]]:
    """A small .po reader: enough for msgctxt / msgid / msgid_plural / msgstr[n] / fuzzy flags."""
    entries: list[dict[str, object]] = []
    current: dict[str, object] = {}
    key = ""
    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line:
            if "msgid" in current:
                entries.append(current)
            current, key = {}, ""
            continue
        if line.startswith("#,"):
            current["flags"] = line[2:]
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            current[key] = str(current[key]) + _unquote(line)
        else:
            match = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(\".*\")$", line)
            assert match, f"unparsable line in {path}: {raw}"
            key = match.group(1)
            current[key] = _unquote(match.group(2))
    return [e for e in entries if e["msgid"]]


def test_every_message_is_translated_and_none_is_fuzzy():
    for language in LANGUAGES:
        entries = parse_po(LOCALE / language / "LC_MESSAGES" / "django.po")
        assert len(entries) > 200, language
        for entry in entries:
            assert "fuzzy" not in str(entry.get("flags", "")), (language, entry["msgid"])
            translations = [v for k, v in entry.items() if str(k).startswith("msgstr")]
            assert translations and all(translations), (language, entry["msgid"])


def test_compiled_catalogues_match_the_sources():
    for language in LANGUAGES:
        directory = LOCALE / language / "LC_MESSAGES"
        with (directory / "django.mo").open("rb") as handle:
            compiled = gettext.GNUTranslations(handle)
        for entry in parse_po(directory / "django.po"):
            if "msgid_plural" in entry:
                continue
            if "msgctxt" in entry:
                found = compiled.pgettext(str(entry["msgctxt"]), str(entry["msgid"]))
                assert found == entry["msgstr"], (language, entry["msgctxt"], entry["msgid"])
                continue
            assert compiled.gettext(str(entry["msgid"])) == entry["msgstr"], (
                language,
                entry["msgid"],
            )


def test_catalogues_are_in_step_with_the_code(tmp_path):
    """Re-extract the messages: nothing in the code may be missing from the catalogue."""
    if shutil.which("xgettext") is None:
        skip_or_fail("xgettext (GNU gettext) is not installed")
    work = tmp_path / "guanxi"
    shutil.copytree(LOCALE.parent, work, ignore=shutil.ignore_patterns("static", "__pycache__"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "makemessages",
            "-l",
            "zh_Hans",
            "--no-obsolete",
            "--no-location",
        ],
        cwd=work,
        check=True,
        capture_output=True,
        env={
            "DJANGO_SETTINGS_MODULE": "guanxi.settings",
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(LOCALE.parent.parent),
        },
    )
    extracted = {
        e["msgid"] for e in parse_po(work / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")
    }
    shipped = {e["msgid"] for e in parse_po(LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po")}
    assert extracted - shipped == set(), "run `make messages` and translate the new strings"
