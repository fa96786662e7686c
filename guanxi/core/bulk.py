"""Writing many new rows of a model at once: ``bulk_create``, or on PostgreSQL ``COPY``.

An import writes thousands of customers and contacts a second. ``bulk_create`` spends most of
its time in Python building one INSERT statement with forty parameters a row, each prepared by
its field; ``COPY`` streams the rows and lets psycopg's C adapters convert them, and the
server parses no SQL. The ids come from the table's own sequence, taken in one statement, so
every instance has its primary key afterwards, as with ``bulk_create``.

Like ``bulk_create``, this calls no ``save()`` and sends no signals; the caller gives every
value the row needs (timestamps included).
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, models, router

# Fields whose Python value psycopg adapts exactly as Django's own preparation would: strings,
# whole numbers, booleans, dates, decimals, UUIDs and the ids of foreign keys, when the value is
# of its plain type. Exactly these classes (a subclass may prepare its values its own way), and
# not DateTimeField, whose naive values Django reads in the project's time zone and psycopg in
# the session's. Anything else goes through get_db_prep_save, so it is written as Django would.
_PLAIN_FIELDS = frozenset(
    {
        models.CharField,
        models.TextField,
        models.EmailField,
        models.URLField,
        models.SlugField,
        models.IntegerField,
        models.BigIntegerField,
        models.SmallIntegerField,
        models.PositiveIntegerField,
        models.PositiveSmallIntegerField,
        models.PositiveBigIntegerField,
        models.BooleanField,
        models.DateField,
        models.DecimalField,
        models.UUIDField,
    }
)
_PLAIN_VALUES = (str, int, bool, dt.date, decimal.Decimal, uuid.UUID)
_AUTO_FIELDS = (models.AutoField, models.BigAutoField, models.SmallAutoField)


def _converter(field: models.Field, connection: Any) -> Callable[[Any], Any]:
    if isinstance(field, models.JSONField):
        from psycopg.types.json import Jsonb

        encoder = field.encoder

        def json_value(value: Any) -> Any:
            if value is None:
                return None
            if encoder is None:
                return Jsonb(value)
            return Jsonb(value, dumps=lambda data: encoder().encode(data))

        return json_value
    prepared = field.target_field if isinstance(field, models.ForeignKey) else field
    if type(prepared) in _PLAIN_FIELDS or isinstance(prepared, _AUTO_FIELDS):
        plain_type = type(prepared)

        def plain_value(value: Any) -> Any:
            # A lazy translation, an enum of another type, a naive datetime in a date field:
            # whatever is not plainly its type is prepared by the field, as bulk_create does.
            if value is None or (
                isinstance(value, _PLAIN_VALUES)
                and not (plain_type is models.DateField and isinstance(value, dt.datetime))
            ):
                return value
            return field.get_db_prep_save(value, connection)

        return plain_value
    return lambda value: field.get_db_prep_save(value, connection)


def _copyable(meta: Any) -> bool:
    """COPY writes every column from the instance; a column the database fills itself (a
    database default, a generated column) is left to bulk_create, which knows to skip it."""
    return isinstance(meta.pk, _AUTO_FIELDS) and not any(
        getattr(field, "db_default", models.NOT_PROVIDED) is not models.NOT_PROVIDED
        or getattr(field, "generated", False)
        for field in meta.concrete_fields
    )


def instances_insert(
    model: type[models.Model], instances: Sequence[models.Model], *, batch_size: int = 1000
) -> None:
    """Insert ``instances`` (new, unsaved) and set their primary keys, in their order."""
    if not instances:
        return
    alias = router.db_for_write(model)
    connection = connections[alias]
    meta = model._meta
    if connection.vendor != "postgresql" or not _copyable(meta):
        model._default_manager.using(alias).bulk_create(list(instances), batch_size=batch_size)
        return
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    converters = [(field, _converter(field, connection)) for field in fields]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, meta.pk.column, len(instances)],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
        pk_column = connection.ops.quote_name(meta.pk.column)
        # Django's own exceptions (IntegrityError, DataError …) for what the server refuses,
        # as from any query; COPY goes around the cursor wrapper that translates them.
        with (
            connection.wrap_database_errors,
            cursor.cursor.copy(f"COPY {table} ({pk_column}, {columns}) FROM STDIN") as copy,
        ):
            for pk, instance in zip(ids, instances, strict=True):
                values = [pk]
                for field, convert in converters:
                    # pre_save as bulk_create calls it: auto_now and the like fill their value.
                    values.append(convert(field.pre_save(instance, True)))
                copy.write_row(values)
    for pk, instance in zip(ids, instances, strict=True):
        instance.pk = pk
        instance._state.adding = False
        instance._state.db = alias
