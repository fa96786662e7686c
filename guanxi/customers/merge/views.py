"""Pages for merging duplicates: pick the other customer, compare the two side by side and
choose each differing value, confirm; undo from the survivor's page. Plain forms and links: the
whole flow works without JavaScript."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django.views.decorators.http import require_POST

from guanxi.accounts.forms import apply_errors
from guanxi.core.exceptions import ApplicationError, ConflictError
from guanxi.customers.merge import services
from guanxi.customers.merge.forms import CHOICE_PREFIX, CustomerMergeForm
from guanxi.customers.merge.permissions import (
    customer_get_for_merge,
    customer_merge_get_for_user,
    customer_merge_require,
)
from guanxi.customers.merge.selectors import (
    MERGE_FIELDS,
    customer_merge_candidates,
    customer_merge_preview,
    merge_field_label,
    merge_undo_deadline,
)
from guanxi.customers.permissions import customer_get_for_user

# The service's error keys, as the form names its fields.
_FORM_FIELDS = {f"values.{name}": CHOICE_PREFIX + name for name in MERGE_FIELDS}


@login_required
def customer_merge(request: HttpRequest, customer_id: int) -> HttpResponse:
    """``/customers/<id>/merge/``: without ``with``, the page to pick the customer to merge into
    this one (its likely duplicates, or a search); with ``with=<id>``, the compare page, whose
    POST merges. ``customer_id`` is the customer kept; "Keep the other one" swaps the two."""
    survivor = customer_get_for_user(request.user, customer_id, write=True)
    customer_merge_require(request.user)
    other_id = request.POST.get("with") or request.GET.get("with")
    if not other_id:
        query = request.GET.get("q", "").strip()[:100]
        return TemplateResponse(
            request,
            "customers/customer_merge_choose.html",
            {
                "customer": survivor,
                "query": query,
                "candidates": customer_merge_candidates(
                    actor=request.user, customer=survivor, query=query
                ),
            },
        )
    merged = customer_get_for_merge(request.user, other_id)
    if merged.pk == survivor.pk:
        messages.error(
            request, _("Choose another customer: a customer cannot be merged into itself.")
        )
        return redirect("customers:customer-merge", survivor.pk)
    preview = customer_merge_preview(survivor=survivor, merged=merged)
    form = CustomerMergeForm(
        request.POST if request.method == "POST" else None,
        rows=preview.rows,
        initial={"version_survivor": survivor.version, "version_merged": merged.version},
    )
    conflict = False
    if request.method == "POST" and form.is_valid():
        try:
            merge = services.customer_merge(
                actor=request.user,
                survivor=survivor,
                merged=merged,
                values=form.choices(),
                expected_versions={
                    "survivor": form.cleaned_data["version_survivor"],
                    "merged": form.cleaned_data["version_merged"],
                },
            )
        except ValidationError as error:
            apply_errors(form, error, _FORM_FIELDS)
        except ConflictError as error:
            # The page shows both records as they are now, with their current versions: a
            # second look and a second confirmation merge what the user has seen.
            conflict = True
            form.add_error(None, str(error.message))
        except ApplicationError as error:
            form.add_error(None, str(error.message))
        else:
            messages.success(
                request,
                _("“%(merged)s” was merged into this customer. You can undo it until %(date)s.")
                % {
                    "merged": merge.merged_name,
                    "date": formats.date_format(
                        timezone.localtime(merge_undo_deadline(merge)), "SHORT_DATETIME_FORMAT"
                    ),
                },
            )
            return redirect("customers:customer-detail", survivor.pk)
    preview = customer_merge_preview(
        survivor=survivor, merged=merged, choices=form.submitted_choices()
    )
    fresh = conflict or not form.is_bound
    return TemplateResponse(
        request,
        "customers/customer_merge.html",
        {
            "preview": preview,
            "rows": [
                {
                    "row": row,
                    "chosen": preview.choices.get(row.name),
                    "errors": form.errors.get(CHOICE_PREFIX + row.name, []),
                }
                for row in preview.rows
            ],
            "form": form,
            "versions": {
                "survivor": preview.survivor.version
                if fresh
                else request.POST.get("version_survivor", ""),
                "merged": preview.merged.version
                if fresh
                else request.POST.get("version_merged", ""),
            },
            "conflict": conflict,
        },
        status=409 if conflict else (400 if form.errors else 200),
    )


@login_required
@require_POST
def customer_merge_undo(request: HttpRequest, merge_id: int) -> HttpResponse:
    """Separate the two customers of a merge again; back to the survivor's page, which says what
    was restored and which fields kept a newer value."""
    merge = customer_merge_get_for_user(request.user, merge_id, write=True)
    try:
        merge = services.customer_merge_undo(actor=request.user, merge=merge)
    except ApplicationError as error:
        messages.error(request, str(error.message))
        return redirect("customers:customer-detail", merge.survivor_id)
    for level, text in merge_undo_messages(merge.undo_report, merged_name=merge.merged_name):
        messages.add_message(request, level, text)
    return redirect("customers:customer-detail", merge.survivor_id)


def merge_undo_messages(report: dict[str, Any], *, merged_name: str) -> list[tuple[int, str]]:
    """What an undo did, in sentences: the success, every field that kept a newer value (no
    silent loss), fields that could not get their value back, and rows no longer there."""
    separator = pgettext("between the items of a list", ", ")
    result = [
        (
            messages.SUCCESS,
            _("The merge was undone: “%(name)s” is a customer of its own again.")
            % {"name": merged_name},
        )
    ]
    kept = report.get("kept") or []
    if kept:
        result.append(
            (
                messages.WARNING,
                ngettext(
                    "This field was changed after the merge and keeps its newer value: %(fields)s.",
                    "These fields were changed after the merge and keep their newer values: "
                    "%(fields)s.",
                    len(kept),
                )
                % {"fields": separator.join(merge_field_label(name) for name in kept)},
            )
        )
    refused = report.get("not_restored") or {}
    if refused:
        result.append(
            (
                messages.WARNING,
                ngettext(
                    "This field could not get its earlier value back and keeps the merged one: "
                    "%(fields)s.",
                    "These fields could not get their earlier values back and keep the merged "
                    "ones: %(fields)s.",
                    len(refused),
                )
                % {
                    "fields": separator.join(
                        f"{merge_field_label(name)} ({' '.join(reasons)})"
                        for name, reasons in refused.items()
                    )
                },
            )
        )
    gone = sum((report.get("not_moved_back") or {}).values())
    if gone:
        result.append(
            (
                messages.INFO,
                ngettext(
                    "%(count)s record the merge moved was deleted for good or moved on since; "
                    "it stays where it is.",
                    "%(count)s records the merge moved were deleted for good or moved on since; "
                    "they stay where they are.",
                    gone,
                )
                % {"count": gone},
            )
        )
    return result
