"""Forms parse and shape input; business rules live in services and come back as errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import Department, User
from guanxi.accounts.roles import DataScopeChoice, Role
from guanxi.core.exceptions import ApplicationError, ConflictError


def apply_errors(
    form: forms.Form, error: ValidationError, field_map: dict[str, str] | None = None
) -> None:
    """Show a service's ValidationError on the form, next to the fields it names."""
    field_map = field_map or {}
    if hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            target = field_map.get(name, name)
            form.add_error(target if target in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


def form_submit(
    form: forms.Form, call: Callable[[], Any], field_map: dict[str, str] | None = None
) -> tuple[bool, dict[str, Any] | None]:
    """Run the service ``call`` for a valid ``form``; whatever it refuses lands on the form.
    Returns whether it went through, and the conflicting values of an optimistic-lock conflict."""
    try:
        call()
    except ValidationError as error:
        apply_errors(form, error, field_map)
    except ConflictError as error:
        form.add_error(None, str(error.message))
        return False, error.extra.get("conflicts", {})
    except ApplicationError as error:
        form.add_error(None, str(error.message))
    else:
        return True, None
    return False, None


class LoginForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)


class OtpForm(forms.Form):
    otp_token = forms.RegexField(
        label=_("Code from your authenticator app"),
        regex=r"^\d{6,8}$",
        error_messages={"invalid": _("Enter the 6-digit code.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class OtpSetupForm(OtpForm):
    """Confirming a new device. Replacing a confirmed one also asks who is at the keyboard."""

    current_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        required=False,  # the service checks it
        widget=forms.PasswordInput,
        help_text=_("Or a current code from the authenticator app you are replacing."),
    )

    def __init__(self, *args: Any, replacing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not replacing:
            del self.fields["current_password"]


class ReauthenticateForm(forms.Form):
    current_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        required=False,  # the service says when it is needed (only if a device exists)
        widget=forms.PasswordInput,
        help_text=_("Or a current code from your authenticator app."),
    )


class PasswordResetForm(forms.Form):
    new_password = forms.CharField(label=_("New password"), strip=False, widget=forms.PasswordInput)
    new_password_again = forms.CharField(
        label=_("New password again"), strip=False, widget=forms.PasswordInput
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("new_password") and data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", _("The two passwords differ."))
        return data


# A stale or missing version must never turn into an unchecked save.
_VERSION_REQUIRED = _("This form is incomplete or out of date. Reload the page and try again.")


class VersionedForm(forms.Form):
    """An edit form carrying the version that was read (optimistic locking). Creating has no
    version; editing requires one."""

    version = forms.IntegerField(
        widget=forms.HiddenInput,
        error_messages={"required": _VERSION_REQUIRED, "invalid": _VERSION_REQUIRED},
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not editing:
            del self.fields["version"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "version" in self.errors:
            # The hidden field has no place on the page to show its error.
            self.add_error(None, self.errors.pop("version"))
        return data


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class PasswordChangeForm(forms.Form):
    current_password = forms.CharField(
        label=_("Current password"), strip=False, widget=forms.PasswordInput
    )
    new_password = forms.CharField(label=_("New password"), strip=False, widget=forms.PasswordInput)
    new_password_again = forms.CharField(
        label=_("New password again"), strip=False, widget=forms.PasswordInput
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("new_password") and data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", _("The two passwords differ."))
        return data


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100)


class UserForm(VersionedForm):
    username = forms.CharField(label=_("Username"), max_length=150)
    full_name = forms.CharField(label=_("Full name"), max_length=100, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.all(), required=False
    )
    manager = forms.ModelChoiceField(
        label=_("Manager"), queryset=User.objects.filter(is_active=True), required=False
    )
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("Browser default")), *settings.LANGUAGES],
        required=False,
    )
    password = forms.CharField(
        label=_("Initial password"),
        strip=False,
        required=False,
        widget=forms.PasswordInput,
        help_text=_(
            "Leave empty to create the account without a password: nobody can sign in to it "
            "until an administrator sets one on the user's page."
        ),
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, editing=editing, **kwargs)
        if editing:
            del self.fields["password"]
            self.fields["username"].disabled = True


class DepartmentForm(VersionedForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    code = forms.SlugField(
        label=_("Code"), max_length=50, help_text=_("Letters, digits, - and _ only.")
    )
    parent = forms.ModelChoiceField(
        label=_("Parent department"), queryset=Department.objects.all(), required=False
    )


class RoleSettingForm(forms.Form):
    """One row of the roles table. Its inputs sit in table cells outside the <form> element (a
    form cannot wrap a table row), so each input names its form with the HTML form attribute."""

    data_scope = forms.ChoiceField(label=_("Data scope"), choices=DataScopeChoice.choices)
    require_otp = forms.BooleanField(label=_("Require two-factor sign-in"), required=False)
    reveal_personal_data = forms.BooleanField(label=_("May reveal personal data"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        form_id = f"role-form-{self.prefix}"
        self.fields["data_scope"].widget.attrs.update({"form": form_id, "class": "form-select"})
        for name in ("require_otp", "reveal_personal_data"):
            self.fields[name].widget.attrs.update({"form": form_id, "class": "form-check-input"})
