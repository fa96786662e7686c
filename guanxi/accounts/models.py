from __future__ import annotations

from functools import cached_property

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.roles import (
    DEFAULT_DATA_SCOPE,
    DEFAULT_REVEAL_PERSONAL_DATA,
    DataScopeChoice,
    Role,
    role_can,
)
from guanxi.core.models import BaseModel


class Department(BaseModel):
    """A node of the organisation tree. ``path`` is the materialised path of ids
    ("1/4/9/"), so "this department and everything below" is one indexed prefix match."""

    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(
        _("code"),
        max_length=50,
        unique=True,
        error_messages={"unique": _("A department with this code already exists.")},
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(max_length=500, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)

    audit_fields = ("name", "code", "parent")

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ("path",)

    def __str__(self) -> str:
        return self.name


class GuanxiUserManager(UserManager):
    pass


class User(AbstractUser):
    first_name = None  # type: ignore[assignment]  # Chinese names are one field: full_name
    last_name = None  # type: ignore[assignment]

    full_name = models.CharField(_("full name"), max_length=100, blank=True)
    role = models.CharField(_("role"), max_length=30, choices=Role.choices, default=Role.SALES_REP)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    manager = models.ForeignKey(
        "self",
        verbose_name=_("manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True, default=""
    )
    deactivated_at = models.DateTimeField(_("deactivated at"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    objects = GuanxiUserManager()

    REQUIRED_FIELDS = ["email"]
    audit_fields = ("username", "full_name", "email", "role", "department", "manager", "is_active")

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ("username",)

    def __str__(self) -> str:
        return self.full_name or self.username

    def get_full_name(self) -> str:
        return self.full_name or self.username

    def get_short_name(self) -> str:
        return self.full_name or self.username

    @cached_property
    def role_setting(self) -> RoleSetting:
        return RoleSetting.for_role(self.role)

    @property
    def data_scope(self) -> str:
        return self.role_setting.data_scope

    def can(self, capability: str) -> bool:
        return self.is_active and role_can(self.role, capability)


class RoleSetting(models.Model):
    """What an administrator may tune per role: data scope, whether TOTP is required, and whether
    the role may reveal masked personal data (each reveal logged and capped per day)."""

    role = models.CharField(_("role"), max_length=30, choices=Role.choices, unique=True)
    data_scope = models.CharField(_("data scope"), max_length=20, choices=DataScopeChoice.choices)
    require_otp = models.BooleanField(_("require two-factor sign-in"), default=False)
    # False by default so that a row created without the role's default never grants more than
    # asked; for_role and the services fill in DEFAULT_REVEAL_PERSONAL_DATA.
    reveal_personal_data = models.BooleanField(_("may reveal personal data"), default=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    audit_fields = ("data_scope", "require_otp", "reveal_personal_data")

    class Meta:
        verbose_name = _("role setting")
        verbose_name_plural = _("role settings")
        ordering = ("role",)

    def __str__(self) -> str:
        return str(Role(self.role).label)

    @classmethod
    def for_role(cls, role: str) -> RoleSetting:
        setting = cls.objects.filter(role=role).first()
        if setting is None:
            # Unsaved default: roles behave sensibly before an administrator has touched them.
            setting = cls.default_for(role)
        return setting

    @classmethod
    def default_for(cls, role: str) -> RoleSetting:
        """The unsaved setting a role has until an administrator saves one."""
        return cls(
            role=role,
            data_scope=DEFAULT_DATA_SCOPE.get(role, "self"),
            reveal_personal_data=DEFAULT_REVEAL_PERSONAL_DATA.get(role, False),
        )


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the token is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class LoginSession(models.Model):
    """A signed-in browser session, so a user's sessions can be listed and ended at once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="login_sessions"
    )
    session_key = models.CharField(max_length=40, unique=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.user} {self.created_at:%Y-%m-%d %H:%M}"
