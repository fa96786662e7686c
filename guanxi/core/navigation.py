"""The navigation of the web shell: every area of DESIGN.md, built or not.

An area that is not built yet is still listed, and its page says so plainly with what it will
hold, so nobody mistakes a placeholder for a feature.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from guanxi.accounts.roles import Capability


@dataclass(frozen=True)
class Area:
    slug: str
    label: str
    capabilities: str  # the DESIGN.md capabilities the area delivers, e.g. "C1, C2"
    summary: str
    url_name: str = "core:area"
    built: bool = False
    needs: str | None = None  # a Capability the user must have to see the entry
    children: tuple[Area, ...] = field(default_factory=tuple)


AREAS: tuple[Area, ...] = (
    Area("home", _("Workbench"), "", _("Your day at a glance."), url_name="core:home", built=True),
    Area(
        "customers",
        _("Customers"),
        "C1, C2",
        _(
            "Customer archive, contacts, tags, the customer pool, duplicate check, "
            "history library and needs."
        ),
        url_name="customers:customer-list",
        built=True,
    ),
    Area(
        "needs",
        _("Needs"),
        "C2",
        _("Needs per customer, their fit with our offer, plans for the gaps and the unmet ones."),
        url_name="customers:need-list",
        built=True,
    ),
    Area(
        "engagement",
        _("Follow-ups"),
        "C3",
        _(
            "Interaction log, maintenance policies per customer class, today's tasks "
            "and the care calendar."
        ),
        url_name="engagement:today",
        built=True,
    ),
    Area(
        "sales",
        _("Sales"),
        "C7",
        _(
            "Products and prices, opportunities on a kanban board, orders and "
            "government procurement."
        ),
    ),
    Area(
        "service",
        _("Service desk"),
        "C5, C11, C12",
        _("Tickets with routing and working-time SLAs, the knowledge base and quality review."),
        url_name="service:ticket-list",
        built=True,
    ),
    Area(
        "feedback",
        _("Feedback"),
        "C4",
        _("Satisfaction surveys (CSAT, NPS) answered by link, feedback items and their analysis."),
        url_name="feedback:item-list",
        built=True,
    ),
    Area(
        "insights",
        _("Insights"),
        "C6, C8, C13",
        _(
            "KPIs, RFM and lifetime value, churn warning, key accounts, the monthly "
            "report and team performance."
        ),
    ),
    Area("loyalty", _("Loyalty"), "C9", _("Points, coupons and membership levels.")),
    Area("risk", _("Risk"), "C10", _("Risk register per customer and warning signals.")),
    Area(
        "improvement",
        _("Improvement"),
        "C14",
        _("Improvement actions from findings and feedback, with before and after figures."),
    ),
    Area(
        "transfer",
        _("Import and export"),
        "C15",
        _("CSV and XLSX import with preview and per-row errors, exports, vCard and iCalendar."),
        url_name="transfer:export-list",
        built=True,
    ),
    Area(
        "notifications",
        _("Notifications"),
        "C15",
        _("In-app, e-mail and WeCom / DingTalk / Feishu robot notifications and webhooks."),
        url_name="notifications:notification-list",
        built=True,
    ),
    Area(
        "privacy",
        _("Personal data"),
        "C15",
        _("PIPL: consent and purpose, masking, export and erasure on request, retention."),
    ),
)

SETTINGS_AREAS: tuple[Area, ...] = (
    Area(
        "users",
        _("Users"),
        "C15",
        "",
        url_name="accounts:user-list",
        built=True,
        needs=Capability.VIEW_TEAM,
    ),
    Area(
        "departments", _("Departments"), "C15", "", url_name="accounts:department-list", built=True
    ),
    Area(
        "roles",
        _("Roles"),
        "C15",
        "",
        url_name="accounts:role-list",
        built=True,
        needs=Capability.MANAGE_ROLES,
    ),
    Area(
        "audit",
        _("Audit trail"),
        "C15",
        "",
        url_name="core:audit-list",
        built=True,
        needs=Capability.VIEW_AUDIT,
    ),
    Area("recycle", _("Recycle bin"), "C15", "", url_name="core:recycle-list", built=True),
    Area(
        "calendar",
        _("Holiday calendar"),
        "C3, C5",
        "",
        url_name="core:calendar-index",
        built=True,
        needs=Capability.MANAGE_CALENDAR,
    ),
    Area(
        "service-setup",
        _("Service desk setup"),
        "C5",
        "",
        url_name="service:setup",
        built=True,
        needs=Capability.MANAGE_SERVICE_DESK,
    ),
)


def area_by_slug(slug: str) -> Area | None:
    return next((area for area in AREAS if area.slug == slug), None)
