"""The needs database (C2): need categories (seeded with a starting list that administrators
edit), needs per customer with their fit and plan, and the needs' update notes.

Self-contained: the seeded categories are data of this migration, not imported from application
code. Their names are data, in Chinese, like the industry list.
"""

import django.db.models.deletion
import django.db.models.manager
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

CATEGORIES = [
    ("product", "产品功能"),
    ("customisation", "定制开发"),
    ("delivery", "交付与物流"),
    ("price", "价格与付款"),
    ("after-sales", "售后服务"),
    ("training", "培训与技术支持"),
    ("integration", "系统集成"),
    ("compliance", "资质与合规"),
    ("other", "其他"),
]


def seed(apps, schema_editor):
    NeedCategory = apps.get_model("customers", "NeedCategory")
    existing = set(NeedCategory.objects.values_list("code", flat=True))
    NeedCategory.objects.bulk_create(
        [
            NeedCategory(code=code, name=name, sort_order=index * 10)
            for index, (code, name) in enumerate(CATEGORIES, start=1)
            if code not in existing
        ]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0010_customer_filter_statistics_postgres"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="NeedCategory",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, editable=False, verbose_name="created at"
                    ),
                ),
                (
                    "updated_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, editable=False, verbose_name="updated at"
                    ),
                ),
                (
                    "version",
                    models.PositiveIntegerField(default=1, editable=False, verbose_name="version"),
                ),
                (
                    "deleted_at",
                    models.DateTimeField(
                        blank=True, editable=False, null=True, verbose_name="deleted at"
                    ),
                ),
                ("code", models.SlugField(max_length=30, unique=True, verbose_name="code")),
                ("name", models.CharField(max_length=50, unique=True, verbose_name="name")),
                ("sort_order", models.PositiveIntegerField(default=0, verbose_name="sort order")),
                ("is_active", models.BooleanField(default=True, verbose_name="in use")),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="created by",
                    ),
                ),
                (
                    "deleted_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="deleted by",
                    ),
                ),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="updated by",
                    ),
                ),
            ],
            options={
                "verbose_name": "need category",
                "verbose_name_plural": "need categories",
                "ordering": ("sort_order", "id"),
            },
            managers=[
                ("objects", django.db.models.manager.Manager()),
                ("all_objects", django.db.models.manager.Manager()),
            ],
        ),
        migrations.CreateModel(
            name="Need",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, editable=False, verbose_name="created at"
                    ),
                ),
                (
                    "updated_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, editable=False, verbose_name="updated at"
                    ),
                ),
                (
                    "version",
                    models.PositiveIntegerField(default=1, editable=False, verbose_name="version"),
                ),
                (
                    "deleted_at",
                    models.DateTimeField(
                        blank=True, editable=False, null=True, verbose_name="deleted at"
                    ),
                ),
                ("title", models.CharField(max_length=200, verbose_name="title")),
                ("description", models.TextField(blank=True, verbose_name="description")),
                (
                    "priority",
                    models.CharField(
                        choices=[("high", "High"), ("medium", "Medium"), ("low", "Low")],
                        default="medium",
                        max_length=10,
                        verbose_name="priority",
                    ),
                ),
                (
                    "quantity",
                    models.DecimalField(
                        blank=True,
                        decimal_places=2,
                        max_digits=12,
                        null=True,
                        verbose_name="quantity",
                    ),
                ),
                ("unit", models.CharField(blank=True, max_length=20, verbose_name="unit")),
                (
                    "expected_date",
                    models.DateField(blank=True, null=True, verbose_name="expected by"),
                ),
                (
                    "fit_status",
                    models.CharField(
                        choices=[
                            ("not_assessed", "Not yet assessed"),
                            ("met", "Fully met"),
                            ("partial", "Partly met"),
                            ("unmet", "Not met yet"),
                        ],
                        default="not_assessed",
                        max_length=20,
                        verbose_name="fit",
                    ),
                ),
                (
                    "solution",
                    models.TextField(blank=True, verbose_name="solution or improvement plan"),
                ),
                (
                    "plan_due_date",
                    models.DateField(blank=True, null=True, verbose_name="plan due date"),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[("open", "Open"), ("closed", "Closed")],
                        default="open",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                (
                    "closed_at",
                    models.DateTimeField(
                        blank=True, editable=False, null=True, verbose_name="closed at"
                    ),
                ),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("sales_meeting", "Sales meeting"),
                            ("phone_call", "Phone call"),
                            ("return_visit", "Return visit"),
                            ("tender", "Tender or procurement documents"),
                            ("feedback", "Customer feedback"),
                            ("other", "Other"),
                        ],
                        default="sales_meeting",
                        max_length=20,
                        verbose_name="source",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="created by",
                    ),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="needs",
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
                (
                    "deleted_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="deleted by",
                    ),
                ),
                (
                    "plan_owner",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="planned_needs",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="plan owner",
                    ),
                ),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="updated by",
                    ),
                ),
                (
                    "category",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="needs",
                        to="customers.needcategory",
                        verbose_name="category",
                    ),
                ),
            ],
            options={
                "verbose_name": "need",
                "verbose_name_plural": "needs",
                "ordering": ("-updated_at", "-id"),
            },
            managers=[
                ("objects", django.db.models.manager.Manager()),
                ("all_objects", django.db.models.manager.Manager()),
            ],
        ),
        migrations.CreateModel(
            name="NeedNote",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("text", models.TextField(verbose_name="note")),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, editable=False, verbose_name="created at"
                    ),
                ),
                (
                    "author",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="author",
                    ),
                ),
                (
                    "need",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notes",
                        to="customers.need",
                        verbose_name="need",
                    ),
                ),
            ],
            options={
                "verbose_name": "need update note",
                "verbose_name_plural": "need update notes",
                "ordering": ("-created_at", "-id"),
            },
        ),
        migrations.AddIndex(
            model_name="need",
            index=models.Index(fields=["customer", "-updated_at", "-id"], name="need_customer"),
        ),
        migrations.AddIndex(
            model_name="need",
            index=models.Index(fields=["-updated_at", "-id"], name="need_updated"),
        ),
        migrations.AddIndex(
            model_name="need",
            index=models.Index(fields=["status", "fit_status", "category"], name="need_gap"),
        ),
        migrations.AddIndex(
            model_name="need",
            index=models.Index(fields=["plan_owner", "status"], name="need_plan_owner"),
        ),
        migrations.AddConstraint(
            model_name="need",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("quantity__isnull", True), ("quantity__gt", 0), _connector="OR"
                ),
                name="need_quantity_positive",
            ),
        ),
        migrations.AddIndex(
            model_name="neednote",
            index=models.Index(fields=["need", "-created_at", "-id"], name="need_note_need"),
        ),
        # Reversed, the tables go with their rows: nothing to undo first.
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
