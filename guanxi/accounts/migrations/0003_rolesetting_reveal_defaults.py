"""Give the role settings saved before the reveal permission existed their role's default:
administrators, managers, reps, key-account managers and service agents may reveal masked contact
data; department handlers and analysts may not. The map is copied here, not imported, so that a
later change of the defaults in roles.py does not rewrite what this migration did."""

from django.db import migrations

REVEAL_DEFAULTS = {
    "administrator": True,
    "sales_manager": True,
    "sales_rep": True,
    "key_account_manager": True,
    "service_agent": True,
    "department_handler": False,
    "analyst": False,
}


def fill(apps, schema_editor):
    RoleSetting = apps.get_model("accounts", "RoleSetting")
    for role, allowed in REVEAL_DEFAULTS.items():
        RoleSetting.objects.filter(role=role).update(reveal_personal_data=allowed)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_rolesetting_reveal_personal_data")]

    # Going back drops the column in 0002, so there is nothing to undo here.
    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
