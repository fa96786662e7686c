"""Customer, contact and tag services: validation, derived fields, audit, optimistic locking."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from guanxi.core.exceptions import ApplicationError, ConflictError, PermissionDeniedError
from guanxi.core.models import AuditEntry
from guanxi.customers import services
from guanxi.customers.models import Customer, Industry, Tag
from tests.customers.conftest import HUAWEI_CODE, db_state, make_contact, make_customer

pytestmark = pytest.mark.django_db


def test_seeded_industries_are_the_twenty_sections_of_gbt_4754():
    codes = list(Industry.objects.values_list("code", flat=True))
    assert codes == [chr(c) for c in range(ord("A"), ord("T") + 1)]
    assert Industry.objects.get(code="I").name == "信息传输、软件和信息技术服务业"


def test_the_four_preset_tags_are_seeded():
    presets = set(Tag.objects.filter(is_preset=True).values_list("name", flat=True))
    assert presets == {"高意向客户", "价格敏感型", "技术型客户", "长期合作客户"}


def test_create_files_a_customer_for_the_actor_with_department_region_and_audit(org):
    # when
    customer = services.customer_create(
        actor=org.rep,
        name="华为技术有限公司",
        credit_code="9144 0300 1922 0382 16",
        industry="i",
        region_code="440305",
        website="https://www.huawei.com",
        source=Customer.Source.TRADE_SHOW,
    )
    # then
    customer.refresh_from_db()
    assert customer.owner == org.rep
    assert customer.department == org.rep.department
    assert customer.credit_code == HUAWEI_CODE
    assert customer.industry.code == "I"
    assert (customer.province_id, customer.city_id, customer.district_id) == (
        "440000",
        "440300",
        "440305",
    )
    assert customer.region_code == "440305"
    entry = AuditEntry.objects.get(object_type="customers.customer", object_id=str(customer.pk))
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.changes["name"]["after"] == "华为技术有限公司"


def test_a_municipality_district_expands_through_its_city_row(org):
    customer = services.customer_create(actor=org.rep, name="朝阳客户", region_code="110105")
    assert (customer.province_id, customer.city_id, customer.district_id) == (
        "110000",
        "110100",
        "110105",
    )


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"credit_code": "914403001922038217"}, "credit_code"),
        ({"credit_code": "12345"}, "credit_code"),
        ({"kind": "individual", "credit_code": HUAWEI_CODE}, "credit_code"),
        ({"region_code": "999999"}, "region_code"),
        ({"industry": "Z"}, "industry"),
        ({"website": "not a url"}, "website"),
        ({"lifecycle": "famous"}, "lifecycle"),
        ({"parent": 999999}, "parent"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_input_is_a_field_error_and_writes_nothing(org, fields, bad_field):
    before = db_state()
    with pytest.raises(ValidationError) as raised:
        services.customer_create(actor=org.rep, **{"name": "某公司", **fields})
    assert bad_field in raised.value.message_dict
    assert db_state() == before


def test_several_bad_fields_are_reported_together(org):
    with pytest.raises(ValidationError) as raised:
        services.customer_create(
            actor=org.rep, name="某公司", credit_code="bad", region_code="000000", industry="ZZ"
        )
    assert {"credit_code", "region_code", "industry"} <= set(raised.value.message_dict)


def test_a_rep_cannot_file_a_customer_for_someone_else_or_the_pool(org):
    before = db_state()
    for owner in (org.other_rep, None):
        with pytest.raises(PermissionDeniedError):
            services.customer_create(actor=org.rep, name="某公司", owner=owner)
    assert db_state() == before


def test_a_manager_assigns_an_owner_and_the_department_follows(org):
    customer = services.customer_create(actor=org.manager, name="某公司", owner=org.other_rep)
    assert customer.department == org.north
    updated = services.customer_update(
        actor=org.manager, customer=customer, data={"owner": org.rep.pk}
    )
    assert (updated.owner, updated.department) == (org.rep, org.east)
    pooled = services.customer_update(actor=org.manager, customer=updated, data={"owner": None})
    assert (pooled.owner, pooled.department, pooled.in_pool) == (None, None, True)


def test_a_manager_cannot_assign_to_someone_outside_their_scope(org):
    with pytest.raises(ValidationError) as raised:
        services.customer_create(actor=org.manager, name="某公司", owner=org.outsider)
    assert "owner" in raised.value.message_dict


def test_update_with_a_stale_version_is_a_conflict_with_both_values_and_writes_nothing(org):
    # given two people read version 1 and the first saves
    customer = make_customer(org.rep, "旧名称")
    services.customer_update(
        actor=org.rep, customer=customer, data={"name": "甲的名称"}, expected_version=1
    )
    before = db_state()
    # when the second saves from version 1
    with pytest.raises(ConflictError) as raised:
        services.customer_update(
            actor=org.manager, customer=customer, data={"name": "乙的名称"}, expected_version=1
        )
    # then
    assert raised.value.status_code == 409
    assert raised.value.extra["conflicts"]["name"] == {"yours": "乙的名称", "theirs": "甲的名称"}
    assert db_state() == before


def test_parent_company_cannot_be_itself_or_a_subsidiary(org):
    group = make_customer(org.rep, "集团")
    child = make_customer(org.rep, "子公司", parent=group.pk)
    grandchild = make_customer(org.rep, "孙公司", parent=child.pk)
    for parent in (group, grandchild):
        with pytest.raises(ValidationError) as raised:
            services.customer_update(actor=org.rep, customer=group, data={"parent": parent.pk})
        assert "parent" in raised.value.message_dict


def test_a_parent_outside_the_actors_scope_is_refused(org):
    theirs = make_customer(org.other_rep, "别人的集团")
    with pytest.raises(ValidationError) as raised:
        services.customer_create(actor=org.rep, name="子公司", parent=theirs.pk)
    assert "parent" in raised.value.message_dict


def test_a_parent_with_live_subsidiaries_cannot_be_deleted(org):
    group = make_customer(org.rep, "集团")
    make_customer(org.rep, "子公司", parent=group.pk)
    with pytest.raises(ApplicationError):
        services.customer_delete(actor=org.rep, customer=group)


def test_delete_moves_the_customer_to_the_recycle_bin(org):
    customer = make_customer(org.rep)
    services.customer_delete(actor=org.rep, customer=customer)
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert Customer.all_objects.get(pk=customer.pk).deleted_by == org.rep


def test_contact_phones_are_normalised_to_e164_and_feed_the_customers_search_key(org):
    customer = make_customer(org.rep, "华为技术有限公司")
    contact = make_contact(
        customer,
        "李四",
        phones=[{"number": "138 0013 8000", "label": "mobile"}, "010-12345678"],
    )
    assert contact.phones == [
        {"number": "+8613800138000", "label": "mobile"},
        {"number": "+861012345678", "label": "mobile"},
    ]
    customer.refresh_from_db()
    assert "8000" in customer.search_key.split() or "138000" in customer.search_key
    assert "lisi" in customer.search_key.split()


@pytest.mark.parametrize(
    ("phones", "field"),
    [
        (["12345"], "phones.0"),
        ([{"number": "13800138000"}, {"number": "abc"}], "phones.1"),
        ([{"number": "13800138000", "label": "fax"}], "phones.0"),
    ],
)
def test_bad_phones_are_named_by_index_and_write_nothing(org, phones, field):
    customer = make_customer(org.rep)
    before = db_state()
    with pytest.raises(ValidationError) as raised:
        make_contact(customer, phones=phones)
    assert field in raised.value.message_dict
    assert db_state() == before


def test_bad_email_is_a_field_error(org):
    customer = make_customer(org.rep)
    with pytest.raises(ValidationError) as raised:
        make_contact(customer, email="not-an-email")
    assert "email" in raised.value.message_dict


def test_contact_changes_recompute_the_customer_key(org):
    customer = make_customer(org.rep, "某公司")
    contact = make_contact(customer, "王五", phones=["13900139000"])
    services.contact_update(
        actor=org.rep, contact=contact, data={"phones": ["13700137000"]}, expected_version=1
    )
    customer.refresh_from_db()
    assert "9000" not in customer.search_key.split()
    assert "137000" in customer.search_key
    services.contact_delete(actor=org.rep, contact=contact)
    customer.refresh_from_db()
    assert "wangwu" not in customer.search_key
    assert "137000" not in customer.search_key


def test_tags_set_replaces_links_bumps_the_version_and_is_audited(org):
    customer = make_customer(org.rep)
    high, price = Tag.objects.filter(name__in=["高意向客户", "价格敏感型"]).order_by("pk")
    updated = services.customer_tags_set(actor=org.rep, customer=customer, tags=[high.pk, price.pk])
    assert set(updated.tags.all()) == {high, price}
    assert updated.version == customer.version + 1
    entry = AuditEntry.objects.filter(object_id=str(customer.pk)).latest("id")
    assert entry.changes == {"tags": {"before": [], "after": sorted([high.pk, price.pk])}}
    with pytest.raises(ValidationError) as raised:
        services.customer_tags_set(actor=org.rep, customer=customer, tags=[999999])
    assert "tags" in raised.value.message_dict


def test_tag_names_are_unique_among_live_tags_and_presets_stay(org):
    tag = services.tag_create(actor=org.manager, name="华东重点", color="teal")
    with pytest.raises(ValidationError) as raised:
        services.tag_create(actor=org.manager, name="华东重点")
    assert "name" in raised.value.message_dict
    services.tag_delete(actor=org.manager, tag=tag)
    # a deleted tag's name is free again
    services.tag_create(actor=org.manager, name="华东重点")
    with pytest.raises(ValidationError):
        services.tag_create(actor=org.manager, name="坏颜色", color="chartreuse")
    preset = Tag.objects.get(name="高意向客户")
    with pytest.raises(ApplicationError) as error:
        services.tag_delete(actor=org.manager, tag=preset)
    assert error.value.code == "tag_preset"
