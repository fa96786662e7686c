"""Recompute every search key: full phone numbers, e-mail addresses and WeChat IDs became private
tokens that only the owner's search reaches (core.china.search.PRIVATE_MARK), and a phone's last
four digits the only public part.

Keys are derived data that must equal what the services compute, so this calls their plain-value
builders. On SQLite each UPDATE fires the FTS5 triggers of 0004; on PostgreSQL the GIN index
follows by itself. At a million customers this takes minutes (pinyin for every name): see
docs/operations.md.
"""

from django.db import migrations

BATCH = 1000


def recompute(apps, schema_editor):
    from guanxi.customers.services import contact_search_document, customer_search_document

    Customer = apps.get_model("customers", "Customer")
    Contact = apps.get_model("customers", "Contact")
    last = 0
    while True:
        rows = list(Contact.objects.filter(pk__gt=last).order_by("pk")[:BATCH])
        if not rows:
            break
        for row in rows:
            row.search_key = contact_search_document(
                name=row.name, phones=row.phones, email=row.email, wechat=row.wechat
            )
        Contact.objects.bulk_update(rows, ["search_key"], batch_size=500)
        last = rows[-1].pk
    last = 0
    while True:
        rows = list(Customer.objects.filter(pk__gt=last).order_by("pk")[:BATCH])
        if not rows:
            break
        contacts: dict[int, list] = {}
        live = Contact.objects.filter(customer_id__in=[row.pk for row in rows], deleted_at=None)
        for customer_id, name, phones in live.values_list("customer_id", "name", "phones"):
            contacts.setdefault(customer_id, []).append((name, phones))
        for row in rows:
            row.search_key = customer_search_document(
                kind=row.kind,
                name=row.name,
                short_name=row.short_name,
                credit_code=row.credit_code,
                contacts=contacts.get(row.pk, []),
            )
        Customer.objects.bulk_update(rows, ["search_key"], batch_size=500)
        last = rows[-1].pk


class Migration(migrations.Migration):
    dependencies = [("customers", "0012_customer_name_key")]

    # Backwards keeps the new keys: older code then finds full numbers for nobody, never for too
    # many.
    operations = [migrations.RunPython(recompute, migrations.RunPython.noop)]
