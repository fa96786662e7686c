"""core.bulk.instances_insert: on PostgreSQL COPY, elsewhere bulk_create; either way the rows
are exactly what bulk_create writes, and every instance has its primary key."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from guanxi.core.bulk import instances_insert
from guanxi.customers.models import Contact, Customer, Tag
from tests.customers.conftest import make_customer

pytestmark = pytest.mark.django_db

AWKWARD = 'tab\there, new\nline, back\\slash, "quotes", 中文，全角（括号）'


def _row(model: Any, pk: int) -> dict[str, Any]:
    values = model._base_manager.filter(pk=pk).values().get()
    values.pop("id")
    return values


def _contact(customer: Customer, name: str, now: dt.datetime) -> Contact:
    return Contact(
        customer_id=customer.pk,
        name=name,
        title=AWKWARD,
        phones=[{"number": "+8613800138000", "label": "mobile"}, {"number": "+861012345678"}],
        email="a@example.com",
        birthday=dt.date(1990, 2, 28),
        search_key="zhang ·8000",
        created_at=now,
        updated_at=now,
    )


def test_the_rows_written_are_the_rows_bulk_create_writes(org: Any) -> None:
    # given a customer and two identical unsaved contacts
    customer = make_customer(org.rep, "测试科技有限公司")
    now = timezone.now()
    copied, created = _contact(customer, "张三", now), _contact(customer, "张三", now)

    # when one is written by instances_insert and the other by bulk_create
    instances_insert(Contact, [copied])
    Contact.objects.bulk_create([created])

    # then both have ids and their rows are equal in every column but the id
    assert copied.pk is not None and created.pk is not None
    assert copied.pk != created.pk
    assert _row(Contact, copied.pk) == _row(Contact, created.pk)
    assert Contact.objects.get(pk=copied.pk).phones[0]["number"] == "+8613800138000"
    assert Contact.objects.get(pk=copied.pk).title == AWKWARD


def test_ids_follow_the_order_of_the_instances(org: Any) -> None:
    # given many customers to write in one call
    now = timezone.now()
    customers = [
        Customer(name=f"公司{number:04d}", created_at=now, updated_at=now, last_activity_at=now)
        for number in range(250)
    ]

    # when they are written
    instances_insert(Customer, customers, batch_size=100)

    # then each instance's id is its row, in order, and the instances count as saved
    ids = [customer.pk for customer in customers]
    assert ids == sorted(ids)
    stored = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "name"))
    assert [stored[pk] for pk in ids] == [f"公司{number:04d}" for number in range(250)]
    assert all(not customer._state.adding for customer in customers)
    # and the table's own sequence moved on: the next customer gets a new id
    later = make_customer(org.rep, "之后的公司")
    assert later.pk > max(ids)


def test_a_many_to_many_link_table_takes_its_rows_too(org: Any) -> None:
    # given a customer and a tag
    customer = make_customer(org.rep, "链接测试有限公司")
    tag = Tag.objects.create(name="批量")

    # when the link is written
    link = Customer.tags.through(customer_id=customer.pk, tag_id=tag.pk)
    instances_insert(Customer.tags.through, [link])

    # then the customer has the tag
    assert link.pk is not None
    assert list(customer.tags.values_list("name", flat=True)) == ["批量"]


def test_nothing_to_write_writes_nothing(org: Any) -> None:
    before = Contact.all_objects.count()
    instances_insert(Contact, [])
    assert Contact.all_objects.count() == before


def test_values_django_prepares_itself_are_written_as_bulk_create_writes_them(org):
    # given contacts with a naive datetime (read in the project's time zone), a lazy translation
    # and a choice member
    import warnings

    from django.utils.translation import gettext_lazy

    customer = make_customer(org.rep, "时区测试有限公司")
    now = timezone.now()
    contacts = []
    for _copy in range(2):
        contact = _contact(customer, "王五", now)
        contact.consent_at = dt.datetime(2026, 3, 1, 12, 0)  # noqa: DTZ001 - naive on purpose
        contact.title = gettext_lazy("Customer")
        contact.decision_role = Contact.DecisionRole.DECISION_MAKER
        contacts.append(contact)

    # when one is written by instances_insert and the other by bulk_create
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # Django's naive-datetime warning
        instances_insert(Contact, [contacts[0]])
        Contact.objects.bulk_create([contacts[1]])

    # then the rows are the same
    assert _row(Contact, contacts[0].pk) == _row(Contact, contacts[1].pk)


def test_a_refused_row_raises_djangos_error_and_writes_nothing(org):
    from django.db import IntegrityError, transaction

    # given a contact without the customer it must have
    before = Contact.all_objects.count()
    contact = _contact(make_customer(org.rep, "约束测试有限公司"), "赵六", timezone.now())
    contact.customer_id = None

    # when it is written, then the database's refusal is Django's IntegrityError
    with pytest.raises(IntegrityError), transaction.atomic():
        instances_insert(Contact, [contact])
    assert Contact.all_objects.count() == before
