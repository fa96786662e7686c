"""统一社会信用代码 and 居民身份证号码: clean, validate, mask.

The check digits are python-stdnum's (``cn.uscc``, ``cn.ric``); this module only adds what people
actually type: full-width characters from Chinese input methods, spaces and hyphens from printed
licences, and lower-case letters.
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_exceptions
from stdnum.cn import ric, uscc

# Separators people paste from licences, letters and spreadsheets. NFKC already folds the
# full-width hyphen and space; the dashes below survive it.
_SEPARATORS = str.maketrans("", "", " -\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u00a0\u3000")


def _compact(value: str) -> str:
    return unicodedata.normalize("NFKC", value).translate(_SEPARATORS).upper()


def credit_code_clean(value: str) -> str:
    """The 18-character unified social credit code in its canonical form, or ValidationError.

    Callers decide whether a blank value is allowed (individuals have no code); a blank value
    here is an invalid code.
    """
    code = _compact(value or "")
    try:
        return uscc.validate(code)
    except stdnum_exceptions.InvalidLength as error:
        raise ValidationError(
            _("A unified social credit code has 18 characters; this one has %(length)d."),
            code="invalid_credit_code",
            params={"length": len(code)},
        ) from error
    except stdnum_exceptions.InvalidFormat as error:
        raise ValidationError(
            _(
                "A unified social credit code starts with 8 digits and uses no I, O, S, V or Z; "
                "check the characters."
            ),
            code="invalid_credit_code",
        ) from error
    except stdnum_exceptions.ValidationError as error:
        # The check digit is the only thing left: almost always one character mistyped.
        raise ValidationError(
            _("This unified social credit code's check digit does not match; check for a typo."),
            code="invalid_credit_code",
        ) from error


def resident_id_clean(value: str) -> str:
    """The 18-character resident ID number (upper-case X) of an individual, or ValidationError.

    stdnum also checks the birth date and the issuing region, which catches most typos that
    happen to keep the check digit right.
    """
    number = _compact(value or "")
    try:
        return ric.validate(number)
    except stdnum_exceptions.InvalidLength as error:
        raise ValidationError(
            _("A resident ID number has 18 characters; this one has %(length)d."),
            code="invalid_resident_id",
            params={"length": len(number)},
        ) from error
    except stdnum_exceptions.ValidationError as error:
        raise ValidationError(
            _("This resident ID number is not valid; check the digits and the birth date."),
            code="invalid_resident_id",
        ) from error


def resident_id_mask(value: str) -> str:
    """``110101********1234``: the issuing region and the last four stay, the birth date goes.

    This is the shape Chinese banks and government portals show, so people recognise it. It never
    raises: masking runs on output paths, where old or malformed data must still render.
    """
    number = _compact(value or "")
    if len(number) == 18:
        return f"{number[:6]}{'*' * 8}{number[-4:]}"
    if len(number) == 15:
        # First-generation cards: 6 region digits, a 6-digit birth date, 3 sequence digits.
        return f"{number[:6]}{'*' * 6}{number[-3:]}"
    return "*" * 4 if number else ""
