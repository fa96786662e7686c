"""Merging two duplicate customers and undoing it (customers.merge.services): what moves, which
values the survivor takes, the audit on both sides, the recycle bin and its purge, the merged
record's history on the survivor's timeline, and every refusal leaving the database as it was.
Runs on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from guanxi.core.audit import audit_note_display
from guanxi.core.exceptions import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from guanxi.core.models import AuditEntry
from guanxi.core.services import object_restore, recycle_bin_purge
from guanxi.customers import services
from guanxi.customers.merge.selectors import (
    customer_merge_defaults,
    customer_merge_preview,
    customer_merged_pointer,
    merge_can_undo,
)
from guanxi.customers.merge.services import customer_merge, customer_merge_undo
from guanxi.customers.models import Contact, Customer, CustomerMerge, Need, Tag
from guanxi.customers.selectors import customer_history, customer_list
from tests.conftest import Org
from tests.customers.conftest import (
    HUAWEI_CODE,
    db_state,
    make_contact,
    make_customer,
    make_need,
)

pytestmark = pytest.mark.django_db


def merge(
    actor: Any, survivor: Customer, merged: Customer, values: dict[str, str] | None = None
) -> CustomerMerge:
    survivor.refresh_from_db()
    merged.refresh_from_db()
    return customer_merge(
        actor=actor,
        survivor=survivor,
        merged=merged,
        values=values or {},
        expected_versions={"survivor": survivor.version, "merged": merged.version},
    )


def _tag(name: str) -> Tag:
    return Tag.objects.create(name=name, color="teal")


@pytest.fixture
def pair(org: Org) -> dict[str, Any]:
    """Two records of one company, both the rep's: the survivor has a tag, an address and a
    contact; the duplicate has its own contact (and one in the recycle bin), a need, two tags
    (one shared), a subsidiary, a website and a credit code."""
    shared, own = _tag("共同标签"), _tag("重复记录的标签")
    survivor = make_customer(
        org.rep, "华为技术有限公司", address="深圳市龙岗区坂田", tags=[shared.pk]
    )
    merged = make_customer(
        org.rep,
        "华为技术（深圳）有限公司",
        website="https://www.huawei.com",
        credit_code=HUAWEI_CODE,
        region_code="440305",
        tags=[shared.pk, own.pk],
    )
    kept_contact = make_contact(survivor, "张三", phones=["13800138000"])
    moved_contact = make_contact(merged, "李四", phones=["13912345678"])
    binned_contact = make_contact(merged, "王五")
    services.contact_delete(actor=org.rep, contact=binned_contact)
    need = make_need(merged, "年度采购工业网关")
    subsidiary = make_customer(org.rep, "华为终端有限公司", parent=merged.pk)
    return {
        "survivor": survivor,
        "merged": merged,
        "shared": shared,
        "own": own,
        "kept_contact": kept_contact,
        "moved_contact": moved_contact,
        "binned_contact": binned_contact,
        "need": need,
        "subsidiary": subsidiary,
    }


def _relations(customer_id: int) -> dict[str, Any]:
    return {
        "contacts": sorted(
            Contact.all_objects.filter(customer_id=customer_id).values_list("pk", flat=True)
        ),
        "needs": sorted(
            Need.all_objects.filter(customer_id=customer_id).values_list("pk", flat=True)
        ),
        "tags": sorted(
            Customer.tags.through.objects.filter(customer_id=customer_id).values_list(
                "tag_id", flat=True
            )
        ),
        "subsidiaries": sorted(
            Customer.all_objects.filter(parent_id=customer_id).values_list("pk", flat=True)
        ),
    }


# Columns a merge and its undo may change without changing what the record says.
_BOOKKEEPING = {
    "version",
    "updated_at",
    "updated_by_id",
    "last_activity_at",
    "search_key",
    "deleted_at",
    "deleted_by_id",
    "released_at",
    "claimed_at",
    "protected_until",
    "previous_owner_id",
}


def _fields(customer_id: int) -> dict[str, Any]:
    row = Customer.all_objects.filter(pk=customer_id).values().get()
    return {name: value for name, value in row.items() if name not in _BOOKKEEPING}


# --- merge --------------------------------------------------------------------------------------


def test_merge_moves_contacts_needs_tags_and_subsidiaries(org: Org, pair: dict[str, Any]) -> None:
    survivor, merged = pair["survivor"], pair["merged"]
    record = merge(org.manager, survivor, merged)
    # every contact moved, the one in the recycle bin too; the survivor's own stayed
    contacts = Contact.all_objects.filter(customer=survivor)
    assert set(contacts.values_list("pk", flat=True)) == {
        pair["kept_contact"].pk,
        pair["moved_contact"].pk,
        pair["binned_contact"].pk,
    }
    assert Need.objects.get(pk=pair["need"].pk).customer_id == survivor.pk
    assert Customer.objects.get(pk=pair["subsidiary"].pk).parent_id == survivor.pk
    # the tags are the union; only the one the survivor lacked was added
    assert _relations(survivor.pk)["tags"] == sorted([pair["shared"].pk, pair["own"].pk])
    assert record.tag_ids_added == [pair["own"].pk]
    # the record says exactly what moved
    assert record.contact_ids == sorted([pair["moved_contact"].pk, pair["binned_contact"].pk])
    assert record.need_ids == [pair["need"].pk]
    assert record.subsidiary_ids == [pair["subsidiary"].pk]
    # the moved rows were changed through a version bump, so forms opened before fail cleanly
    assert Contact.objects.get(pk=pair["moved_contact"].pk).version == 2


def test_merged_customer_goes_to_the_recycle_bin_with_a_pointer(
    org: Org, pair: dict[str, Any]
) -> None:
    survivor, merged = pair["survivor"], pair["merged"]
    record = merge(org.manager, survivor, merged)
    gone = Customer.all_objects.get(pk=merged.pk)
    assert gone.deleted_at is not None and gone.deleted_by == org.manager
    assert gone.merged_into_id == survivor.pk
    assert not Customer.objects.filter(pk=merged.pk).exists()
    assert (record.survivor_id, record.merged_id, record.merged_record_id) == (
        survivor.pk,
        merged.pk,
        merged.pk,
    )
    assert record.merged_name == "华为技术（深圳）有限公司"
    assert record.merged_by == org.manager and record.undone_at is None
    assert merge_can_undo(record)
    # the merged record's page leads to the survivor, for those who may see it
    assert customer_merged_pointer(actor=org.rep, customer_id=merged.pk) == survivor
    assert customer_merged_pointer(actor=org.outsider, customer_id=merged.pk) is None


def test_field_values_are_chosen_per_field_with_survivor_defaults(
    org: Org, pair: dict[str, Any]
) -> None:
    survivor, merged = pair["survivor"], pair["merged"]
    # given: the defaults take the survivor's value, or the other's where the survivor has none
    defaults = customer_merge_defaults(survivor=survivor, merged=merged)
    assert defaults["name"] == "survivor"
    assert defaults["address"] == "survivor"
    assert defaults["website"] == "merged"
    assert defaults["credit_code"] == "merged"
    assert defaults["region"] == "merged"
    # when the name comes from the duplicate and the website stays empty
    merge(org.manager, survivor, merged, values={"name": "merged", "website": "survivor"})
    # then
    survivor.refresh_from_db()
    assert survivor.name == "华为技术（深圳）有限公司"
    assert survivor.address == "深圳市龙岗区坂田"
    assert survivor.website == ""
    assert survivor.credit_code == HUAWEI_CODE  # the duplicate check does not refuse its own
    assert (survivor.province_id, survivor.city_id, survivor.district_id) == (
        "440000",
        "440300",
        "440305",
    )
    # derived keys follow the values
    assert survivor.name_key == Customer.all_objects.get(pk=merged.pk).name_key
    assert "李四" in survivor.search_key or "ls" in survivor.search_key


def test_field_changes_are_audited_field_by_field_and_both_sides_are_noted(
    org: Org, pair: dict[str, Any]
) -> None:
    survivor, merged = pair["survivor"], pair["merged"]
    merge(org.manager, survivor, merged, values={"name": "merged"})
    update = AuditEntry.objects.filter(
        object_type="customers.customer",
        object_id=str(survivor.pk),
        action=AuditEntry.Action.UPDATE,
        changes__has_key="name",
    ).get()
    assert update.changes["name"] == {
        "before": "华为技术有限公司",
        "after": "华为技术（深圳）有限公司",
    }
    assert {"credit_code", "website", "province", "city", "district"} <= set(update.changes)
    noted = AuditEntry.objects.get(object_id=str(survivor.pk), note__startswith="customer_merged")
    assert audit_note_display(noted.note) == (
        "Merged the duplicate “华为技术（深圳）有限公司” into this customer"
    )
    other = AuditEntry.objects.get(
        object_id=str(merged.pk), note__startswith="customer_merged_into"
    )
    assert other.changes == {"merged_into": {"before": None, "after": survivor.pk}}
    assert (
        audit_note_display(other.note) == "Merged into “华为技术（深圳）有限公司” as its duplicate"
    )
    assert AuditEntry.objects.filter(
        object_id=str(merged.pk), action=AuditEntry.Action.DELETE
    ).exists()
    # each moved row has its own entry, with the customer before and after
    moved = AuditEntry.objects.get(
        object_type="customers.contact",
        object_id=str(pair["moved_contact"].pk),
        note__contains="moved",
    )
    assert moved.changes == {"customer": {"before": merged.pk, "after": survivor.pk}}
    assert AuditEntry.objects.filter(
        object_type="customers.need", object_id=str(pair["need"].pk), note__contains="moved"
    ).exists()


def test_every_note_the_merge_writes_is_a_registered_key(org: Org, pair: dict[str, Any]) -> None:
    from guanxi.core.audit import audit_note_labels

    record = merge(org.manager, pair["survivor"], pair["merged"])
    customer_merge_undo(actor=org.manager, merge=record)
    notes = {
        note.partition("?")[0]
        for note in AuditEntry.objects.exclude(note="").values_list("note", flat=True)
    }
    assert notes == {
        "customer_merged",
        "customer_merged_into",
        "customer_merge_moved",
        "customer_merge_moved_back",
        "customer_merge_undone",
        "customer_merge_undone_from",
    }
    assert notes <= set(audit_note_labels())


def test_search_finds_the_survivor_by_the_merged_ones_contacts(
    org: Org, pair: dict[str, Any]
) -> None:
    survivor, merged = pair["survivor"], pair["merged"]
    assert list(customer_list(actor=org.rep, query="李四")) == [merged]
    merge(org.manager, survivor, merged)
    assert list(customer_list(actor=org.rep, query="李四")) == [survivor]
    assert list(customer_list(actor=org.rep, query="5678")) == [survivor]  # phone tail


def test_survivor_timeline_shows_the_merged_records_history_up_to_the_merge(
    org: Org, pair: dict[str, Any]
) -> None:
    survivor, merged = pair["survivor"], pair["merged"]
    merge(org.manager, survivor, merged)
    history = customer_history(customer=Customer.objects.get(pk=survivor.pk))
    from_merged = [entry for entry in history if entry.object_id == str(merged.pk)]
    assert [entry.action for entry in from_merged] == [AuditEntry.Action.CREATE]
    assert from_merged[0].merged_from == "华为技术（深圳）有限公司"
    own = [entry for entry in history if entry.object_id == str(survivor.pk)]
    assert all(entry.merged_from == "" for entry in own)
    assert any(entry.note.startswith("customer_merged?") for entry in own)


def test_a_pool_survivor_takes_the_owner_of_the_duplicate(org: Org) -> None:
    survivor = make_customer(None, "公海里的重复客户有限公司")
    merged = make_customer(org.rep, "公海里的重复客户有限公司")
    record = merge(org.manager, survivor, merged)
    survivor.refresh_from_db()
    assert survivor.owner == org.rep and survivor.department == org.rep.department
    assert record.survivor_before["owner"] is None
    assert record.survivor_after["owner"] == org.rep.pk
    # an owned survivor keeps its owner
    kept = make_customer(org.rep, "某某科技有限公司")
    other = make_customer(org.other_rep, "某某科技有限公司")
    merge(org.manager, kept, other)
    kept.refresh_from_db()
    assert kept.owner == org.rep


def test_a_parent_that_is_one_of_the_two_becomes_none(org: Org) -> None:
    parent = make_customer(org.rep, "母公司有限公司")
    child = make_customer(org.rep, "母公司有限公司", parent=parent.pk)
    merge(org.manager, parent, child, values={"parent": "merged"})
    parent.refresh_from_db()
    assert parent.parent_id is None


def test_a_subsidiary_above_the_survivor_is_refused_and_nothing_changes(org: Org) -> None:
    merged = make_customer(org.rep, "集团有限公司")
    middle = make_customer(org.rep, "中间公司", parent=merged.pk)
    survivor = make_customer(org.rep, "集团有限公司", parent=middle.pk)
    before = db_state()
    with pytest.raises(ApplicationError) as refused:
        merge(org.manager, survivor, merged)
    assert refused.value.code == "merge_parent_cycle"
    assert db_state() == before


# --- refusals -----------------------------------------------------------------------------------


def test_a_stale_version_is_a_conflict_and_changes_nothing(org: Org, pair: dict[str, Any]) -> None:
    survivor, merged = pair["survivor"], pair["merged"]
    survivor.refresh_from_db()
    merged.refresh_from_db()
    versions = {"survivor": survivor.version, "merged": merged.version}
    services.customer_update(actor=org.rep, customer=merged, data={"address": "北京"})
    before = db_state()
    with pytest.raises(ConflictError) as conflict:
        customer_merge(
            actor=org.manager,
            survivor=survivor,
            merged=merged,
            values={},
            expected_versions=versions,
        )
    assert conflict.value.extra["current_versions"] == {
        "survivor": survivor.version,
        "merged": merged.version + 1,
    }
    assert db_state() == before


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("rep", PermissionDeniedError),
        ("analyst", PermissionDeniedError),
        ("outsider-manager", NotFoundError),
        ("same", ValidationError),
        ("unknown-field", ValidationError),
        ("bad-side", ValidationError),
        ("no-versions", ValidationError),
        ("credit-code-taken", ValidationError),
    ],
)
def test_refused_merges_change_nothing(
    org: Org, pair: dict[str, Any], case: str, error: type[Exception]
) -> None:
    survivor, merged = pair["survivor"], pair["merged"]
    actor: Any = org.manager
    values: dict[str, str] = {}
    versions: Any = {"survivor": survivor.version, "merged": merged.version}
    if case == "rep":
        actor = org.rep
    elif case == "analyst":
        actor = org.analyst
    elif case == "outsider-manager":
        # a manager of another branch: the rep's customers are outside the scope
        from tests.factories import UserFactory

        actor = UserFactory(role="sales_manager", department=org.outsider.department)
    elif case == "same":
        merged = survivor
        versions = {"survivor": survivor.version, "merged": survivor.version}
    elif case == "unknown-field":
        values = {"owner": "merged"}
    elif case == "bad-side":
        values = {"name": "both"}
    elif case == "no-versions":
        versions = {"survivor": survivor.version}
    elif case == "credit-code-taken":
        # a third customer has the code the survivor would take
        third = make_customer(org.rep, "第三家公司")
        Customer.objects.filter(pk=third.pk).update(credit_code="91440300708461136T")
        Customer.objects.filter(pk=merged.pk).update(credit_code="91440300708461136T")
        merged.refresh_from_db()
        versions = {"survivor": survivor.version, "merged": merged.version}
    before = db_state()
    with pytest.raises(error) as refused:
        customer_merge(
            actor=actor, survivor=survivor, merged=merged, values=values, expected_versions=versions
        )
    assert db_state() == before
    if case == "unknown-field":
        assert refused.value.message_dict == {"values.owner": ["This field is not merged."]}
    if case == "credit-code-taken":
        assert "values.credit_code" in refused.value.message_dict


def test_a_customer_in_the_history_library_keeps_its_lifecycle_through_a_merge(org: Org) -> None:
    # given a returning customer filed anew while its old record is in the history library
    from guanxi.customers.models import ChurnReason

    survivor = make_customer(org.rep, "老客户有限公司", lifecycle="intent")
    archived = make_customer(
        org.rep,
        "老客户有限公司",
        lifecycle="churned",
        churn_reason=ChurnReason.objects.get(code="price").pk,
    )
    # the compare page offers no choice of lifecycle, and the default keeps the survivor's
    rows = {
        row.name: row for row in customer_merge_preview(survivor=survivor, merged=archived).rows
    }
    assert rows["lifecycle"].differs and rows["lifecycle"].locked
    assert customer_merge_defaults(survivor=survivor, merged=archived)["lifecycle"] == "survivor"
    # asking for the archived lifecycle anyway is a field error that writes nothing
    before = db_state()
    with pytest.raises(ValidationError) as refused:
        merge(org.manager, survivor, archived, values={"lifecycle": "merged"})
    assert list(refused.value.message_dict) == ["values.lifecycle"]
    assert db_state() == before
    # the merge itself goes through, and the undo brings the archived record back as it was
    record = merge(org.manager, survivor, archived)
    survivor.refresh_from_db()
    assert survivor.lifecycle == "intent" and survivor.archived_at is None
    customer_merge_undo(actor=org.manager, merge=record)
    archived.refresh_from_db()
    assert archived.lifecycle == "churned" and archived.archived_at is not None


def test_merging_twice_is_refused(org: Org, pair: dict[str, Any]) -> None:
    survivor, merged = pair["survivor"], pair["merged"]
    merge(org.manager, survivor, merged)
    before = db_state()
    with pytest.raises(ApplicationError) as refused:
        merge(org.manager, survivor, merged)
    assert refused.value.code == "already_merged"
    with pytest.raises(ApplicationError) as reversed_pair:
        merge(org.manager, merged, survivor)
    assert reversed_pair.value.code == "already_merged"
    assert db_state() == before


def test_a_merged_customer_is_not_restored_alone_from_the_recycle_bin(
    org: Org, pair: dict[str, Any]
) -> None:
    survivor, merged = pair["survivor"], pair["merged"]
    merge(org.manager, survivor, merged)
    before = db_state()
    with pytest.raises(ApplicationError) as refused:
        object_restore(instance=Customer.all_objects.get(pk=merged.pk), actor=org.admin)
    assert refused.value.code == "customer_merged"
    assert "undo the merge" in str(refused.value.message)
    assert db_state() == before


# --- undo ---------------------------------------------------------------------------------------


def test_undo_restores_both_customers_precisely(org: Org, pair: dict[str, Any]) -> None:
    survivor, merged = pair["survivor"], pair["merged"]
    fields_before = {pk: _fields(pk) for pk in (survivor.pk, merged.pk)}
    relations_before = {pk: _relations(pk) for pk in (survivor.pk, merged.pk)}
    record = merge(org.manager, survivor, merged, values={"name": "merged"})
    # when
    undone = customer_merge_undo(actor=org.manager, merge=record)
    # then both records say again what they said before, with what belonged to each
    assert {pk: _relations(pk) for pk in (survivor.pk, merged.pk)} == relations_before
    assert {pk: _fields(pk) for pk in (survivor.pk, merged.pk)} == fields_before
    assert Customer.objects.filter(pk=merged.pk).exists()  # out of the recycle bin
    assert undone.undone_at is not None and undone.undone_by == org.manager
    assert undone.undo_report["kept"] == []
    assert undone.undo_report["moved_back"] == {
        "contacts": 2,
        "needs": 1,
        "subsidiaries": 1,
        "tags": 1,
    }
    assert sum(undone.undo_report["not_moved_back"].values()) == 0
    assert not merge_can_undo(undone)
    # the survivor's timeline is its own again; both sides note the undo
    history = customer_history(customer=Customer.objects.get(pk=survivor.pk))
    assert all(entry.object_id == str(survivor.pk) for entry in history)
    assert audit_note_display(history[0].note) == (
        "Undid the merge of “华为技术（深圳）有限公司”; it is a customer of its own again"
    )
    restored = AuditEntry.objects.filter(object_id=str(merged.pk)).order_by("-pk")
    assert restored[0].note.startswith("customer_merge_undone_from")
    assert restored[1].action == AuditEntry.Action.RESTORE
    # search finds each by its own contacts again
    assert list(customer_list(actor=org.rep, query="李四")) == [merged]


def test_undo_leaves_what_was_added_after_the_merge(org: Org, pair: dict[str, Any]) -> None:
    survivor, merged = pair["survivor"], pair["merged"]
    record = merge(org.manager, survivor, merged)
    later_contact = make_contact(Customer.objects.get(pk=survivor.pk), "赵六")
    later_tag = _tag("合并后加的")
    services.customer_tags_set(
        actor=org.rep,
        customer=survivor,
        tags=[*_relations(survivor.pk)["tags"], later_tag.pk],
    )
    # a moved contact deleted for good since stays gone; the others go back
    Contact.all_objects.filter(pk=pair["binned_contact"].pk).delete()
    undone = customer_merge_undo(actor=org.manager, merge=record)
    assert Contact.objects.get(pk=later_contact.pk).customer_id == survivor.pk
    assert Contact.objects.get(pk=pair["moved_contact"].pk).customer_id == merged.pk
    assert _relations(survivor.pk)["tags"] == sorted([pair["shared"].pk, later_tag.pk])
    assert undone.undo_report["not_moved_back"]["contacts"] == 1


def test_undo_after_later_edits_keeps_the_newer_values_and_reports_them(
    org: Org, pair: dict[str, Any]
) -> None:
    survivor, merged = pair["survivor"], pair["merged"]
    record = merge(org.manager, survivor, merged, values={"name": "merged"})
    survivor.refresh_from_db()
    services.customer_update(
        actor=org.rep, customer=survivor, data={"website": "https://consumer.huawei.com"}
    )
    undone = customer_merge_undo(actor=org.manager, merge=record)
    survivor.refresh_from_db()
    assert survivor.website == "https://consumer.huawei.com"  # the newer value stays
    assert survivor.name == "华为技术有限公司"  # the merge's value goes back
    assert survivor.credit_code == ""
    assert undone.undo_report["kept"] == ["website"]
    assert set(undone.undo_report["restored"]) == {"name", "credit_code", "region"}


def test_undo_gives_a_pool_survivor_back_to_the_pool(org: Org) -> None:
    survivor = make_customer(None, "公海里的重复客户有限公司")
    merged = make_customer(org.rep, "公海里的重复客户有限公司")
    record = merge(org.manager, survivor, merged)
    customer_merge_undo(actor=org.manager, merge=record)
    survivor.refresh_from_db()
    assert survivor.owner is None
    assert Customer.objects.get(pk=merged.pk).owner == org.rep


def test_undo_outside_the_recycle_window_is_refused(
    org: Org, pair: dict[str, Any], settings: Any
) -> None:
    record = merge(org.manager, pair["survivor"], pair["merged"])
    CustomerMerge.objects.filter(pk=record.pk).update(
        merged_at=timezone.now() - dt.timedelta(days=settings.GUANXI_RECYCLE_DAYS, seconds=1)
    )
    record.refresh_from_db()
    assert not merge_can_undo(record)
    before = db_state()
    with pytest.raises(ApplicationError) as refused:
        customer_merge_undo(actor=org.manager, merge=record)
    assert refused.value.code == "merge_undo_expired"
    assert str(refused.value.message) == (
        "This merge can no longer be undone: it is possible for 30 days after the merge."
    )
    assert db_state() == before


def test_undoing_twice_is_refused(org: Org, pair: dict[str, Any]) -> None:
    record = merge(org.manager, pair["survivor"], pair["merged"])
    customer_merge_undo(actor=org.manager, merge=record)
    before = db_state()
    with pytest.raises(ApplicationError) as refused:
        customer_merge_undo(actor=org.manager, merge=record)
    assert refused.value.code == "merge_undone"
    assert db_state() == before


@pytest.mark.parametrize("actor", ["rep", "analyst", "outsider"])
def test_undo_is_for_managers_and_administrators(
    org: Org, pair: dict[str, Any], actor: str
) -> None:
    record = merge(org.manager, pair["survivor"], pair["merged"])
    before = db_state()
    with pytest.raises(PermissionDeniedError):
        customer_merge_undo(actor=getattr(org, actor), merge=record)
    assert db_state() == before


def test_undo_is_refused_while_the_survivor_is_in_the_recycle_bin(
    org: Org, pair: dict[str, Any]
) -> None:
    survivor = pair["survivor"]
    record = merge(org.manager, survivor, pair["merged"])
    Customer.objects.filter(parent=survivor).update(parent=None)
    services.customer_delete(actor=org.manager, customer=Customer.objects.get(pk=survivor.pk))
    before = db_state()
    with pytest.raises(ApplicationError) as refused:
        customer_merge_undo(actor=org.manager, merge=record)
    assert refused.value.code == "survivor_deleted"
    assert db_state() == before


def test_a_chain_of_merges_keeps_every_history_and_undoes_in_order(org: Org) -> None:
    first = make_customer(org.rep, "链条客户有限公司")
    second = make_customer(org.rep, "链条客户有限公司")
    third = make_customer(org.rep, "链条客户有限公司")
    inner = merge(org.manager, second, first)
    outer = merge(org.manager, third, second)
    history = customer_history(customer=Customer.objects.get(pk=third.pk))
    assert {entry.object_id for entry in history} == {str(first.pk), str(second.pk), str(third.pk)}
    assert customer_merged_pointer(actor=org.rep, customer_id=first.pk) == third
    with pytest.raises(ApplicationError) as refused:
        customer_merge_undo(actor=org.manager, merge=inner)
    assert refused.value.code == "survivor_merged"
    customer_merge_undo(actor=org.manager, merge=outer)
    customer_merge_undo(actor=org.manager, merge=inner)
    assert Customer.objects.filter(pk__in=[first.pk, second.pk, third.pk]).count() == 3


# --- the recycle bin's purge --------------------------------------------------------------------


def test_purge_keeps_a_merged_customer_while_its_merge_can_be_undone(
    org: Org, pair: dict[str, Any], settings: Any
) -> None:
    survivor, merged = pair["survivor"], pair["merged"]
    record = merge(org.manager, survivor, merged)
    window = dt.timedelta(days=settings.GUANXI_RECYCLE_DAYS)
    # the last moment the merge can be undone, the purge leaves the merged customer alone
    last_moment = record.merged_at + window - dt.timedelta(seconds=1)
    recycle_bin_purge(now=last_moment)
    assert Customer.all_objects.filter(pk=merged.pk).exists()
    # once the window has passed, it goes; the undo then refuses cleanly
    recycle_bin_purge(now=record.merged_at + window + dt.timedelta(seconds=5))
    assert not Customer.all_objects.filter(pk=merged.pk).exists()
    record.refresh_from_db()
    assert record.merged_id is None and record.merged_record_id == merged.pk
    # the survivor and what moved to it are untouched, and its timeline still has the history
    assert Contact.objects.get(pk=pair["moved_contact"].pk).customer_id == survivor.pk
    history = customer_history(customer=Customer.objects.get(pk=survivor.pk))
    assert any(entry.merged_from for entry in history)


def test_after_an_early_purge_the_undo_refuses_cleanly(org: Org, pair: dict[str, Any]) -> None:
    survivor, merged = pair["survivor"], pair["merged"]
    record = merge(org.manager, survivor, merged)
    # an operator's shorter purge (``recycle_bin_purge(days=0)``) takes it at once
    recycle_bin_purge(now=timezone.now() + dt.timedelta(seconds=1), days=0)
    assert not Customer.all_objects.filter(pk=merged.pk).exists()
    record.refresh_from_db()
    assert not merge_can_undo(record)
    before = db_state()
    with pytest.raises(ApplicationError) as refused:
        customer_merge_undo(actor=org.manager, merge=record)
    assert refused.value.code == "merge_undo_purged"
    assert db_state() == before


# --- races (PostgreSQL: SQLite's shared-cache test database fails a second writer at once) -------


def _race(calls: list[Any]) -> list[str]:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    barrier = threading.Barrier(len(calls))

    def run(call: Any) -> str:
        try:
            barrier.wait(timeout=30)
            call()
            return "won"
        except ApplicationError as error:
            return error.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_merges_of_one_pair_leave_one_merge(postgresql: None, org: Org) -> None:
    # given two duplicates, read by three managers at once
    first = make_customer(org.rep, "并发客户有限公司")
    second = make_customer(org.rep, "并发客户有限公司")
    make_contact(second, "李四")
    versions = {"survivor": 1, "merged": 1}

    def merging(survivor: Customer, merged: Customer) -> Any:
        return lambda: customer_merge(
            actor=org.manager,
            survivor=Customer.objects.get(pk=survivor.pk),
            merged=Customer.objects.get(pk=merged.pk),
            values={},
            expected_versions=versions,
        )

    # when they merge in both directions at the same moment
    results = _race([merging(first, second), merging(second, first), merging(first, second)])
    # then one merge happened, the others were told, and the data is whole
    assert sorted(results) == ["already_merged", "already_merged", "won"]
    assert CustomerMerge.objects.count() == 1
    merge_row = CustomerMerge.objects.get()
    assert Customer.objects.filter(pk__in=[first.pk, second.pk]).count() == 1
    assert Contact.objects.get().customer_id == merge_row.survivor_id
    # and two undos at once: one separates them, the other is told it is done
    undo = lambda: customer_merge_undo(actor=org.manager, merge=merge_row)  # noqa: E731
    assert sorted(_race([undo, undo])) == ["merge_undone", "won"]
    assert Customer.objects.filter(pk__in=[first.pk, second.pk]).count() == 2


def test_undo_gives_a_subsidiary_survivor_its_parent_back(org: Org) -> None:
    parent = make_customer(org.rep, "母公司有限公司")
    child = make_customer(org.rep, "母公司有限公司", parent=parent.pk)
    record = merge(org.manager, child, parent)
    child.refresh_from_db()
    assert child.parent_id is None  # not under a record in the recycle bin
    undone = customer_merge_undo(actor=org.manager, merge=record)
    child.refresh_from_db()
    assert child.parent_id == parent.pk
    assert undone.undo_report["restored"] == ["parent"]
    assert undone.undo_report["not_restored"] == {}


def test_a_value_that_cannot_come_back_is_reported_and_the_undo_goes_through(org: Org) -> None:
    old_parent = make_customer(org.rep, "旧母公司")
    new_parent = make_customer(org.rep, "新母公司")
    survivor = make_customer(org.rep, "子公司有限公司", parent=old_parent.pk)
    merged = make_customer(org.rep, "子公司有限公司", parent=new_parent.pk)
    record = merge(org.manager, survivor, merged, values={"parent": "merged", "name": "merged"})
    services.customer_delete(actor=org.manager, customer=Customer.objects.get(pk=old_parent.pk))
    undone = customer_merge_undo(actor=org.manager, merge=record)
    survivor.refresh_from_db()
    assert survivor.parent_id == new_parent.pk  # the old parent is in the recycle bin
    assert list(undone.undo_report["not_restored"]) == ["parent"]
    assert undone.undo_report["restored"] == []  # the name was equal: nothing to restore
    assert Customer.objects.filter(pk=merged.pk).exists()
