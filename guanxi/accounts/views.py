from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, resolve_url
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers
from django_otp import login as otp_login

from guanxi.accounts import services
from guanxi.accounts.forms import (
    DepartmentForm,
    LanguageForm,
    LoginForm,
    OtpForm,
    OtpSetupForm,
    PasswordChangeForm,
    PasswordResetForm,
    ReauthenticateForm,
    RoleSettingForm,
    TokenForm,
    UserForm,
    apply_errors,
)
from guanxi.accounts.models import Department, User
from guanxi.accounts.permissions import (
    department_get_for_user,
    require_capability,
    token_get_for_user,
    user_get_for_user,
)
from guanxi.accounts.roles import Capability, Role
from guanxi.accounts.selectors import (
    department_list,
    role_setting_list,
    session_list,
    token_list,
    user_page,
)
from guanxi.core.context import client_ip
from guanxi.core.exceptions import ApplicationError, ConflictError
from guanxi.core.pagination import InvalidCursorError

PENDING_USER_KEY = "guanxi_pending_user"


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _set_language_cookie(response: HttpResponse, language: str) -> None:
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=365 * 24 * 3600,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            secure=settings.LANGUAGE_COOKIE_SECURE,
        )


def _finish_login(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    services.session_record(
        user=user,
        session_key=request.session.session_key or "",
        ip_address=client_ip(request.META),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    response = HttpResponseRedirect(next_url)
    _set_language_cookie(response, user.language)
    return response


def login_locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes calls this for every request it saw locked out: the HTML sign-in page and the
    API token endpoint. Each already answered 429 in its own format; keep that answer and say
    when to come back."""
    if isinstance(original_response, HttpResponse) and original_response.status_code == 429:
        response: HttpResponse = original_response
    elif request.path.startswith("/api/"):
        response = JsonResponse(
            {"message": services.login_lockout_message(), "code": "locked_out", "fields": {}},
            status=429,
        )
    else:
        context = {
            "form": LoginForm(),
            "locked": True,
            "locked_message": services.login_lockout_message(),
        }
        response = TemplateResponse(request, "accounts/login.html", context, status=429).render()
    response["Retry-After"] = str(services.login_lockout_seconds())
    return response


@never_cache
@csrf_protect
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_safe_next(request, request.GET.get("next")))
    form = LoginForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "POST" and form.is_valid():
        try:
            user = services.login_authenticate(
                request=request,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
        except services.LockedOutError:
            return login_locked_out(request)
        except ApplicationError as error:
            form.add_error(None, str(error.message))
        else:
            try:
                services.second_factor_check(user=user, code=None)
            except ApplicationError as error:
                if error.code != "otp_setup_required":  # otp_required: ask for the code
                    request.session.cycle_key()
                    request.session[PENDING_USER_KEY] = user.pk
                    request.session["guanxi_pending_next"] = next_url
                    return redirect("accounts:login-verify")
                # otp_setup_required: signed in, and SecondFactorMiddleware keeps them on the
                # set-up page until a device is confirmed.
            return _finish_login(request, user, _safe_next(request, next_url))
    return TemplateResponse(request, "accounts/login.html", {"form": form, "next": next_url})


@never_cache
@csrf_protect
def login_verify(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING_USER_KEY)
    user = User.objects.filter(pk=pending, is_active=True).first() if pending else None
    if user is None:
        return redirect("accounts:login")
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.second_factor_check(user=user, code=form.cleaned_data["otp_token"])
        except ApplicationError as error:
            form.add_error("otp_token", str(error.message))
        else:
            next_url = _safe_next(request, request.session.pop("guanxi_pending_next", ""))
            request.session.pop(PENDING_USER_KEY, None)
            response = _finish_login(request, user, next_url)
            if device is not None:  # None: an administrator removed the device meanwhile
                otp_login(request, device)
            return response
    return TemplateResponse(request, "accounts/login_verify.html", {"form": form})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        services.session_end(user=request.user, session_key=request.session.session_key or "")
    logout(request)
    return redirect("accounts:login")


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """The language switch: a cookie for everyone, and the saved preference for a signed-in user."""
    form = LanguageForm(request.POST)
    next_url = _safe_next(request, request.POST.get("next"))
    response = HttpResponseRedirect(next_url)
    if form.is_valid():
        language = form.cleaned_data["language"]
        if request.user.is_authenticated:
            services.user_language_set(user=request.user, language=language)
        _set_language_cookie(response, language)
    return response


# --- Profile ----------------------------------------------------------------------------------
def _profile_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    context = {
        "password_form": PasswordChangeForm(),
        "token_form": TokenForm(),
        "otp_disable_form": ReauthenticateForm(prefix="otp_disable"),
        "tokens": token_list(user=request.user),
        "sessions": session_list(user=request.user),
        "current_session": request.session.session_key,
        "has_otp": services.second_factor_device_exists(request.user),
        "otp_required": request.user.role_setting.require_otp,
    }
    context.update(extra)
    return context


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(request, "accounts/profile.html", _profile_context(request))


@login_required
@require_POST
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST)
    if form.is_valid():
        old_key = request.session.session_key
        try:
            services.user_password_change(
                user=request.user,
                current_password=form.cleaned_data["current_password"],
                new_password=form.cleaned_data["new_password"],
                session_key=old_key,
            )
        except ValidationError as error:
            apply_errors(form, error, {"password": "new_password"})
        else:
            update_session_auth_hash(request, request.user)  # keeps this session signed in
            services.session_rekey(old_key=old_key, new_key=request.session.session_key)
            messages.success(request, _("Your password was changed."))
            return redirect("accounts:profile")
    context = _profile_context(request, password_form=form)
    return TemplateResponse(request, "accounts/profile.html", context, status=400)


@login_required
@require_POST
def token_add(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            token, raw = services.token_create(
                actor=request.user, user=request.user, name=form.cleaned_data["name"]
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            return TemplateResponse(
                request,
                "accounts/profile.html",
                _profile_context(request, new_token=raw, new_token_name=token.name),
            )
    return TemplateResponse(
        request, "accounts/profile.html", _profile_context(request, token_form=form), status=400
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = token_get_for_user(request.user, token_id, write=True)
    try:
        services.token_revoke(actor=request.user, token=token)
        messages.success(request, _("The token was revoked."))
    except ApplicationError as error:
        messages.error(request, str(error.message))
    return redirect("accounts:profile")


@login_required
@require_POST
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    ended = services.user_sessions_end(
        user=request.user, keep_session_key=request.session.session_key
    )
    messages.success(request, _("Signed out of %(count)s other sessions.") % {"count": ended})
    return redirect("accounts:profile")


@login_required
def otp_setup(request: HttpRequest) -> HttpResponse:
    """Setting up (or replacing) the authenticator app. Opening the page writes nothing: the
    pending device is made when the user presses "Start" (POST action=start)."""
    replacing = services.second_factor_device_exists(request.user)
    if request.method == "POST" and request.POST.get("action") == "start":
        services.otp_device_start(user=request.user)
        return redirect("accounts:otp-setup")
    form = OtpSetupForm(request.POST or None, replacing=replacing)
    if request.method == "POST" and form.is_valid():
        try:
            confirmed = services.otp_device_confirm(
                user=request.user,
                token=form.cleaned_data["otp_token"],
                current_password=form.cleaned_data.get("current_password"),
            )
        except ValidationError as error:
            apply_errors(form, error)
        except ApplicationError as error:
            form.add_error(None, str(error.message))
        else:
            otp_login(request, confirmed)
            messages.success(request, _("Two-factor sign-in is on."))
            return redirect("accounts:profile")
    device = services.otp_device_pending(user=request.user)
    context: dict[str, Any] = {
        "form": form,
        "pending": device is not None,
        "replacing": replacing,
        "required": request.user.role_setting.require_otp,
    }
    if device is not None:
        import base64

        import segno

        context["qr"] = segno.make(device.config_url, error="m").svg_data_uri(scale=4)
        context["secret"] = base64.b32encode(device.bin_key).decode()
    return TemplateResponse(
        request, "accounts/otp_setup.html", context, status=400 if form.errors else 200
    )


@login_required
@require_POST
def otp_disable(request: HttpRequest) -> HttpResponse:
    form = ReauthenticateForm(request.POST, prefix="otp_disable")
    form.is_valid()  # the service decides whether the password is needed and right
    try:
        services.otp_device_remove(
            user=request.user, current_password=form.cleaned_data.get("current_password")
        )
    except ValidationError as error:
        apply_errors(form, error)
        context = _profile_context(request, otp_disable_form=form)
        return TemplateResponse(request, "accounts/profile.html", context, status=400)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Two-factor sign-in is off."))
    return redirect("accounts:profile")


# --- Users ------------------------------------------------------------------------------------
@login_required
@vary_on_headers("HX-Request")
def user_index(request: HttpRequest) -> HttpResponse:
    if not (request.user.can(Capability.VIEW_TEAM) or request.user.can(Capability.MANAGE_USERS)):
        require_capability(request.user, Capability.VIEW_TEAM)
    query = request.GET.get("q", "").strip()[:100]
    role = request.GET.get("role", "")
    active_param = request.GET.get("active", "1")
    filters = {
        "actor": request.user,
        "query": query,
        "role": role if role in Role.values else "",
        "active": {"1": True, "0": False}.get(active_param),
    }
    cursor = request.GET.get("cursor")
    cursor_error = None
    try:
        page = user_page(**filters, cursor=cursor, limit=50)
    except InvalidCursorError as error:
        page = user_page(**filters, limit=50)
        cursor, cursor_error = None, error.message
    next_query = request.GET.copy()
    next_query.pop("cursor", None)
    if page.next_cursor:
        next_query["cursor"] = page.next_cursor
    template = "accounts/user_list.html"
    # A history restore needs the whole page; "More" appends rows; a filter change replaces the
    # table.
    if request.htmx and not request.htmx.history_restore_request:
        template += "#rows" if cursor else "#results"
    return TemplateResponse(
        request,
        template,
        {
            "page": page,
            "q": query,
            "role": role,
            "active": active_param,
            "roles": Role.choices,
            "can_manage": request.user.can(Capability.MANAGE_USERS),
            "next_query": next_query.urlencode() if page.next_cursor else "",
            "cursor_error": cursor_error,
        },
    )


@login_required
def user_create(request: HttpRequest) -> HttpResponse:
    require_capability(request.user, Capability.MANAGE_USERS)
    form = UserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.user_create(
                actor=request.user,
                username=data["username"],
                password=data["password"] or None,
                full_name=data["full_name"],
                email=data["email"],
                role=data["role"],
                department=data["department"],
                manager=data["manager"],
                phone=data["phone"],
                language=data["language"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("User %(name)s was created.") % {"name": user})
            return redirect("accounts:user-list")
    return TemplateResponse(
        request,
        "accounts/user_form.html",
        {"form": form, "creating": True},
        status=400 if form.errors else 200,
    )


def _user_edit_context(
    request: HttpRequest, target: User, form: UserForm, **extra: Any
) -> dict[str, Any]:
    context = {
        "form": form,
        "target": target,
        "conflict": None,
        "password_reset_form": PasswordResetForm(prefix="reset"),
        "is_self": target.pk == request.user.pk,
        "has_otp": services.second_factor_device_exists(target),
    }
    context.update(extra)
    return context


def _user_edit_form(target: User, data: Any = None) -> UserForm:
    initial = {
        "username": target.username,
        "full_name": target.full_name,
        "email": target.email,
        "phone": target.phone,
        "role": target.role,
        "department": target.department,
        "manager": target.manager,
        "language": target.language,
        "version": target.version,
    }
    return UserForm(data, initial=initial, editing=True)


@login_required
def user_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    target = user_get_for_user(request.user, user_id, write=True)
    form = _user_edit_form(target, request.POST or None)
    conflict = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # Only what the person changed goes to the service, so a conflict names real conflicts.
        changes = {k: data[k] for k in services.USER_EDITABLE_FIELDS if k in form.changed_data}
        try:
            services.user_update(
                actor=request.user, user=target, data=changes, expected_version=data["version"]
            )
        except ValidationError as error:
            apply_errors(form, error)
        except ConflictError as error:
            conflict = error.extra.get("conflicts", {})
            form.add_error(None, str(error.message))
        except ApplicationError as error:
            form.add_error(None, str(error.message))
        else:
            messages.success(request, _("Saved."))
            return redirect("accounts:user-list")
    return TemplateResponse(
        request,
        "accounts/user_form.html",
        _user_edit_context(request, target, form, conflict=conflict),
        status=409 if conflict else (400 if form.errors else 200),
    )


@login_required
@require_POST
def user_password_reset(request: HttpRequest, user_id: int) -> HttpResponse:
    target = user_get_for_user(request.user, user_id, write=True)
    form = PasswordResetForm(request.POST, prefix="reset")
    if form.is_valid():
        try:
            services.user_password_reset(
                actor=request.user, user=target, password=form.cleaned_data["new_password"]
            )
        except ValidationError as error:
            apply_errors(form, error, {"password": "new_password"})
        except ApplicationError as error:
            form.add_error(None, str(error.message))
        else:
            messages.success(
                request,
                _("The password of %(name)s was changed; their browser sessions were ended.")
                % {"name": target},
            )
            return redirect("accounts:user-edit", user_id=target.pk)
    context = _user_edit_context(request, target, _user_edit_form(target), password_reset_form=form)
    return TemplateResponse(request, "accounts/user_form.html", context, status=400)


@login_required
@require_POST
def user_otp_reset(request: HttpRequest, user_id: int) -> HttpResponse:
    target = user_get_for_user(request.user, user_id, write=True)
    try:
        services.user_otp_reset(actor=request.user, user=target)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request,
            _(
                "Two-factor sign-in of %(name)s was reset; their browser sessions were ended. "
                "They set up a new device at their next sign-in if their role requires one."
            )
            % {"name": target},
        )
    return redirect("accounts:user-edit", user_id=target.pk)


@login_required
@require_POST
def user_deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    target = user_get_for_user(request.user, user_id, write=True)
    try:
        services.user_deactivate(actor=request.user, user=target)
        messages.success(
            request,
            _("%(name)s was deactivated; their sessions and API tokens no longer work.")
            % {"name": target},
        )
    except ApplicationError as error:
        messages.error(request, str(error.message))
    return redirect("accounts:user-list")


@login_required
@require_POST
def user_reactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    target = user_get_for_user(request.user, user_id, write=True)
    try:
        services.user_reactivate(actor=request.user, user=target)
        messages.success(request, _("%(name)s was reactivated.") % {"name": target})
    except ApplicationError as error:
        messages.error(request, str(error.message))
    return redirect("accounts:user-list")


# --- Departments ------------------------------------------------------------------------------
@login_required
def department_index(request: HttpRequest) -> HttpResponse:
    can_manage = request.user.can(Capability.MANAGE_DEPARTMENTS)
    return TemplateResponse(
        request,
        "accounts/department_list.html",
        {
            "departments": department_list(actor=request.user),
            "can_manage": can_manage,
            "form": DepartmentForm() if can_manage else None,
        },
    )


@login_required
def department_create(request: HttpRequest) -> HttpResponse:
    require_capability(request.user, Capability.MANAGE_DEPARTMENTS)
    form = DepartmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.department_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                code=form.cleaned_data["code"],
                parent=form.cleaned_data["parent"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Department created."))
            return redirect("accounts:department-list")
    return TemplateResponse(
        request,
        "accounts/department_form.html",
        {"form": form, "creating": True},
        status=400 if form.errors else 200,
    )


@login_required
def department_edit(request: HttpRequest, department_id: int) -> HttpResponse:
    department = department_get_for_user(request.user, department_id, write=True)
    form = DepartmentForm(
        request.POST or None,
        initial={
            "name": department.name,
            "code": department.code,
            "parent": department.parent,
            "version": department.version,
        },
        editing=True,
    )
    form.fields["parent"].queryset = Department.objects.exclude(path__startswith=department.path)
    conflict = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.department_update(
                actor=request.user,
                department=department,
                data={k: data[k] for k in ("name", "code", "parent") if k in form.changed_data},
                expected_version=data["version"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        except ConflictError as error:
            conflict = error.extra.get("conflicts", {})
            form.add_error(None, str(error.message))
        else:
            messages.success(request, _("Saved."))
            return redirect("accounts:department-list")
    return TemplateResponse(
        request,
        "accounts/department_form.html",
        {"form": form, "department": department, "conflict": conflict},
        status=409 if conflict else (400 if form.errors else 200),
    )


@login_required
@require_POST
def department_delete(request: HttpRequest, department_id: int) -> HttpResponse:
    department = department_get_for_user(request.user, department_id, write=True)
    try:
        services.department_delete(actor=request.user, department=department)
        messages.success(
            request, _("%(name)s was moved to the recycle bin.") % {"name": department}
        )
    except ApplicationError as error:
        messages.error(request, str(error.message))
    return redirect("accounts:department-list")


# --- Roles ------------------------------------------------------------------------------------
@login_required
def role_index(request: HttpRequest) -> HttpResponse:
    require_capability(request.user, Capability.MANAGE_ROLES)
    rows = []
    saved, revoked = False, 0
    for setting in role_setting_list():
        prefix = setting.role
        form = RoleSettingForm(
            request.POST
            if request.method == "POST" and request.POST.get("role") == setting.role
            else None,
            prefix=prefix,
            initial={
                "data_scope": setting.data_scope,
                "require_otp": setting.require_otp,
                "reveal_personal_data": setting.reveal_personal_data,
            },
        )
        if form.is_bound and form.is_valid():
            change = services.role_setting_update(
                actor=request.user,
                role=setting.role,
                data_scope=form.cleaned_data["data_scope"],
                require_otp=form.cleaned_data["require_otp"],
                reveal_personal_data=form.cleaned_data["reveal_personal_data"],
            )
            setting, saved, revoked = change.setting, True, change.tokens_revoked
        rows.append({"setting": setting, "label": Role(setting.role).label, "form": form})
    if saved:
        messages.success(request, _("Saved."))
        if revoked:
            messages.warning(
                request,
                ngettext(
                    "%(count)s API token was revoked: its owner has no two-factor device yet.",
                    "%(count)s API tokens were revoked: their owners have no two-factor device "
                    "yet.",
                    revoked,
                )
                % {"count": revoked},
            )
        return redirect("accounts:role-list")
    invalid = any(row["form"].is_bound for row in rows)
    return TemplateResponse(
        request, "accounts/role_list.html", {"rows": rows}, status=400 if invalid else 200
    )
