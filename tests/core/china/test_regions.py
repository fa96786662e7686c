from __future__ import annotations

import importlib
from io import StringIO

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from guanxi.core.china.regions import (
    region_chain,
    region_choices,
    region_csv_read,
    region_load,
    region_validate,
)
from guanxi.core.models import Region

SHIPPED_ROWS = 3426


@pytest.fixture
def regions(db):
    """The shipped table. Migration 0004 loads it, but a transactional test elsewhere in the
    suite flushes every table, so load it again when it is gone (idempotent)."""
    if not Region.objects.filter(code="110105").exists():
        region_load(rows=region_csv_read())


def field_codes(error: ValidationError) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in error.error_dict.items()}


def test_the_shipped_file_reads_cleanly():
    rows = region_csv_read()
    assert len(rows) == SHIPPED_ROWS
    levels = {row.level for row in rows}
    assert levels == {"province", "city", "district"}
    assert sum(row.level == "province" for row in rows) == 34


@pytest.mark.parametrize(
    ("province", "city", "district"),
    [
        ("110000", "", "110105"),  # 北京市 / 朝阳区, the way people write it
        ("110000", "110100", "110105"),  # 北京市 / 北京市 / 朝阳区, the way the data has it
        ("440000", "440300", "440305"),  # 广东省 / 深圳市 / 南山区
        ("440000", "440300", ""),  # known to the city only
        ("440000", "", ""),
        ("420000", "", "429004"),  # 湖北省 / 仙桃市, directly under the province
        ("500000", "500200", "500229"),  # 重庆市 / 城口县 via the counties row
        ("500000", "", "500229"),
        ("810000", "", "810101"),  # 香港 / 中西区
        ("", "", ""),  # no region at all: whether one is required is the caller's rule
    ],
)
def test_region_validate_accepts_consistent_places(regions, province, city, district):
    region_validate(province_code=province, city_code=city, district_code=district)


def test_region_validate_accepts_none_for_blank_levels(regions):
    region_validate(province_code="440000", city_code=None, district_code=None)


def test_region_validate_refuses_a_district_of_another_city(regions):
    with pytest.raises(ValidationError) as caught:
        # 南山区 is in 深圳市, not 广州市.
        region_validate(province_code="440000", city_code="440100", district_code="440305")
    assert field_codes(caught.value) == {"district_code": ["region_mismatch"]}
    assert caught.value.error_dict["district_code"][0].messages == ["南山区 is not in 广州市."]


def test_region_validate_refuses_a_city_of_another_province(regions):
    with pytest.raises(ValidationError) as caught:
        region_validate(province_code="110000", city_code="440300", district_code="440305")
    assert field_codes(caught.value) == {"city_code": ["region_mismatch"]}


def test_region_validate_refuses_a_district_of_another_province_without_city(regions):
    with pytest.raises(ValidationError) as caught:
        region_validate(province_code="110000", city_code="", district_code="440305")
    assert field_codes(caught.value) == {"district_code": ["region_mismatch"]}


def test_region_validate_needs_the_city_when_the_province_has_real_cities(regions):
    with pytest.raises(ValidationError) as caught:
        region_validate(province_code="440000", city_code="", district_code="440305")
    assert field_codes(caught.value) == {"city_code": ["region_required"]}


def test_region_validate_refuses_a_county_level_city_under_a_city_it_is_not_in(regions):
    with pytest.raises(ValidationError) as caught:
        region_validate(province_code="420000", city_code="420100", district_code="429004")
    assert field_codes(caught.value) == {"district_code": ["region_mismatch"]}


def test_region_validate_needs_the_province_above_a_city_or_district(regions):
    with pytest.raises(ValidationError) as caught:
        region_validate(province_code="", city_code="440300", district_code="440305")
    assert field_codes(caught.value) == {"province_code": ["region_required"]}


def test_region_validate_reports_unknown_and_misplaced_codes_per_field(regions):
    with pytest.raises(ValidationError) as caught:
        region_validate(province_code="440300", city_code="999900", district_code="440000")
    assert field_codes(caught.value) == {
        "province_code": ["region_wrong_level"],
        "city_code": ["region_unknown"],
        "district_code": ["region_wrong_level"],
    }


def test_region_validate_refuses_a_retired_code_unless_the_record_keeps_it(regions):
    Region.objects.filter(code="440305").update(is_active=False)
    with pytest.raises(ValidationError) as caught:
        region_validate(province_code="440000", city_code="440300", district_code="440305")
    assert field_codes(caught.value) == {"district_code": ["region_retired"]}
    region_validate(
        province_code="440000", city_code="440300", district_code="440305", allow_inactive=True
    )


def test_region_chain_expands_one_code_to_its_place(regions):
    assert [r.code for r in region_chain(code="440305")] == ["440000", "440300", "440305"]
    assert [r.name for r in region_chain(code="110105")] == ["北京市", "北京市", "朝阳区"]
    assert [r.code for r in region_chain(code="429004")] == ["420000", "429004"]


def test_region_chain_refuses_an_unknown_code(regions):
    with pytest.raises(ValidationError) as caught:
        region_chain(code="123456")
    assert caught.value.code == "region_unknown"


def test_region_choices_offer_active_children(regions):
    assert len(list(region_choices())) == 34
    Region.objects.filter(code="440305").update(is_active=False)
    children = {region.code for region in region_choices(parent_code="440300")}
    assert "440303" in children
    assert "440305" not in children


def test_region_load_twice_changes_nothing(regions):
    result = region_load(rows=region_csv_read())
    assert (result.created, result.updated, result.retired) == (0, 0, 0)
    assert result.unchanged == SHIPPED_ROWS


def test_region_load_command_adds_updates_and_never_deletes(regions, tmp_path):
    csv_file = tmp_path / "regions.csv"
    csv_file.write_text(
        "code,name,level,parent_code\n"
        "440000,广东省,province,\n"
        "440300,深圳市,city,440000\n"
        "440305,南山区（新）,district,440300\n"
        "440399,前海区,district,440300\n",
        encoding="utf-8",
    )
    out = StringIO()
    call_command("region_load", file=csv_file, stdout=out)
    assert "1 created, 1 updated, 2 unchanged, 0 retired" in out.getvalue()
    assert Region.objects.get(code="440305").name == "南山区（新）"
    assert Region.objects.get(code="440399").parent_id == "440300"
    # Codes that are not in the file stay, and stay in use without --retire-missing.
    assert Region.objects.count() == SHIPPED_ROWS + 1
    assert Region.objects.get(code="110105").is_active


def test_region_load_command_retires_missing_codes_without_deleting_them(regions, tmp_path):
    csv_file = tmp_path / "regions.csv"
    csv_file.write_text("code,name,level,parent_code\n110000,北京市,province,\n", encoding="utf-8")
    out = StringIO()
    call_command("region_load", file=csv_file, retire_missing=True, stdout=out)
    assert f"{SHIPPED_ROWS - 1} retired" in out.getvalue()
    assert Region.objects.count() == SHIPPED_ROWS
    assert list(Region.objects.filter(is_active=True).values_list("code", flat=True)) == ["110000"]
    # Loading the full table brings them back into use.
    call_command("region_load", stdout=StringIO())
    assert Region.objects.filter(is_active=True).count() == SHIPPED_ROWS


def test_region_load_command_reports_every_bad_line_and_writes_nothing(regions, tmp_path):
    csv_file = tmp_path / "regions.csv"
    csv_file.write_text(
        "code,name,level,parent_code\n"
        "44030,短码,district,440300\n"
        "440399,前海区,district,440300\n"
        "440399,前海区,district,440300\n"
        "440398,某区,town,440300\n"
        "440397,,district,440300\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError) as caught:
        call_command("region_load", file=csv_file, stdout=StringIO())
    message = str(caught.value)
    for line in ("Line 2:", "Line 4:", "Line 5:", "Line 6:"):
        assert line in message
    assert not Region.objects.filter(code__in=["440399", "440398"]).exists()


def test_region_load_refuses_an_unknown_parent_and_writes_nothing(regions, tmp_path):
    csv_file = tmp_path / "regions.csv"
    csv_file.write_text(
        "code,name,level,parent_code\n"
        "440399,前海区,district,440300\n"
        "440398,某区,district,449900\n"
        "440397,某市,city,440300\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError) as caught:
        call_command("region_load", file=csv_file, stdout=StringIO())
    assert "449900" in str(caught.value)
    assert "440397" in str(caught.value)  # a city under a city
    assert not Region.objects.filter(code="440399").exists()


def test_region_load_command_refuses_a_file_with_other_columns(regions, tmp_path):
    csv_file = tmp_path / "regions.csv"
    csv_file.write_text("adcode,name\n110000,北京市\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("region_load", file=csv_file, stdout=StringIO())


def test_region_load_command_names_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError) as caught:
        call_command("region_load", file=tmp_path / "absent.csv", stdout=StringIO())
    assert "absent.csv" in str(caught.value)


def test_the_data_migration_loads_and_unloads_the_shipped_table(regions):
    migration = importlib.import_module("guanxi.core.migrations.0004_region_data")
    migration.unload_regions(apps, None)
    assert not Region.objects.exists()
    migration.load_regions(apps, None)
    assert Region.objects.count() == SHIPPED_ROWS
    assert Region.objects.get(code="440305").parent_id == "440300"
    assert Region.objects.get(code="110105").parent.parent.name == "北京市"


def test_a_province_cannot_have_a_parent(regions):
    with pytest.raises(IntegrityError), transaction.atomic():
        Region.objects.create(code="990000", name="测试省", level="province", parent_id="110000")


def test_a_district_needs_a_parent(regions):
    with pytest.raises(IntegrityError), transaction.atomic():
        Region.objects.create(code="990001", name="测试区", level="district")
