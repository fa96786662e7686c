"""The needs database (C2) through its services and selectors: the plan rule for gaps, bad input
that changes nothing, optimistic locking, close and reopen, the update history, the recycle bin,
the data scope and the unmet view's counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from guanxi.core.audit import object_type_of
from guanxi.core.exceptions import ApplicationError, ConflictError
from guanxi.core.models import AuditEntry
from guanxi.core.pagination import keyset_paginate
from guanxi.core.selectors import recycle_bin_list
from guanxi.core.services import object_restore
from guanxi.customers import services
from guanxi.customers.models import Need, NeedCategory, NeedNote
from guanxi.customers.selectors import (
    NEED_SORTS,
    need_history,
    need_list,
    need_page,
    need_unmet_summary,
)
from tests.conftest import Org
from tests.customers.conftest import db_state, make_customer, make_need, need_category

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def _errors(info: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return set(info.value.message_dict)


# --- filing -------------------------------------------------------------------------------------


def test_a_need_is_filed_with_its_fields_an_audit_entry_and_its_first_note(org: Org) -> None:
    # given rep1's customer
    customer = make_customer(org.rep, "华东客户")
    # when rep1 files a need with a note
    need = services.need_create(
        actor=org.rep,
        customer=customer,
        title="  工业网关  ",
        category=need_category("product").pk,
        description="支持 Modbus",
        priority=Need.Priority.HIGH,
        quantity="500",
        unit="台",
        expected_date=TODAY + dt.timedelta(days=30),
        source=Need.Source.TENDER,
        note="客户确认了预算",
    )
    # then
    need.refresh_from_db()
    assert (need.title, need.quantity, need.unit, need.priority) == (
        "工业网关",
        Decimal("500.00"),
        "台",
        "high",
    )
    assert (need.fit_status, need.status, need.version) == ("not_assessed", "open", 1)
    assert need.created_by == org.rep
    entry = AuditEntry.objects.get(object_type=object_type_of(Need), object_id=str(need.pk))
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.changes["title"] == {"before": None, "after": "工业网关"}
    assert [note.text for note in need.notes.all()] == ["客户确认了预算"]


@pytest.mark.parametrize("fit", [Need.FitStatus.PARTIAL, Need.FitStatus.UNMET])
def test_a_gap_needs_a_solution_a_plan_owner_and_a_due_date(org: Org, fit: str) -> None:
    customer = make_customer(org.rep, "华东客户")
    before = db_state()
    with pytest.raises(ValidationError) as info:
        services.need_create(
            actor=org.rep,
            customer=customer,
            title="IP65 防护",
            category=need_category(),
            fit_status=fit,
        )
    assert _errors(info) == {"solution", "plan_owner", "plan_due_date"}
    assert db_state() == before
    # with the plan it goes in
    need = services.need_create(
        actor=org.rep,
        customer=customer,
        title="IP65 防护",
        category=need_category(),
        fit_status=fit,
        solution="加装防护罩",
        plan_owner=org.rep.pk,
        plan_due_date=TODAY + dt.timedelta(days=10),
    )
    assert need.plan_owner == org.rep


def test_a_plan_owner_or_due_date_belongs_to_a_gap_only(org: Org) -> None:
    customer = make_customer(org.rep, "华东客户")
    before = db_state()
    with pytest.raises(ValidationError) as info:
        services.need_create(
            actor=org.rep,
            customer=customer,
            title="送货上门",
            category=need_category(),
            fit_status=Need.FitStatus.MET,
            plan_owner=org.rep,
            plan_due_date=TODAY,
        )
    assert _errors(info) == {"plan_owner", "plan_due_date"}
    assert db_state() == before


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"title": ""}, {"title"}),
        ({"title": "x" * 201}, {"title"}),
        ({"quantity": "0"}, {"quantity"}),
        ({"quantity": "-3"}, {"quantity"}),
        ({"quantity": "abc"}, {"quantity"}),
        ({"quantity": "NaN"}, {"quantity"}),
        ({"quantity": "1.234"}, {"quantity"}),
        ({"quantity": "12345678901234"}, {"quantity"}),
        ({"priority": "urgent"}, {"priority"}),
        ({"fit_status": "maybe"}, {"fit_status"}),
        ({"source": "rumour"}, {"source"}),
        ({"category": None}, {"category"}),
        ({"category": 999999}, {"category"}),
        ({"category": "abc"}, {"category"}),
        ({"unit": "u" * 21}, {"unit"}),
        ({"description": "d" * 10001}, {"description"}),
        ({"note": "n" * 2001}, {"note"}),
        ({"plan_owner": 999999, "fit_status": "partial"}, {"plan_owner"}),
        ({"quantity": "-1", "priority": "urgent", "category": None}, {"quantity", "priority"}),
    ],
)
def test_bad_input_is_a_field_error_and_changes_nothing(org: Org, fields, bad) -> None:
    customer = make_customer(org.rep, "华东客户")
    data = {"title": "需求", "category": need_category(), **fields}
    before = db_state()
    with pytest.raises(ValidationError) as info:
        services.need_create(actor=org.rep, customer=customer, **data)
    assert bad <= _errors(info)
    assert db_state() == before


def test_a_switched_off_category_is_not_offered_but_kept(org: Org) -> None:
    # given a need under 定制开发, which an administrator then switches off
    category = need_category("customisation")
    need = make_need(make_customer(org.rep, "华东客户"), category=category)
    services.need_category_update(actor=org.admin, category=category, data={"is_active": False})
    # then a new need cannot pick it
    with pytest.raises(ValidationError) as info:
        make_need(need.customer, "另一项", category=category)
    assert _errors(info) == {"category"}
    # and the old one keeps it through an unrelated change
    updated = services.need_update(actor=org.rep, need=need, data={"title": "改名"})
    assert updated.category == category


def test_the_plan_owner_must_see_the_customer(org: Org) -> None:
    # given rep1's customer, which rep2 (华北) cannot see
    customer = make_customer(org.rep, "华东客户")
    before = db_state()
    # when the manager names rep2 as the plan owner
    with pytest.raises(ValidationError) as info:
        make_need(customer, actor=org.manager, fit_status="unmet", plan_owner=org.other_rep)
    # then refused, naming the field
    assert "cannot see this customer" in info.value.message_dict["plan_owner"][0]
    # and a rep may not name anybody but themselves
    with pytest.raises(ValidationError) as info:
        make_need(customer, actor=org.rep, fit_status="unmet", plan_owner=org.manager)
    assert _errors(info) == {"plan_owner"}
    assert db_state() == before


def test_re_saving_the_same_quantity_records_no_change(org: Org) -> None:
    need = make_need(make_customer(org.rep, "华东客户"), quantity=Decimal("12.5"))
    updated = services.need_update(actor=org.rep, need=need, data={"quantity": "12.50"})
    assert updated.quantity == Decimal("12.50")
    last = AuditEntry.objects.filter(object_id=str(need.pk), object_type="customers.need").first()
    assert last.action == AuditEntry.Action.CREATE  # no update entry: nothing changed


# --- updating -----------------------------------------------------------------------------------


def test_a_stale_version_is_a_conflict_and_changes_nothing(org: Org) -> None:
    # given a need someone else changed after rep1 read it
    need = make_need(make_customer(org.rep, "华东客户"))
    services.need_update(actor=org.manager, need=need, data={"priority": "high"})
    before = db_state()
    # when rep1 saves their stale copy with a note
    with pytest.raises(ConflictError) as info:
        services.need_update(
            actor=org.rep,
            need=need,
            data={"priority": "low", "title": "新标题"},
            expected_version=1,
            note="不该留下",
        )
    # then both values come back and nothing was written, the note included
    assert info.value.extra["current_version"] == 2
    assert info.value.extra["conflicts"]["priority"] == {"yours": "low", "theirs": "high"}
    assert db_state() == before


def test_a_fit_without_a_gap_drops_the_plan_owner_and_due_date(org: Org) -> None:
    need = make_need(make_customer(org.rep, "华东客户"), fit_status="partial")
    updated = services.need_update(
        actor=org.rep, need=need, data={"fit_status": "met"}, expected_version=1, note="已满足"
    )
    assert (updated.plan_owner, updated.plan_due_date, updated.solution) == (
        None,
        None,
        "分两期满足",
    )
    entry = AuditEntry.objects.filter(object_id=str(need.pk), action="update").get()
    assert set(entry.changes) == {"fit_status", "plan_owner", "plan_due_date"}
    # sending a plan owner with a fit that has no gap is an error, not a silent drop
    with pytest.raises(ValidationError) as info:
        services.need_update(actor=org.rep, need=updated, data={"plan_owner": org.rep.pk})
    assert _errors(info) == {"plan_owner"}


def test_a_change_that_opens_a_gap_asks_for_the_plan(org: Org) -> None:
    need = make_need(make_customer(org.rep, "华东客户"))
    before = db_state()
    with pytest.raises(ValidationError) as info:
        services.need_update(actor=org.rep, need=need, data={"fit_status": "unmet"})
    assert _errors(info) == {"solution", "plan_owner", "plan_due_date"}
    assert db_state() == before


def test_every_bad_field_of_an_update_comes_back_at_once_and_nothing_changes(org: Org) -> None:
    need = make_need(make_customer(org.rep, "华东客户"))
    before = db_state()
    with pytest.raises(ValidationError) as info:
        services.need_update(
            actor=org.rep,
            need=need,
            data={"category": 999999, "quantity": "-1", "title": "", "unit": "u" * 21},
            note="不该留下",
        )
    assert _errors(info) == {"category", "quantity", "title", "unit"}
    assert db_state() == before


def test_fields_outside_the_editable_set_are_refused(org: Org) -> None:
    need = make_need(make_customer(org.rep, "华东客户"))
    before = db_state()
    with pytest.raises(ValidationError) as info:
        services.need_update(actor=org.rep, need=need, data={"customer": 1, "closed_at": None})
    assert _errors(info) == {"customer", "closed_at"}
    assert db_state() == before


# --- close, reopen, notes, history --------------------------------------------------------------


def test_close_and_reopen_stamp_the_time_and_keep_a_note(org: Org) -> None:
    need = make_need(make_customer(org.rep, "华东客户"))
    closed = services.need_close(actor=org.rep, need=need, note="客户确认满足")
    assert closed.status == "closed" and closed.closed_at is not None
    with pytest.raises(ApplicationError) as info:
        services.need_close(actor=org.rep, need=closed)
    assert (info.value.code, info.value.status_code) == ("need_status", 409)
    reopened = services.need_reopen(actor=org.rep, need=closed, expected_version=closed.version)
    assert (reopened.status, reopened.closed_at) == ("open", None)
    assert [n.text for n in NeedNote.objects.filter(need=need)] == ["客户确认满足"]


def test_reopening_a_gap_without_a_complete_plan_names_what_is_missing(org: Org) -> None:
    # given a closed unmet need whose plan owner was taken off while it was closed
    need = make_need(make_customer(org.rep, "华东客户"), fit_status="unmet")
    need = services.need_close(actor=org.rep, need=need)
    need = services.need_update(actor=org.rep, need=need, data={"plan_owner": None})
    before = db_state()
    # when it is reopened
    with pytest.raises(ValidationError) as info:
        services.need_reopen(actor=org.rep, need=need, note="重新打开")
    # then refused, nothing changed
    assert _errors(info) == {"plan_owner"}
    assert db_state() == before


def test_the_history_merges_changes_and_notes_newest_first(org: Org) -> None:
    need = make_need(make_customer(org.rep, "华东客户"), note="第一条")
    services.need_update(actor=org.rep, need=need, data={"priority": "high"})
    services.need_note_create(actor=org.manager, need=need, text="  第二条  ")
    items = need_history(need=need)
    kinds = [("note", i.note.text) if i.note else ("change", i.entry.action) for i in items]
    assert kinds[0] == ("note", "第二条")
    assert ("change", "update") in kinds and ("change", "create") in kinds
    assert ("note", "第一条") in kinds
    assert [i.occurred_at for i in items] == sorted((i.occurred_at for i in items), reverse=True)
    # a note is audited as a record of its own, with its author
    note_entry = AuditEntry.objects.get(object_type="customers.neednote", actor=org.manager)
    assert note_entry.changes["text"]["after"] == "第二条"


def test_an_empty_note_is_refused(org: Org) -> None:
    need = make_need(make_customer(org.rep, "华东客户"))
    before = db_state()
    with pytest.raises(ValidationError) as info:
        services.need_note_create(actor=org.rep, need=need, text="   ")
    assert _errors(info) == {"text"}
    assert db_state() == before


# --- recycle bin --------------------------------------------------------------------------------


def test_a_deleted_need_goes_to_the_recycle_bin_and_comes_back_with_its_history(org: Org) -> None:
    need = make_need(make_customer(org.rep, "华东客户"), note="备注")
    services.need_delete(actor=org.rep, need=need)
    assert not need_list(actor=org.rep).filter(pk=need.pk).exists()
    item = next(i for i in recycle_bin_list(actor=org.rep) if i.object_type == "customers.need")
    assert item.instance.recycle_label() == "年度采购工业网关 · 华东客户"
    object_restore(instance=item.instance, actor=org.rep)
    assert need_list(actor=org.rep).filter(pk=need.pk).exists()
    assert NeedNote.objects.filter(need=need).count() == 1


def test_a_deleted_customer_takes_its_needs_out_of_sight_and_restores_first(org: Org) -> None:
    customer = make_customer(org.rep, "华东客户")
    need = make_need(customer)
    services.need_delete(actor=org.rep, need=need)
    services.customer_delete(actor=org.rep, customer=customer)
    # restoring the need while its customer is in the bin is refused
    with pytest.raises(ApplicationError) as info:
        object_restore(instance=Need.all_objects.get(pk=need.pk), actor=org.admin)
    assert info.value.code == "owner_deleted"
    # a live need of a deleted customer is out of every list
    other = make_customer(org.rep, "另一个客户")
    live = make_need(other)
    services.customer_delete(actor=org.rep, customer=other)
    assert not need_list(actor=org.admin).filter(pk=live.pk).exists()


# --- data scope and the unmet view --------------------------------------------------------------


@pytest.fixture
def needs(org: Org) -> dict[str, Need]:
    """Needs of rep1's customer, rep2's (华北), the outsider's (海外部) and a pool customer."""
    return {
        "rep": make_need(make_customer(org.rep, "华东客户"), fit_status="partial"),
        "other": make_need(make_customer(org.other_rep, "华北客户"), fit_status="unmet"),
        "outsider": make_need(make_customer(org.outsider, "海外客户"), fit_status="unmet"),
        "pool": make_need(make_customer(None, "公海客户"), fit_status="partial"),
    }


@pytest.mark.parametrize(
    ("actor", "sees"),
    [
        ("rep", {"rep", "pool"}),
        ("other_rep", {"other", "pool"}),
        ("manager", {"rep", "other", "pool"}),
        ("admin", {"rep", "other", "outsider", "pool"}),
        ("analyst", {"rep", "other", "outsider", "pool"}),
        ("outsider", {"outsider", "pool"}),
        ("agent", {"pool"}),
        ("kam", {"pool"}),
    ],
)
def test_needs_follow_their_customers_scope(org: Org, needs, actor: str, sees: set[str]) -> None:
    user = getattr(org, actor)
    expected = {needs[key].pk for key in sees}
    assert set(need_list(actor=user).values_list("pk", flat=True)) == expected
    total = sum(group.total for group in need_unmet_summary(actor=user))
    assert total == len(expected)


def test_an_inactive_or_anonymous_user_sees_no_needs(org: Org, needs) -> None:
    from django.contrib.auth.models import AnonymousUser

    org.rep.is_active = False
    org.rep.save(update_fields=["is_active"])
    assert not need_list(actor=org.rep).exists()
    assert need_unmet_summary(actor=AnonymousUser()) == []


def test_the_unmet_view_counts_per_category_in_the_categories_order(org: Org) -> None:
    # given rep1's needs: gaps in two categories, one overdue, one high; and needs that are not
    # unmet (met, not assessed, closed)
    customer = make_customer(org.rep, "华东客户")
    delivery, product = need_category("delivery"), need_category("product")
    make_need(customer, "A", category=delivery, fit_status="partial", priority="high")
    make_need(
        customer,
        "B",
        category=delivery,
        fit_status="unmet",
        plan_due_date=TODAY - dt.timedelta(days=1),
    )
    make_need(customer, "C", category=product, fit_status="unmet")
    make_need(customer, "D", category=product, fit_status="met")
    make_need(customer, "E", category=product)
    services.need_close(actor=org.rep, need=make_need(customer, "F", fit_status="unmet"))
    # rep2's gap stays out of rep1's view
    make_need(make_customer(org.other_rep, "华北客户"), category=delivery, fit_status="unmet")
    # when
    groups = need_unmet_summary(actor=org.rep)
    # then product (sort order 10) comes before delivery (30)
    assert [
        (g.category.code, g.partial, g.unmet, g.high_priority, g.overdue, g.total) for g in groups
    ] == [("product", 0, 1, 0, 0, 1), ("delivery", 1, 1, 1, 1, 2)]
    # and filters narrow it
    assert need_unmet_summary(actor=org.rep, priority="high")[0].total == 1
    assert need_unmet_summary(actor=org.manager, owner=org.other_rep.pk)[0].unmet == 1
    assert need_unmet_summary(actor=org.rep, plan_owner=org.manager.pk) == []


def test_the_list_filters(org: Org, needs) -> None:
    rep_need = needs["rep"]

    def pks(**filters) -> set[int]:
        return set(need_list(actor=org.admin, **filters).values_list("pk", flat=True))

    assert pks(customer=rep_need.customer_id) == {rep_need.pk}
    assert pks(owner=org.rep.pk) == {rep_need.pk}
    assert pks(plan_owner=org.rep.pk) == {rep_need.pk}
    assert pks(fit_status="unmet") == {needs["other"].pk, needs["outsider"].pk}
    assert pks(category=need_category("delivery").pk) == set()
    services.need_close(actor=org.admin, need=needs["pool"])
    assert needs["pool"].pk not in pks(unmet=True)
    assert pks(status="closed") == {needs["pool"].pk}
    for name in ("fit_status", "priority", "status"):
        with pytest.raises(ValidationError) as info:
            need_list(actor=org.admin, **{name: "bogus"})
        assert _errors(info) == {name}


def test_pages_by_category_walk_every_need_once_in_group_order(org: Org) -> None:
    customer = make_customer(org.rep, "华东客户")
    codes = ["delivery", "product", "training", "product", "delivery", "product"]
    made = [make_need(customer, f"需求{i}", category=need_category(c)) for i, c in enumerate(codes)]
    seen: list[Need] = []
    cursor = None
    while True:
        page = need_page(actor=org.rep, sort="category", cursor=cursor, limit=2)
        seen += page.items
        cursor = page.next_cursor
        if not cursor:
            break
    assert sorted(n.pk for n in seen) == sorted(n.pk for n in made)
    assert [n.category.code for n in seen] == ["product"] * 3 + ["delivery"] * 2 + ["training"]
    # every sort the page offers is a valid keyset ordering
    for sort, ordering in NEED_SORTS.items():
        assert need_page(actor=org.rep, sort=sort, limit=2).items
        keyset_paginate(Need.objects.all(), ordering=ordering, limit=1)


# --- categories ---------------------------------------------------------------------------------


def test_categories_are_seeded_and_kept_unique(org: Org) -> None:
    assert NeedCategory.objects.count() >= 8
    before = db_state()
    for code, name in (("product", "新名字"), ("new-one", "产品功能"), ("Not a slug!", "有效")):
        with pytest.raises(ValidationError):
            services.need_category_create(actor=org.admin, code=code, name=name)
    assert db_state() == before
    category = services.need_category_create(actor=org.admin, code="Warranty", name="质保")
    assert category.code == "warranty"
    with pytest.raises(ValidationError) as info:
        services.need_category_update(actor=org.admin, category=category, data={"code": "x"})
    assert _errors(info) == {"code"}
