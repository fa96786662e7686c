"""Writes for merging duplicates: customer_merge and customer_merge_undo, and the guard that keeps
the plain recycle-bin restore away from merged customers.

Both run in one transaction with both customers locked (in id order, so that two merges of the
same pair queue instead of deadlocking). Every row that moves is audited on its own record; the
survivor's field changes go through customers.services.customer_update, so they are audited
field by field like any edit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from guanxi.accounts.selectors import user_visible_queryset
from guanxi.core.audit import audit_record
from guanxi.core.exceptions import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from guanxi.core.models import AuditEntry
from guanxi.core.services import object_restore, object_soft_delete
from guanxi.customers.merge.relations import merge_relations
from guanxi.customers.merge.selectors import (
    MERGE_FIELDS,
    MERGED,
    SIDES,
    SURVIVOR,
    customer_merge_defaults,
    customer_merge_owner_after,
    customer_merge_state,
    merge_lifecycle_locked,
    merge_undo_deadline,
)
from guanxi.customers.models import Contact, Customer, CustomerMerge, Industry, Need, Tag
from guanxi.customers.permissions import customer_can_write, customer_manages
from guanxi.customers.selectors import customer_name_key, customer_visible_q
from guanxi.customers.services import customer_search_key_refresh, customer_update

# How much of the other customer's name an audit note carries: a note holds 500 characters, and
# a Chinese character takes nine once URL-encoded.
_NOTE_NAME_LENGTH = 40


class CustomerMergeError(ApplicationError):
    """A merge or an undo that the records' state refuses (already merged, already undone, past
    the recycle window …): 409, nothing written."""

    status_code = 409
    default_code = "merge_refused"


def _note(key: str, name: str) -> str:
    return f"{key}?{urlencode({'name': name[:_NOTE_NAME_LENGTH]})}"


def _lock_pair(survivor_id: int, merged_id: int) -> tuple[Customer | None, Customer | None]:
    rows = {
        row.pk: row
        for row in Customer.all_objects.select_for_update()
        .filter(pk__in=[survivor_id, merged_id])
        .order_by("pk")
    }
    return rows.get(survivor_id), rows.get(merged_id)


def _mergeable_check(customer: Customer | None, *, label: str) -> Customer:
    if customer is None:
        raise NotFoundError()
    if customer.merged_into_id is not None:
        raise CustomerMergeError(
            _("“%(name)s” has already been merged into another customer.") % {"name": label},
            code="already_merged",
        )
    if customer.deleted_at is not None:
        raise CustomerMergeError(
            _("“%(name)s” is in the recycle bin; restore it before merging.") % {"name": label},
            code="in_recycle_bin",
        )
    return customer


def _versions_clean(expected_versions: Any) -> dict[str, int]:
    errors: dict[str, list[str]] = {}
    versions: dict[str, int] = {}
    given = expected_versions if isinstance(expected_versions, Mapping) else {}
    for side in SIDES:
        value = given.get(side)
        if isinstance(value, bool) or not isinstance(value, int):
            errors[f"versions.{side}"] = [_("Send the version of the record you compared.")]
        else:
            versions[side] = value
    if errors:
        raise ValidationError(errors)
    return versions


def _choices_clean(values: Any, *, survivor: Customer, merged: Customer) -> dict[str, str]:
    """``values`` with every field's side; the defaults for fields not sent. Unknown fields and
    sides are field errors (``values.<field>``)."""
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise ValidationError({"values": [_("Send the side to take each field from.")]})
    errors: dict[str, list[str]] = {}
    choices = customer_merge_defaults(survivor=survivor, merged=merged)
    for name, side in values.items():
        if name not in MERGE_FIELDS:
            errors[f"values.{name}"] = [_("This field is not merged.")]
        elif side not in SIDES:
            errors[f"values.{name}"] = [_("Choose “survivor” or “merged”.")]
        else:
            choices[name] = side
    if (
        choices["lifecycle"] == MERGED
        and merge_lifecycle_locked(survivor, merged)
        and "values.lifecycle" not in errors
    ):
        errors["values.lifecycle"] = [
            _(
                "A customer enters or leaves the history library on its own page, not through a "
                "merge: the customer kept keeps its lifecycle."
            )
        ]
    if errors:
        raise ValidationError(errors)
    return choices


def _update_data(name: str, value: Any) -> dict[str, Any]:
    """A state value (customer_merge_state) as customer_update takes it."""
    if name == "region":
        codes = [code for code in (value or []) if code]
        return {"region_code": codes[-1] if codes else None}
    if name == "industry":
        return {"industry": Industry.all_objects.filter(pk=value).first() if value else None}
    if name == "first_contact_date":
        return {name: dt.date.fromisoformat(value) if value else None}
    return {name: value}


# Errors customer_update reports under its own field names, shown on the merge's.
_ERROR_FIELDS = {"region_code": "region", "province": "region", "city": "region"}
_ERROR_FIELDS |= {"district": "region"}


def _errors_as_choices(error: ValidationError) -> ValidationError:
    if not hasattr(error, "error_dict"):
        return error
    fields: dict[str, list[Any]] = {}
    for name, errors in error.error_dict.items():
        target = _ERROR_FIELDS.get(name, name)
        key = f"values.{target}" if target in MERGE_FIELDS else name
        fields.setdefault(key, []).extend(errors)
    return ValidationError(fields)


def _parent_cycle_check(*, parent_id: int | None, moving: set[int]) -> None:
    """Subsidiaries of the merged customer go under the survivor; one that is also above the
    survivor (its parent, or further up) would close a loop."""
    seen: set[int] = set()
    current = parent_id
    while current is not None and current not in seen:
        if current in moving:
            name = Customer.all_objects.filter(pk=current).values_list("name", flat=True).first()
            raise CustomerMergeError(
                _(
                    "“%(name)s” is a subsidiary of the customer merged and a parent company of "
                    "the customer kept: change its parent company first."
                )
                % {"name": name},
                code="merge_parent_cycle",
            )
        seen.add(current)
        current = (
            Customer.all_objects.filter(pk=current).values_list("parent_id", flat=True).first()
        )


def _rows_move(
    *,
    actor: Any,
    model: type[Model],
    ids: list[int],
    field: str,
    source: Customer,
    target: Customer,
    note: str,
) -> int:
    """Point the rows ``ids`` that still point at ``source`` (through ``field``) at ``target``,
    one audited change each; the version goes up so that a form opened before fails cleanly."""
    rows = list(model._base_manager.filter(pk__in=ids, **{f"{field}_id": source.pk}).order_by("pk"))
    if not rows:
        return 0
    bump = {"version": F("version") + 1} if hasattr(model, "version") else {}
    model._base_manager.filter(pk__in=[row.pk for row in rows]).update(
        **{f"{field}_id": target.pk}, **bump
    )
    for row in rows:
        setattr(row, f"{field}_id", target.pk)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=row,
            changes={field: {"before": source.pk, "after": target.pk}},
            note=note,
        )
    return len(rows)


def _live_tag_ids(customer_id: int) -> list[int]:
    return sorted(Tag.objects.filter(customers=customer_id).values_list("pk", flat=True))


def _tags_change(*, actor: Any, customer: Customer, add: list[int], remove: list[int]) -> None:
    """Add and remove tag links directly: the links to tags in the recycle bin stay as they are
    (customers.services.tag_delete keeps them hidden until the tag returns). Audited as a change
    of ``tags``, as customer_tags_set does."""
    through = Customer.tags.through
    before = _live_tag_ids(customer.pk)
    if add:
        through.objects.bulk_create(
            [through(customer_id=customer.pk, tag_id=tag_id) for tag_id in add],
            ignore_conflicts=True,
        )
    if remove:
        through.objects.filter(customer_id=customer.pk, tag_id__in=remove).delete()
    after = _live_tag_ids(customer.pk)
    Customer.all_objects.filter(pk=customer.pk).update(
        version=F("version") + 1,
        updated_at=timezone.now(),
        updated_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    if before != after:
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=customer,
            changes={"tags": {"before": before, "after": after}},
        )


def _derived_keys_refresh(customer_id: int) -> None:
    customer_search_key_refresh(customer_id=customer_id)
    customer = Customer.all_objects.get(pk=customer_id)
    Customer.all_objects.filter(pk=customer_id).update(
        name_key=customer_name_key(name=customer.name, kind=customer.kind)
    )


def customer_merge(
    *,
    actor: Any,
    survivor: Customer,
    merged: Customer,
    values: Mapping[str, str] | None,
    expected_versions: Mapping[str, int],
) -> CustomerMerge:
    """Merge ``merged`` into ``survivor`` (managers and administrators; both customers in their
    data scope). ``values`` names, per field of MERGE_FIELDS, the side its value comes from
    ("survivor" or "merged"; a field not named takes the default of the compare page);
    ``expected_versions`` ({"survivor": n, "merged": m}) are the versions compared, and a stale
    one is a 409 that writes nothing.

    In one transaction: the survivor takes the chosen values (customer_update, audited per
    field) and keeps its owner (a pool survivor takes the other's); every contact and need of
    the merged customer (those in the recycle bin too), its subsidiaries and the other apps'
    records registered in merge.relations (interactions, tickets, feedback) move to the
    survivor, which also gets its tags; the merged customer goes to the recycle bin with
    ``merged_into`` set. Returns the CustomerMerge that undoing reads."""
    if not customer_manages(actor):
        raise PermissionDeniedError()
    if survivor.pk == merged.pk:
        raise ValidationError(
            {"merged": [_("Choose another customer: a customer cannot be merged into itself.")]},
            code="same_customer",
        )
    versions = _versions_clean(expected_versions)
    with transaction.atomic():
        locked_survivor, locked_merged = _lock_pair(survivor.pk, merged.pk)
        kept = _mergeable_check(locked_survivor, label=survivor.name)
        other = _mergeable_check(locked_merged, label=merged.name)
        visible = Customer.objects.filter(customer_visible_q(actor), pk__in=[kept.pk, other.pk])
        if visible.count() != 2:
            raise NotFoundError()
        if not (customer_can_write(actor, kept) and customer_can_write(actor, other)):
            raise PermissionDeniedError()
        if (kept.version, other.version) != (versions[SURVIVOR], versions[MERGED]):
            raise ConflictError(
                _(
                    "One of the two customers was changed after you compared them. Compare them "
                    "again."
                ),
                extra={"current_versions": {SURVIVOR: kept.version, MERGED: other.version}},
            )
        choices = _choices_clean(values, survivor=kept, merged=other)
        merged_at = timezone.now()
        before = customer_merge_state(kept)
        wanted = customer_merge_state(other)
        pair = (kept.pk, other.pk)
        data: dict[str, Any] = {}
        for name in MERGE_FIELDS:
            value = wanted[name] if choices[name] == MERGED else before[name]
            if name == "parent" and value in pair:
                value = None  # a parent company that is one of the two: none (see selectors)
            if value != before[name]:
                data.update(_update_data(name, value))
        owner = customer_merge_owner_after(survivor=kept, merged=other)
        owner_id = owner.pk if owner is not None else None
        if (
            owner_id != kept.owner_id
            and not user_visible_queryset(actor=actor).filter(pk=owner_id).exists()
        ):
            owner_id = kept.owner_id  # an owner the actor cannot assign: the survivor keeps its
        if owner_id != kept.owner_id:
            data["owner"] = owner_id
        subsidiary_ids = list(
            Customer.all_objects.filter(parent_id=other.pk)
            .exclude(pk=kept.pk)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        _parent_cycle_check(
            parent_id=data.get("parent", kept.parent_id),
            moving=set(subsidiary_ids),
        )

        moved_note = _note("customer_merge_moved", kept.name)
        contact_ids = list(
            Contact.all_objects.filter(customer_id=other.pk)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        need_ids = list(
            Need.all_objects.filter(customer_id=other.pk)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        related_ids = {
            relation.key: list(
                relation.model._base_manager.filter(**{f"{relation.field}_id": other.pk})
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            for relation in merge_relations()
        }
        related = [
            (relation.model, related_ids[relation.key], relation.field)
            for relation in merge_relations()
        ]
        for model, ids, field in (
            (Contact, contact_ids, "customer"),
            (Need, need_ids, "customer"),
            (Customer, subsidiary_ids, "parent"),
            *related,
        ):
            _rows_move(
                actor=actor,
                model=model,
                ids=ids,
                field=field,
                source=other,
                target=kept,
                note=moved_note,
            )
        # To the recycle bin before the survivor's update: the duplicate check of a credit code
        # or name the survivor takes over must not find the record it comes from.
        Customer.all_objects.filter(pk=other.pk).update(merged_into=kept)
        object_soft_delete(instance=other, actor=actor)
        if data:
            try:
                customer_update(
                    actor=actor,
                    customer=kept,
                    data=data,
                    expected_version=kept.version,
                    allow_duplicates=True,  # merging is how duplicates are resolved
                )
            except ValidationError as error:
                raise _errors_as_choices(error) from error
        tag_ids_added = sorted(
            set(
                Customer.tags.through.objects.filter(customer_id=other.pk).values_list(
                    "tag_id", flat=True
                )
            )
            - set(
                Customer.tags.through.objects.filter(customer_id=kept.pk).values_list(
                    "tag_id", flat=True
                )
            )
        )
        if tag_ids_added:
            _tags_change(actor=actor, customer=kept, add=tag_ids_added, remove=[])
        _derived_keys_refresh(kept.pk)
        _derived_keys_refresh(other.pk)
        kept = Customer.all_objects.get(pk=kept.pk)
        merge = CustomerMerge(
            survivor=kept,
            merged=other,
            merged_record_id=other.pk,
            merged_name=other.name,
            merged_at=merged_at,
            merged_by=actor if getattr(actor, "is_authenticated", False) else None,
            values=choices,
            survivor_before=before,
            survivor_after=customer_merge_state(kept),
            contact_ids=contact_ids,
            need_ids=need_ids,
            tag_ids_added=tag_ids_added,
            subsidiary_ids=subsidiary_ids,
            related_ids={key: ids for key, ids in related_ids.items() if ids},
        )
        merge.full_clean()
        merge.save(force_insert=True)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.ACTION,
            obj=kept,
            note=_note("customer_merged", other.name),
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.ACTION,
            obj=other,
            changes={"merged_into": {"before": None, "after": kept.pk}},
            note=_note("customer_merged_into", kept.name),
        )
    return merge


def customer_merge_undo(*, actor: Any, merge: CustomerMerge) -> CustomerMerge:
    """Separate the two customers of ``merge`` again, within the recycle window
    (GUANXI_RECYCLE_DAYS from the merge; managers and administrators, both customers in their
    scope). Moves back exactly the contacts, needs, subsidiaries and other apps' records the
    merge moved that still belong to the survivor, takes off the tags it added, restores the
    merged customer from the recycle bin, and gives the survivor back its earlier values: where
    a field was changed since the merge, the newer value stays, and ``undo_report["kept"]``
    names it (nothing is lost silently). Returns ``merge`` with ``undone_at`` and
    ``undo_report``."""
    if not customer_manages(actor):
        raise PermissionDeniedError()
    with transaction.atomic():
        current = CustomerMerge.objects.select_for_update().filter(pk=merge.pk).first()
        if current is None:
            raise NotFoundError()
        if current.undone_at is not None:
            raise CustomerMergeError(_("This merge has already been undone."), code="merge_undone")
        now = timezone.now()
        if now >= merge_undo_deadline(current):
            days = settings.GUANXI_RECYCLE_DAYS
            raise CustomerMergeError(
                ngettext(
                    "This merge can no longer be undone: it is possible for %(days)s day after "
                    "the merge.",
                    "This merge can no longer be undone: it is possible for %(days)s days after "
                    "the merge.",
                    days,
                )
                % {"days": days},
                code="merge_undo_expired",
            )
        if current.merged_id is None:
            raise CustomerMergeError(
                _("This merge can no longer be undone: the merged customer was purged."),
                code="merge_undo_purged",
            )
        kept, other = _lock_pair(current.survivor_id, current.merged_id)
        if kept is None or other is None:  # pragma: no cover - the foreign keys say they exist
            raise NotFoundError()
        if kept.deleted_at is not None:
            if kept.merged_into_id is not None:
                raise CustomerMergeError(
                    _(
                        "“%(name)s” has since been merged into another customer: undo that merge "
                        "first."
                    )
                    % {"name": kept.name},
                    code="survivor_merged",
                )
            raise CustomerMergeError(
                _("“%(name)s” is in the recycle bin: restore it first.") % {"name": kept.name},
                code="survivor_deleted",
            )
        if not Customer.objects.filter(customer_visible_q(actor), pk=kept.pk).exists():
            raise NotFoundError()
        in_scope = Customer.all_objects.filter(customer_visible_q(actor), pk=other.pk).exists()
        if not (in_scope and customer_can_write(actor, kept)):
            raise PermissionDeniedError()
        if other.deleted_at is None or other.merged_into_id != kept.pk:  # pragma: no cover
            raise CustomerMergeError(
                _("The merged customer is no longer waiting in the recycle bin."),
                code="merge_undo_restored",
            )

        # The survivor's fields: back to their earlier values where they still hold the merge's.
        state = customer_merge_state(kept)
        restore: dict[str, Any] = {}
        kept_newer: list[str] = []
        for name, before_value in current.survivor_before.items():
            after_value = current.survivor_after.get(name)
            if before_value == after_value or state.get(name) == before_value:
                continue
            if state.get(name) == after_value:
                restore[name] = before_value
            else:
                kept_newer.append(name)
        back_note = _note("customer_merge_moved_back", other.name)
        moved_back: dict[str, int] = {}
        relations = {relation.key: relation for relation in merge_relations()}
        related = [
            (key, relations[key].model, ids, relations[key].field)
            for key, ids in current.related_ids.items()
            if key in relations
        ]
        for key, model, ids, field in (
            ("contacts", Contact, current.contact_ids, "customer"),
            ("needs", Need, current.need_ids, "customer"),
            ("subsidiaries", Customer, current.subsidiary_ids, "parent"),
            *related,
        ):
            moved_back[key] = _rows_move(
                actor=actor,
                model=model,
                ids=ids,
                field=field,
                source=kept,
                target=other,
                note=back_note,
            )
        linked = set(
            Customer.tags.through.objects.filter(
                customer_id=kept.pk, tag_id__in=current.tag_ids_added
            ).values_list("tag_id", flat=True)
        )
        if linked:
            _tags_change(actor=actor, customer=kept, add=[], remove=sorted(linked))
        moved_back["tags"] = len(linked)

        Customer.all_objects.filter(pk=other.pk).update(merged_into=None)
        other.merged_into_id = None
        object_restore(instance=other, actor=actor)
        # After the restore: an earlier parent company may be the customer just restored.
        not_restored = _fields_restore(actor=actor, customer=kept, values=restore)
        _derived_keys_refresh(kept.pk)
        _derived_keys_refresh(other.pk)
        counts = {
            "contacts": len(current.contact_ids),
            "needs": len(current.need_ids),
            "subsidiaries": len(current.subsidiary_ids),
            "tags": len(current.tag_ids_added),
            **{key: len(ids) for key, ids in current.related_ids.items()},
        }
        current.undone_at = now
        current.undone_by = actor if getattr(actor, "is_authenticated", False) else None
        current.undo_report = {
            "restored": sorted(set(restore) - set(not_restored)),
            "kept": kept_newer,
            "not_restored": not_restored,
            "moved_back": moved_back,
            "not_moved_back": {key: counts[key] - moved_back[key] for key in counts},
        }
        current.save(update_fields=["undone_at", "undone_by", "undo_report"])
        audit_record(
            actor=actor,
            action=AuditEntry.Action.ACTION,
            obj=kept,
            note=_note("customer_merge_undone", other.name),
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.ACTION,
            obj=other,
            changes={"merged_into": {"before": kept.pk, "after": None}},
            note=_note("customer_merge_undone_from", kept.name),
        )
    return current


def _fields_restore(
    *, actor: Any, customer: Customer, values: dict[str, Any]
) -> dict[str, list[str]]:
    """Give ``customer`` back ``values`` (state values by field) through customer_update. A value
    that cannot come back (a parent company since deleted, an industry switched off …) is left as
    it is and returned with the reason, so the undo still separates the two customers."""
    refused: dict[str, list[str]] = {}
    pending = dict(values)
    while pending:
        data: dict[str, Any] = {}
        for name, value in pending.items():
            data.update(_update_data(name, value))
        try:
            with transaction.atomic():
                current = Customer.objects.get(pk=customer.pk)
                customer_update(
                    actor=actor,
                    customer=current,
                    data=data,
                    expected_version=current.version,
                    allow_duplicates=True,
                )
            return refused
        except ValidationError as error:
            messages = _errors_as_choices(error)
            named = {
                key.removeprefix("values."): [str(m) for m in errs]
                for key, errs in getattr(messages, "message_dict", {}).items()
            }
            failing = {name for name in named if name in pending}
            if not failing:  # an error no field of ours explains: give up on all of them
                failing = set(pending)
            for name in failing:
                refused[name] = named.get(name) or [str(m) for m in error.messages]
                pending.pop(name)
    return refused


def customer_restore_guard(instance: Customer) -> None:
    """Registered with core.services.object_restore: a merged customer comes back only by undoing
    its merge, which also moves its contacts and needs back; restored alone, it would be an
    empty shell beside the survivor that holds them."""
    if instance.merged_into_id is None:
        return
    survivor = Customer.all_objects.filter(pk=instance.merged_into_id).first()
    raise ApplicationError(
        _(
            "“%(name)s” was merged into “%(survivor)s”. To separate them again, undo the merge on "
            "the page of “%(survivor)s”."
        )
        % {"name": instance.name, "survivor": survivor.name if survivor else "?"},
        code="customer_merged",
    )
