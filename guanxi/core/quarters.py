"""Calendar quarters as people write them: "2026Q4". Quarterly verification (C1) keys its tasks
by them, and the quarterly reports still to come (C8) will too."""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


def quarter_of(day: dt.date | None = None) -> str:
    """The quarter ``day`` falls in (today in the deployment's time zone by default)."""
    day = day or timezone.localdate()
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_clean(value: str | None, *, field: str = "quarter") -> str:
    """``value`` as a quarter label, upper-cased; a field error for anything else."""
    text = (value or "").strip().upper()
    match = _QUARTER.match(text)
    if match is None or not 2000 <= int(match.group(1)) <= 2999:
        raise ValidationError(
            {field: [_("Write the quarter as a year and a quarter number, for example 2026Q4.")]},
            code="invalid_quarter",
        )
    return text


def quarter_bounds(quarter: str) -> tuple[dt.date, dt.date]:
    """The first and the last day of ``quarter`` (a label that quarter_clean accepts)."""
    match = _QUARTER.match(quarter_clean(quarter))
    assert match is not None  # quarter_clean raised otherwise
    year, number = int(match.group(1)), int(match.group(2))
    first = dt.date(year, 3 * number - 2, 1)
    following = dt.date(year + 1, 1, 1) if number == 4 else dt.date(year, 3 * number + 1, 1)
    return first, following - dt.timedelta(days=1)


def quarter_previous(quarter: str) -> str:
    first, _last = quarter_bounds(quarter)
    return quarter_of(first - dt.timedelta(days=1))
