"""Roles, their default data scope and what each may do.

The role list and capabilities are code (they decide which screens exist); the data scope, the
second-factor requirement and the personal-data reveal permission per role are data an
administrator edits (RoleSetting).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from guanxi.core.scope import DataScope


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    SALES_MANAGER = "sales_manager", _("Sales manager")
    SALES_REP = "sales_rep", _("Sales rep")
    KEY_ACCOUNT_MANAGER = "key_account_manager", _("Key-account manager")
    SERVICE_AGENT = "service_agent", _("Service agent")
    DEPARTMENT_HANDLER = "department_handler", _("Department handler")
    ANALYST = "analyst", _("Analyst")


class DataScopeChoice(models.TextChoices):
    SELF = DataScope.SELF, _("Own records")
    DEPARTMENT = DataScope.DEPARTMENT, _("Own department")
    SUBTREE = DataScope.SUBTREE, _("Department and below")
    ALL = DataScope.ALL, _("All")


DEFAULT_DATA_SCOPE: dict[str, str] = {
    Role.ADMINISTRATOR: DataScope.ALL,
    Role.SALES_MANAGER: DataScope.SUBTREE,
    Role.SALES_REP: DataScope.SELF,
    Role.KEY_ACCOUNT_MANAGER: DataScope.SELF,
    Role.SERVICE_AGENT: DataScope.DEPARTMENT,
    Role.DEPARTMENT_HANDLER: DataScope.DEPARTMENT,
    Role.ANALYST: DataScope.ALL,
}

# Who may ask to see a contact's phones, e-mail and WeChat ID in full (each reveal is logged and
# counted against a daily cap). Roles that work a customer talk to its people; the department
# handlers and analysts work on tickets and figures and do not need the numbers (PIPL: minimum
# necessary).
DEFAULT_REVEAL_PERSONAL_DATA: dict[str, bool] = {
    Role.ADMINISTRATOR: True,
    Role.SALES_MANAGER: True,
    Role.SALES_REP: True,
    Role.KEY_ACCOUNT_MANAGER: True,
    Role.SERVICE_AGENT: True,
    Role.DEPARTMENT_HANDLER: False,
    Role.ANALYST: False,
}


class Capability:
    MANAGE_USERS = "manage_users"
    MANAGE_DEPARTMENTS = "manage_departments"
    MANAGE_ROLES = "manage_roles"
    VIEW_AUDIT = "view_audit"
    VIEW_TEAM = "view_team"
    RECYCLE_ALL = "recycle_all"
    MANAGE_CALENDAR = "manage_calendar"  # the holiday and adjusted-working-day table
    MANAGE_SERVICE_DESK = "manage_service_desk"  # ticket categories, teams, routing, SLA policies


CAPABILITIES: dict[str, frozenset[str]] = {
    Role.ADMINISTRATOR: frozenset(
        {
            Capability.MANAGE_USERS,
            Capability.MANAGE_DEPARTMENTS,
            Capability.MANAGE_ROLES,
            Capability.VIEW_AUDIT,
            Capability.VIEW_TEAM,
            Capability.RECYCLE_ALL,
            Capability.MANAGE_CALENDAR,
            Capability.MANAGE_SERVICE_DESK,
        }
    ),
    Role.SALES_MANAGER: frozenset({Capability.VIEW_TEAM}),
    Role.SALES_REP: frozenset(),
    Role.KEY_ACCOUNT_MANAGER: frozenset(),
    Role.SERVICE_AGENT: frozenset(),
    Role.DEPARTMENT_HANDLER: frozenset(),
    Role.ANALYST: frozenset({Capability.VIEW_TEAM}),
}


def role_can(role: str, capability: str) -> bool:
    return capability in CAPABILITIES.get(role, frozenset())
