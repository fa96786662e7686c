"""The notes core services write on audit entries (so far: the holiday calendar's).

Stored as a stable key, optionally followed by URL-encoded values
("calendar_seed?year=2026&created=33…"); CoreConfig.ready() registers these labels with
guanxi.core.audit so the trail shows them in the reader's language.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

CALENDAR_DAY_REMOVED = "calendar_day_removed"
CALENDAR_DAY_DELETED = "calendar_day_deleted"
CALENDAR_SEED = "calendar_seed"

AUDIT_NOTE_LABELS = {
    CALENDAR_DAY_REMOVED: _(
        "Removed from the holiday calendar; kept as an ordinary day so that a re-seed does not "
        "bring the package's day back."
    ),
    CALENDAR_DAY_DELETED: _("Removed from the holiday calendar."),
    CALENDAR_SEED: _(
        "Holiday calendar %(year)s seeded from chinese-calendar: %(created)s added, "
        "%(updated)s changed, %(removed)s removed, %(kept)s kept as an administrator edited them."
    ),
}
