"""Phone numbers and e-mail addresses: normalise to E.164, and mask for roles without reveal.

Numbers are parsed with phonenumbers (Google's libphonenumber metadata), so what counts as a
valid Chinese mobile or landline follows MIIT's number plan as the library ships it, not a
hand-written pattern that goes stale when a new 19x block opens.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from phonenumbers import PhoneNumber, PhoneNumberFormat, PhoneNumberType

_NON_DIGITS = re.compile(r"\D+")
_MASK = "****"


def phone_normalize(raw: str, *, default_region: str = "CN") -> str:
    """The number in E.164 (``+8613800138000``), or ValidationError(code="invalid_phone").

    A number without a country code is read as a ``default_region`` number, so ``010-12345678``
    is Beijing. Extensions (``010-12345678-801``) are refused rather than silently dropped: E.164
    has no place for them.
    """
    text = unicodedata.normalize("NFKC", raw or "").strip()
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as error:
        raise _invalid_phone() from error
    if number.extension or not phonenumbers.is_valid_number(number):
        raise _invalid_phone()
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _invalid_phone() -> ValidationError:
    return ValidationError(
        _("Enter a valid phone number, such as 138 0013 8000, 010-1234 5678 or +44 20 7946 0958."),
        code="invalid_phone",
    )


def _parse_e164(e164: str) -> PhoneNumber | None:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_possible_number(number) else None


def phone_national_digits(e164: str) -> str:
    """The digits someone in the number's own country dials: ``13800138000``, ``01012345678``.

    Falls back to the bare digits when the value is not E.164 (old imported data), because this
    feeds search keys and exports that must not fail on one bad row.
    """
    number = _parse_e164(e164)
    if number is None:
        return _NON_DIGITS.sub("", e164 or "")
    return _NON_DIGITS.sub("", phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))


def phone_mask(e164: str) -> str:
    """``138****8000`` for a Chinese mobile, ``0755****6666`` for a landline (the area code stays,
    so a colleague still sees which city), ``+44 20****0958`` abroad.

    The hidden part is always four stars whatever its length, so the mask does not leak it. Never
    raises: it runs on every output path.
    """
    number = _parse_e164(e164)
    if number is None:
        digits = _NON_DIGITS.sub("", e164 or "")
        return f"{_MASK}{digits[-4:]}" if len(digits) >= 8 else (_MASK if digits else "")
    national = phone_national_digits(e164)
    significant = phonenumbers.national_significant_number(number)
    trunk = national[: len(national) - len(significant)]
    head = _visible_head(number, significant)
    tail = 4 if len(significant) >= 8 else 2
    if head + tail + 3 > len(significant):
        head = max(0, len(significant) - tail - 3)
    masked = f"{significant[:head]}{_MASK}{significant[len(significant) - tail :]}"
    if number.country_code == 86:
        return f"{trunk}{masked}"
    return f"+{number.country_code} {masked}"


def _visible_head(number: PhoneNumber, significant: str) -> int:
    """How many leading digits of the national significant number stay visible."""
    kind = phonenumbers.number_type(number)
    if number.country_code == 86 and kind == PhoneNumberType.MOBILE:
        # The carrier block (138): Chinese apps show exactly this shape.
        return 3
    area = phonenumbers.length_of_geographical_area_code(number)
    if area:
        return area
    return min(3, len(significant) // 4)


def email_mask(email: str) -> str:
    """``zh****@example.com``: a hint of the mailbox, the domain in full (it names the company).

    At most two leading characters stay, fewer for short mailboxes, and never the whole mailbox.
    """
    local, at, domain = (email or "").strip().rpartition("@")
    if not at or not local:
        return _MASK if email else ""
    keep = min(2, (len(local) - 1) // 2)
    return f"{local[:keep]}{_MASK}@{domain}"


def wechat_mask(wechat: str) -> str:
    """``zl****``: the first two characters of a WeChat ID, enough to tell two contacts apart."""
    value = (wechat or "").strip()
    return f"{value[:2]}{_MASK}" if value else ""


def is_masked(value: str) -> bool:
    """Whether ``value`` carries the mask marker: a masked value shown back must never be saved
    over the real one (no phone, e-mail address or WeChat ID contains four stars)."""
    return _MASK in (value or "")
