"""Importing customers into PostgreSQL: Guanxi's import (fully validated: credit code, phone,
region, industry, owner, search key, name key, duplicate check against the existing data and
within the file; one transaction) beside django-import-export on the same file and beside
PostgreSQL ``COPY`` of the same rows, bare (the physical limit), in the same run.

    .venv/bin/python bench/customers_import.py                       # 100,000 and 1,000,000
    .venv/bin/python bench/customers_import.py --rows 20000 --no-record

Uses its own database (DATABASE_URL, default guanxi_bench_import on the local server), created
and migrated if missing. The rows come from the demo generator (realistic names, regions,
industries, contacts) and are written once to CSV files under var/bench-import/ (UTF-8 with BOM,
as Excel saves them), one row per customer with its first contact (name, mobile, e-mail, title)
and an owner; 1 % of the rows repeat an existing customer's credit code, so the duplicate check
finds and skips them. Before each measurement the database holds the same EXISTING customers
(imported once through the import itself) and nothing else.

django-import-export is measured up to --die-rows rows (100,000 by default); beyond that its
rate is extrapolated, and the table says so.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import multiprocessing
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, record  # noqa: E402 - path set up just above

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/guanxi_bench_import"
FILES = ROOT / "var" / "bench-import"
SEED = 20261122
EXISTING = 100_000
DUPLICATE_SHARE = 0.01
TARGET_ROWS_PER_SECOND = 20_000
TARGET_RATIO = 10
HEADERS = [
    "客户名称",
    "简称",
    "统一社会信用代码",
    "省份",
    "城市",
    "区县",
    "行业",
    "地址",
    "网站",
    "来源",
    "客户类型",
    "负责人",
    "首次接触日期",
    "初步需求",
    "联系人",
    "手机",
    "邮箱",
    "职务",
    "流失原因",
]
CHURN_REASONS = ("价格原因", "转向竞争对手", "需求变化", "服务不满意", "联系不上")
LIFECYCLES = {
    "potential": "潜在",
    "intent": "意向",
    "closed": "成交",
    "strategic": "战略",
    "churned": "流失",
}
SOURCES = {
    "website_form": "官网表单",
    "trade_show": "展会报名",
    "sales_meeting": "销售面谈",
    "referral": "第三方转介",
    "other": "其他",
}
REPS = 20
TABLES = ("customers_contact", "customers_customer_tags", "customers_customer")
DIE_MEASURED: dict[int, dict[str, Any]] = {}


# --- set-up -------------------------------------------------------------------------------------


def database_prepare() -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    url = os.environ["DATABASE_URL"]
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("This benchmark is about PostgreSQL: point DATABASE_URL at a PostgreSQL server.")
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as server:
        exists = server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
    os.environ.setdefault("GUANXI_DATA_DIR", str(FILES / "data"))
    os.environ.setdefault("GUANXI_IMPORT_MAX_BYTES", str(2 * 1024**3))
    os.environ.setdefault("GUANXI_IMPORT_MAX_ROWS", str(2_000_000))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def users_ensure() -> dict[str, Any]:
    from guanxi.accounts.models import Department, User
    from guanxi.accounts.roles import Role
    from guanxi.accounts.services import department_create, user_create

    sales = Department.objects.filter(code="bench-sales").first() or department_create(
        actor=None, name="销售部", code="bench-sales", parent=None
    )
    users = {}
    for username, role in [
        ("bench_admin", Role.ADMINISTRATOR),
        ("bench_seed", Role.ADMINISTRATOR),
        *((f"bench_rep_{n:02d}", Role.SALES_REP) for n in range(1, REPS + 1)),
    ]:
        users[username] = User.objects.filter(username=username).first() or user_create(
            actor=None, username=username, password=None, role=role, department=sales
        )
    return users


# --- the files ----------------------------------------------------------------------------------

_places: dict[tuple[str, str], tuple[str | None, str | None, tuple[tuple[str, str], ...]]] = {}


def _worker_init(places: dict) -> None:
    global _places
    _places = places


# The demo generator draws trade names from pools, and the duplicate check reads 隆宏科技（芜湖）
# and 隆宏科技（北京）as one company: a million distinct customers need distinct trade names, so
# four characters from this alphabet (60⁴ names) go into each, from the row's number.
_TOKEN_CHARS = (
    "华盛达通恒瑞丰源泰康宏远鑫博创锐联合美安佳德润嘉诚和祥辉晨腾飞越星海天宇金银光明阳方正大兴隆昌荣"
    "益广升永"
)


def _token(number: int) -> str:
    digits = []
    for _position in range(4):
        number, digit = divmod(number, len(_TOKEN_CHARS))
        digits.append(_TOKEN_CHARS[digit])
    return "".join(digits)


def _chunk(task: tuple[int, int, int]) -> list[list[str]]:
    """Rows of ``count`` customers drawn from seed ``seed``, numbered from ``first``. Runs in a
    worker process."""
    from stdnum.cn import uscc

    from guanxi.core.demo.customers import customer_plans

    seed, count, first = task
    draw = random.Random(seed)
    today = dt.date(2026, 11, 22)
    rows = []
    for number, plan in enumerate(customer_plans(seed=seed, count=count + 1)[:-1], start=first):
        name, short_name = plan.name, plan.short_name
        if plan.kind != "individual" and len(short_name) >= 2 and short_name in name:
            short_name = short_name[:2] + _token(number) + short_name[2:]
            name = name.replace(plan.short_name, short_name, 1)
        province, city, districts = _places.get((plan.province, plan.city), (None, None, ()))
        district = next((d for d in districts if d[1] == plan.district), None)
        if district is None and districts and not plan.district:
            district = districts[int(plan.district_pick * len(districts))]
        region = district[0] if district else city or province
        code = plan.credit_code
        if plan.credit_prefix and region:
            base = plan.credit_prefix + region + plan.organisation_code
            code = base + uscc.calc_check_digit(base)
        contact = plan.contacts[0] if plan.contacts else None
        phone = contact.phones[0][0] if contact and contact.phones else ""
        owner = f"bench_rep_{draw.randrange(1, REPS + 1):02d}" if plan.owner_role else "公海"
        rows.append(
            [
                name,
                short_name,
                code,
                plan.province,
                plan.city,
                district[1] if district else "",
                plan.industry,
                f"{district[1] if district else ''}{plan.street}",
                plan.website,
                SOURCES.get(plan.source, "其他"),
                LIFECYCLES.get(plan.lifecycle, "潜在"),
                owner,
                (today - dt.timedelta(days=plan.first_contact_days_ago)).isoformat(),
                plan.first_needs,
                contact.name if contact else "",
                phone,
                contact.email if contact else "",
                contact.title if contact else "",
                draw.choice(CHURN_REASONS) if plan.lifecycle == "churned" else "",
            ]
        )
    return rows


def file_ensure(rows: int, *, seed: int, duplicates_of: Path | None = None) -> Path:
    """var/bench-import/customers-<seed>-<rows>.csv, generated on two processes if missing. With
    ``duplicates_of``, 1 % of the rows are replaced by rows of that file (same credit code and
    name, another contact): customers that already exist."""
    FILES.mkdir(parents=True, exist_ok=True)
    path = FILES / f"customers-{seed}-{rows}.csv"
    if path.exists():
        return path
    from guanxi.core.demo.customers import _places as demo_places

    places = {
        key: (
            place.province.code if place.province else None,
            place.city.code if place.city else None,
            tuple((row.code, row.name) for row in place.districts),
        )
        for key, place in demo_places().items()
    }
    chunk = 10_000
    base = 0 if duplicates_of is None else 5_000_000
    tasks = [
        (seed * 1000 + index, min(chunk, rows - start), base + start)
        for index, start in enumerate(range(0, rows, chunk))
    ]
    started = time.perf_counter()
    context = multiprocessing.get_context("fork")
    from django.db import connections

    connections.close_all()
    with context.Pool(2, initializer=_worker_init, initargs=(places,)) as pool:
        generated = [row for part in pool.imap(_chunk, tasks) for row in part]
    if duplicates_of is not None:
        with duplicates_of.open(encoding="utf-8-sig", newline="") as handle:
            existing = list(csv.reader(handle))[1:]
        draw = random.Random(seed)
        for index in draw.sample(range(len(generated)), int(len(generated) * DUPLICATE_SHARE)):
            twin = list(draw.choice(existing))
            twin[14:18] = generated[index][14:18]  # another contact, the same company
            generated[index] = twin
    temporary = path.with_suffix(".part")
    with temporary.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(HEADERS)
        writer.writerows(generated)
    temporary.rename(path)
    print(f"  wrote {path.name}: {rows:,} rows in {time.perf_counter() - started:.0f} s")
    return path


# --- state between measurements -----------------------------------------------------------------


def existing_ensure(users: dict[str, Any], path: Path) -> int:
    """The EXISTING customers, imported once by bench_seed; returns the last of their ids."""
    from django.db.models import Max

    from guanxi.customers.models import Customer

    seed = users["bench_seed"]
    boundary = Customer.all_objects.filter(created_by=seed).aggregate(Max("id"))["id__max"]
    filed = Customer.all_objects.filter(created_by=seed).count()
    # Another run's existing customers (say --existing 20000 before a run of 100,000) are not
    # these: unless the marker says this file's import is what the database holds, it is filled
    # again, so that the table says what was really there.
    marker = FILES / "existing.json"
    known = json.loads(marker.read_text()) if marker.exists() else {}
    if boundary is None or known != {"file": path.name, "filed": filed}:
        reset(0)
        print(f"  importing the existing customers ({path.name}) once")
        job = guanxi_import(seed, path)
        assert job.status == "done", (job.status, job.error_preview[:3])
        boundary = Customer.all_objects.filter(created_by=seed).aggregate(Max("id"))["id__max"]
        filed = Customer.all_objects.filter(created_by=seed).count()
        marker.write_text(json.dumps({"file": path.name, "filed": filed}))
    return int(boundary)


def reset(boundary: int) -> None:
    """Everything but the existing customers away, statistics fresh."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM customers_contact WHERE customer_id > %s OR id > "
            "(SELECT COALESCE(MAX(id), 0) FROM customers_contact WHERE customer_id <= %s)",
            [boundary, boundary],
        )
        cursor.execute("DELETE FROM customers_customer_tags WHERE customer_id > %s", [boundary])
        cursor.execute("DELETE FROM transfer_importchange")
        cursor.execute("DELETE FROM customers_customer WHERE id > %s", [boundary])
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def count_new(boundary: int) -> tuple[int, int]:
    from guanxi.customers.models import Contact, Customer

    return (
        Customer.all_objects.filter(pk__gt=boundary).count(),
        Contact.all_objects.filter(customer_id__gt=boundary).count(),
    )


# --- the three ways -----------------------------------------------------------------------------


def guanxi_import(actor: Any, path: Path, *, dry_run: bool = False) -> Any:
    from guanxi.transfer import import_services

    with path.open("rb") as handle:
        job = import_services.import_upload(
            actor=actor, kind="customers", file=handle, file_name=path.name
        )
    start = import_services.import_check if dry_run else import_services.import_commit
    return start(actor=actor, job=job, duplicate_policy="skip", error_policy="skip", run_now=True)


def die_resource() -> Any:
    """A django-import-export Resource for Customer doing what it can of the same validation:
    the credit code and phone checked with the same functions, regions resolved from names with
    the same in-memory table, industry and owner through ForeignKeyWidget, full_clean() on
    every instance, the same search and name keys, an existing credit code skipped, and the
    first contact created after each customer."""
    from django.utils import timezone
    from import_export import fields, resources, widgets

    from guanxi.accounts.models import User
    from guanxi.core.china.credit_code import credit_code_clean
    from guanxi.core.china.phones import phone_normalize
    from guanxi.customers.models import (
        ARCHIVED_LIFECYCLES,
        ChurnReason,
        Contact,
        Customer,
        Industry,
    )
    from guanxi.customers.selectors import customer_name_key
    from guanxi.customers.services import contact_search_document, customer_search_document
    from guanxi.transfer.import_services import _Regions

    regions = _Regions()
    reasons = {reason.name: reason for reason in ChurnReason.objects.all()}
    lifecycles = {label: value for value, label in LIFECYCLES.items()}
    sources = {label: value for value, label in SOURCES.items()}

    class CustomerResource(resources.ModelResource):
        name = fields.Field(attribute="name", column_name="客户名称")
        short_name = fields.Field(attribute="short_name", column_name="简称")
        credit_code = fields.Field(attribute="credit_code", column_name="统一社会信用代码")
        industry = fields.Field(
            attribute="industry",
            column_name="行业",
            widget=widgets.ForeignKeyWidget(Industry, field="code"),
        )
        address = fields.Field(attribute="address", column_name="地址")
        website = fields.Field(attribute="website", column_name="网站")
        source = fields.Field(attribute="source", column_name="来源")
        lifecycle = fields.Field(attribute="lifecycle", column_name="客户类型")
        owner = fields.Field(
            attribute="owner",
            column_name="负责人",
            widget=widgets.ForeignKeyWidget(User, field="username"),
        )
        first_contact_date = fields.Field(
            attribute="first_contact_date",
            column_name="首次接触日期",
            widget=widgets.DateWidget("%Y-%m-%d"),
        )
        first_needs = fields.Field(attribute="first_needs", column_name="初步需求")

        class Meta:
            model = Customer
            fields = (
                "name",
                "short_name",
                "credit_code",
                "industry",
                "address",
                "website",
                "source",
                "lifecycle",
                "owner",
                "first_contact_date",
                "first_needs",
            )
            import_id_fields = ("credit_code",)
            clean_model_instances = True
            skip_unchanged = False

        def before_import_row(self, row: Any, **kwargs: Any) -> None:
            if row["统一社会信用代码"]:
                row["统一社会信用代码"] = credit_code_clean(row["统一社会信用代码"])
            if row["手机"]:
                row["手机"] = phone_normalize(row["手机"])
            row["客户类型"] = lifecycles.get(row["客户类型"], row["客户类型"])
            row["来源"] = sources.get(row["来源"], row["来源"])
            if row["负责人"] == "公海":
                row["负责人"] = ""
            if row["网站"] and "://" not in row["网站"]:
                row["网站"] = f"https://{row['网站']}"
            place, problems = regions.resolve(
                province=row["省份"], city=row["城市"], district=row["区县"], region_code=""
            )
            if problems:
                raise ValueError(problems[0][2])
            self._place = place
            self._row = row

        def get_instance(self, instance_loader: Any, row: Any) -> Any:
            if not row["统一社会信用代码"]:
                return None  # no key to look up by: always a new customer
            return Customer.objects.filter(credit_code=row["统一社会信用代码"]).first()

        def skip_row(
            self, instance: Any, original: Any, row: Any, import_validation_errors: Any = None
        ) -> bool:
            return instance.pk is not None  # an existing credit code: skipped, as Guanxi's skip

        def import_instance(self, instance: Any, row: Any, **kwargs: Any) -> None:
            super().import_instance(instance, row, **kwargs)
            # Before full_clean, which checks the history library's constraint.
            for name, value in self._place.items():
                setattr(instance, name, value)
            if instance.lifecycle in ARCHIVED_LIFECYCLES:
                instance.archived_at = timezone.now()
                instance.churn_reason = reasons[row["流失原因"]]

        def before_save_instance(self, instance: Any, row: Any, **kwargs: Any) -> None:
            contacts = []
            if row["联系人"]:
                phones = [{"number": row["手机"], "label": "mobile"}] if row["手机"] else []
                contacts = [(row["联系人"], phones)]
                self._contact = (row["联系人"], phones, row["邮箱"], row["职务"])
            else:
                self._contact = None
            instance.search_key = customer_search_document(
                kind=instance.kind,
                name=instance.name,
                short_name=instance.short_name,
                credit_code=instance.credit_code,
                contacts=contacts,
            )
            instance.name_key = customer_name_key(name=instance.name, kind=instance.kind)

        def after_save_instance(self, instance: Any, row: Any, **kwargs: Any) -> None:
            if self._contact is None or kwargs.get("dry_run"):
                return
            name, phones, email, title = self._contact
            Contact.objects.create(
                customer=instance,
                name=name,
                phones=phones,
                email=email,
                title=title,
                search_key=contact_search_document(
                    name=name, phones=phones, email=email, wechat=""
                ),
            )

    return CustomerResource()


def die_import(path: Path, rows: int) -> tuple[int, int]:
    """Import the first ``rows`` rows with django-import-export; (new rows, failed rows)."""
    import tablib

    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        data = [row for _index, row in zip(range(rows), reader, strict=False)]
    dataset = tablib.Dataset(*data, headers=header)
    result = die_resource().import_data(
        dataset, dry_run=False, raise_errors=False, use_transactions=True
    )
    return result.totals.get("new", 0), len(result.invalid_rows) + len(result.row_errors())


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False)
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ").replace("\r", " ")


def _copy_columns(model: Any, given: list[str]) -> tuple[list[str], list[str]]:
    """The columns to COPY: ``given`` (attnames), then every other NOT NULL column with its
    model default (whatever columns the model has grown since this was written)."""
    rest = [
        field
        for field in model._meta.concrete_fields
        if field.attname not in given and not field.null and not field.primary_key
    ]
    defaults = [_copy_value(field.get_default()) for field in rest]
    return [*given, *(field.column for field in rest)], defaults


def copy_text(path: Path, first_id: int) -> tuple[str, str, str, str, int]:
    """The file's rows as COPY statements and text for customers (explicit ids from
    ``first_id``) and their contacts: bare values, nothing looked up, no key computed."""
    from guanxi.customers.models import Contact, Customer

    now = dt.datetime.now(dt.UTC)
    customer_given = [
        "id",
        "created_at",
        "updated_at",
        "name",
        "short_name",
        "credit_code",
        "address",
        "website",
        "first_needs",
    ]
    contact_given = ["created_at", "updated_at", "name", "title", "phones", "email", "customer_id"]
    customer_columns, customer_defaults = _copy_columns(Customer, customer_given)
    contact_columns, contact_defaults = _copy_columns(Contact, contact_given)
    customers, contacts = io.StringIO(), io.StringIO()
    count = 0
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for count, row in enumerate(reader, start=1):
            pk = first_id + count - 1
            values = [pk, now, now, row[0], row[1], row[2], row[7], row[8], row[13]]
            customers.write("\t".join([*map(_copy_value, values), *customer_defaults]) + "\n")
            if row[14]:
                phones = [{"number": row[15], "label": "mobile"}] if row[15] else []
                values = [now, now, row[14], row[17], phones, row[16], pk]
                contacts.write("\t".join([*map(_copy_value, values), *contact_defaults]) + "\n")
    customer_copy = f"COPY customers_customer ({', '.join(customer_columns)}) FROM STDIN"
    contact_copy = f"COPY customers_contact ({', '.join(contact_columns)}) FROM STDIN"
    return customer_copy, customers.getvalue(), contact_copy, contacts.getvalue(), count


def copy_rows(statements: tuple[str, str, str, str, int]) -> None:
    from django.db import connection, transaction

    customer_copy, customers, contact_copy, contacts, _count = statements
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(customer_copy) as copy:
            copy.write(customers)
        with cursor.cursor.copy(contact_copy) as copy:
            copy.write(contacts)


def copy_unindexed(statements: tuple[str, str, str, str, int]) -> float:
    """Seconds to COPY the same bare rows into tables of the same columns with no index, no
    constraint but NOT NULL, and no trigger (dropped with the transaction): what COPY costs on
    this machine before the customer table's own indexes and foreign keys do their share."""
    from django.db import connection, transaction

    customer_copy, customers, contact_copy, contacts, _count = statements
    with transaction.atomic(), connection.cursor() as cursor:
        for table in ("customers_customer", "customers_contact"):
            cursor.execute(
                f"CREATE TEMP TABLE bare_{table} "
                f"(LIKE {table} INCLUDING DEFAULTS INCLUDING IDENTITY) ON COMMIT DROP"
            )
        started = time.perf_counter()
        with cursor.cursor.copy(
            customer_copy.replace("customers_customer", "bare_customers_customer", 1)
        ) as copy:
            copy.write(customers)
        with cursor.cursor.copy(
            contact_copy.replace("customers_contact", "bare_customers_contact", 1)
        ) as copy:
            copy.write(contacts)
        return time.perf_counter() - started


def written_dump(boundary: int) -> list[tuple[str, Path]]:
    """What the Guanxi import wrote (customers, their contacts and tags, keys and all) saved
    with COPY TO, to be written again with COPY FROM: the physical limit of writing exactly
    those rows."""
    from django.db import connection

    dumps = []
    with connection.cursor() as cursor:
        for table, condition in (
            ("customers_customer", "id > %s"),
            ("customers_contact", "customer_id > %s"),
            ("customers_customer_tags", "customer_id > %s"),
        ):
            path = FILES / f"written-{table}.copy"
            query = f"COPY (SELECT * FROM {table} WHERE {condition.replace('%s', str(boundary))}"
            with (
                path.open("wb") as handle,
                cursor.cursor.copy(f"{query} ORDER BY id) TO STDOUT") as copy,
            ):
                for data in copy:
                    handle.write(data)
            dumps.append((table, path))
    return dumps


def written_copy(dumps: list[tuple[str, Path]]) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for table, path in dumps:
            with path.open("rb") as handle, cursor.cursor.copy(f"COPY {table} FROM STDIN") as copy:
                while data := handle.read(1024 * 1024):
                    copy.write(data)


# --- the run ------------------------------------------------------------------------------------


def measure(
    rows: int, args: Any, users: dict[str, Any], boundary: int, existing_path: Path
) -> dict[str, Any]:
    from django.db import connection

    path = file_ensure(rows, seed=SEED + rows, duplicates_of=existing_path)
    size = path.stat().st_size
    print(f"{rows:,} rows ({size / 1024 / 1024:.0f} MB):")
    result: dict[str, Any] = {"rows": rows, "size": size}

    reset(boundary)
    started = time.perf_counter()
    job = guanxi_import(users["bench_admin"], path, dry_run=True)
    result["dry_seconds"] = time.perf_counter() - started
    result["loads"] = {"dry run": os.getloadavg()[0]}
    print(
        f"  guanxi dry run: {result['dry_seconds']:.1f} s "
        f"({rows / result['dry_seconds']:,.0f} rows/s)"
    )

    reset(boundary)
    started = time.perf_counter()
    job = guanxi_import(users["bench_admin"], path)
    result["guanxi_seconds"] = time.perf_counter() - started
    result["loads"]["import"] = os.getloadavg()[0]
    assert job.status == "done", (job.status, job.error, job.error_preview[:3])
    result["guanxi_counts"] = (job.added_count, job.skipped_count, job.error_count)
    result["guanxi_written"] = count_new(boundary)
    print(
        f"  guanxi import: {result['guanxi_seconds']:.1f} s "
        f"({rows / result['guanxi_seconds']:,.0f} rows/s), added/skipped/errors "
        f"{result['guanxi_counts']}, customers/contacts written {result['guanxi_written']}"
    )

    dumps = written_dump(boundary)
    reset(boundary)
    started = time.perf_counter()
    written_copy(dumps)
    result["written_seconds"] = time.perf_counter() - started
    result["loads"]["COPY as written"] = os.getloadavg()[0]
    print(
        f"  COPY of the rows Guanxi wrote (keys included): {result['written_seconds']:.1f} s "
        f"({rows / result['written_seconds']:,.0f} rows/s)"
    )
    for _table, dump in dumps:
        dump.unlink()

    die_rows = min(rows, args.die_rows)
    if die_rows in DIE_MEASURED:
        # Already measured on as many rows of the same kind of file in this run: its rate
        # does not change with the size of the file, and it takes a quarter of an hour.
        result.update(DIE_MEASURED[die_rows])
        print(f"  django-import-export: the rate of the first {die_rows:,} rows, measured above")
    else:
        reset(boundary)
        started = time.perf_counter()
        new, failed = die_import(path, die_rows)
        result["die_seconds"] = time.perf_counter() - started
        result["loads"]["django-import-export"] = os.getloadavg()[0]
        result["die_rows"] = die_rows
        result["die_counts"] = (new, failed)
        DIE_MEASURED[die_rows] = {
            key: result[key] for key in ("die_seconds", "die_rows", "die_counts")
        }
        print(
            f"  django-import-export ({die_rows:,} rows): {result['die_seconds']:.1f} s "
            f"({die_rows / result['die_seconds']:,.0f} rows/s), new {new:,}, failed {failed:,}"
        )

    reset(boundary)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM customers_customer")
        first_id = cursor.fetchone()[0]
    statements = copy_text(path, first_id)
    started = time.perf_counter()
    copy_rows(statements)
    result["copy_seconds"] = time.perf_counter() - started
    result["loads"]["COPY bare"] = os.getloadavg()[0]
    print(
        f"  COPY (bare rows): {result['copy_seconds']:.1f} s "
        f"({rows / result['copy_seconds']:,.0f} rows/s)"
    )
    result["unindexed_seconds"] = copy_unindexed(statements)
    print(
        f"  COPY (bare rows, tables without indexes): {result['unindexed_seconds']:.1f} s "
        f"({rows / result['unindexed_seconds']:,.0f} rows/s)"
    )
    reset(boundary)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--existing", type=int, default=EXISTING)
    parser.add_argument("--die-rows", type=int, default=100_000)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    database_prepare()
    users = users_ensure()
    existing_path = file_ensure(args.existing, seed=SEED)
    boundary = existing_ensure(users, existing_path)
    from guanxi.customers.models import Customer

    existing = Customer.all_objects.filter(pk__lte=boundary).count()
    results = [measure(rows, args, users, boundary, existing_path) for rows in args.rows]
    lines = [
        f"PostgreSQL, {existing:,} customers in the database before each import; each row a "
        "customer with its first contact and an owner, 1 % of them already filed (skipped). "
        "Guanxi validates every row (credit code, phone, e-mail, region names, industry, owner, "
        "choices, lengths), computes search and name keys, checks duplicates against the "
        "database and within the file, and writes in one transaction; django-import-export runs "
        "a Resource doing the same checks it can (row by row, `full_clean`); COPY writes the "
        "same rows bare (no lookup, no key, no check), once into tables of the same columns "
        "without any index or constraint and once into the real ones (their 30-odd B-tree "
        "indexes and deferred foreign keys); and COPY again writes exactly the rows "
        "Guanxi wrote (search keys included, so the GIN search index does its share), which is "
        "the physical limit of this write on this machine. Everything runs on the shared 2-core "
        "machine while other work runs: ratios mean more than rows/s.",
        "",
        "| rows | Guanxi dry run | Guanxi import | django-import-export | COPY, bare, no index "
        "| COPY, bare | COPY of the rows as Guanxi wrote them | Guanxi ÷ d-i-e "
        "| Guanxi ÷ COPY as written |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        rows = result["rows"]
        guanxi = rows / result["guanxi_seconds"]
        die = result["die_rows"] / result["die_seconds"]
        copy = rows / result["copy_seconds"]
        written = rows / result["written_seconds"]
        die_cell = f"{die:,.0f} rows/s ({result['die_seconds']:.0f} s)"
        if result["die_rows"] < rows:
            die_cell = (
                f"{die:,.0f} rows/s measured on the first {result['die_rows']:,} rows; "
                f"≈ {rows / die / 60:.0f} min extrapolated"
            )
        lines.append(
            f"| {rows:,} | {rows / result['dry_seconds']:,.0f} rows/s "
            f"({result['dry_seconds']:.0f} s) | {guanxi:,.0f} rows/s "
            f"({result['guanxi_seconds']:.0f} s) | {die_cell} | "
            f"{rows / result['unindexed_seconds']:,.0f} rows/s "
            f"({result['unindexed_seconds']:.1f} s) | {copy:,.0f} rows/s "
            f"({result['copy_seconds']:.0f} s) | {written:,.0f} rows/s "
            f"({result['written_seconds']:.0f} s) | {guanxi / die:.1f}× | "
            f"{guanxi / written:.0%} |"
        )
    lines.append("")
    for result in results:
        loads = ", ".join(f"{name} {load:.1f}" for name, load in result["loads"].items())
        lines.append(
            f"Load average (1 min, 2 cores) at the end of each {result['rows']:,}-row "
            f"measurement: {loads}."
        )
    lines += [
        "",
        f"Targets: {TARGET_ROWS_PER_SECOND:,} rows/s fully validated, {TARGET_RATIO}× "
        "django-import-export.",
    ]
    for result in results:
        rows = result["rows"]
        guanxi = rows / result["guanxi_seconds"]
        die = result["die_rows"] / result["die_seconds"]
        ceiling = rows / result["written_seconds"]
        verdicts = [
            f"{TARGET_RATIO}× django-import-export "
            + ("met" if guanxi / die >= TARGET_RATIO else "**missed**")
            + f" ({guanxi / die:.1f}×)",
            f"{TARGET_ROWS_PER_SECOND:,} rows/s "
            + ("met" if guanxi >= TARGET_ROWS_PER_SECOND else "**missed**")
            + f" ({guanxi:,.0f} rows/s)",
        ]
        if ceiling < TARGET_ROWS_PER_SECOND:
            verdicts.append(
                f"COPY of exactly the rows written, with nothing to check or compute, reaches "
                f"{ceiling:,.0f} rows/s here: the rows/s target is above what this machine can "
                "write into this schema, and the import runs at "
                f"{guanxi / ceiling:.0%} of that ceiling"
            )
        lines.append(f"{rows:,} rows: " + "; ".join(verdicts) + ".")
    print("\n".join(lines))
    if not args.no_record:
        command = ".venv/bin/python bench/customers_import.py"
        if args.rows != [100_000, 1_000_000]:
            command += f" --rows {' '.join(str(rows) for rows in args.rows)}"
        if args.existing != EXISTING:
            command += f" --existing {args.existing}"
        if args.die_rows != 100_000:
            command += f" --die-rows {args.die_rows}"
        sizes = " and ".join(f"{rows:,}" for rows in args.rows)
        record(f"Customer import (postgresql), {sizes} rows", command, lines)


if __name__ == "__main__":
    main()
