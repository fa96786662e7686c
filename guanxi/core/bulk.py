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

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, models, router

# Fields whose Python value psycopg adapts exactly as Django's own preparation would: strings,
# numbers, booleans, dates, aware datetimes, UUIDs and the ids of foreign keys. Any other
# field goes through get_db_prep_save, so nothing unusual is written differently.
_PLAIN_FIELDS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.DateField,  # DateTimeField too: its values here are aware datetimes
    models.DecimalField,
    models.UUIDField,
    models.ForeignKey,
)


def _converter(field: models.Field, connection: Any) -> Callable[[Any], Any] | None:
    """None where the attribute is written as it is."""
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
    if isinstance(field, models.ForeignKey) and not isinstance(
        field.target_field, (models.AutoField, models.BigAutoField, models.CharField)
    ):
        return lambda value: field.get_db_prep_save(value, connection)
    if isinstance(field, _PLAIN_FIELDS):
        return None
    return lambda value: field.get_db_prep_save(value, connection)


def instances_insert(
    model: type[models.Model], instances: Sequence[models.Model], *, batch_size: int = 1000
) -> None:
    """Insert ``instances`` (new, unsaved) and set their primary keys, in their order."""
    if not instances:
        return
    alias = router.db_for_write(model)
    connection = connections[alias]
    meta = model._meta
    if connection.vendor != "postgresql" or not isinstance(meta.pk, models.AutoField):
        model._default_manager.using(alias).bulk_create(list(instances), batch_size=batch_size)
        return
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    converters = [(field.attname, _converter(field, connection)) for field in fields]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(instances)],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
        pk_column = connection.ops.quote_name(meta.pk.column)
        with cursor.cursor.copy(f"COPY {table} ({pk_column}, {columns}) FROM STDIN") as copy:
            for pk, instance in zip(ids, instances, strict=True):
                values = [pk]
                for attname, convert in converters:
                    value = getattr(instance, attname)
                    values.append(value if convert is None else convert(value))
                copy.write_row(values)
    for pk, instance in zip(ids, instances, strict=True):
        instance.pk = pk
        instance._state.adding = False
        instance._state.db = alias
