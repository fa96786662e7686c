"""Webhook addresses and secrets at rest: encrypted, rotatable, never readable in the table."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from guanxi.notifications import crypto
from guanxi.notifications.models import RobotEndpoint
from tests.notifications.conftest import DINGTALK_URL, make_robot

pytestmark = pytest.mark.django_db

SECRET = "SEC9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0"


def _raw_row(robot_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT url_encrypted, url_masked, secret_encrypted, secret_masked "
            "FROM notifications_robotendpoint WHERE id = %s",
            [robot_id],
        )
        return " ".join(cursor.fetchone())


def test_the_table_holds_neither_the_url_nor_the_secret(org):
    robot = make_robot(org.rep, secret=SECRET)
    raw = _raw_row(robot.pk)
    assert "abcdef0123456789wxyz" not in raw
    assert DINGTALK_URL not in raw
    assert SECRET not in raw
    assert "access_token=ab****yz" in raw
    stored = RobotEndpoint.objects.get(pk=robot.pk)
    assert crypto.decrypt(stored.url_encrypted) == DINGTALK_URL
    assert crypto.decrypt(stored.secret_encrypted) == SECRET


def test_the_audit_trail_holds_only_masked_values(org):
    from guanxi.core.models import AuditEntry

    robot = make_robot(org.rep, secret=SECRET)
    entry = AuditEntry.objects.get(object_type="notifications.robotendpoint", object_id=robot.pk)
    assert "abcdef0123456789wxyz" not in str(entry.changes)
    assert SECRET not in str(entry.changes)


def test_default_key_is_derived_from_secret_key():
    with override_settings(GUANXI_FIELD_ENCRYPTION_KEY="", SECRET_KEY="one"):
        token = crypto.encrypt("hello")
        assert crypto.decrypt(token) == "hello"
    with (
        override_settings(GUANXI_FIELD_ENCRYPTION_KEY="", SECRET_KEY="two"),
        pytest.raises(crypto.DecryptionError),
    ):
        crypto.decrypt(token)
    assert crypto.key_derive("one") != crypto.key_derive("two")
    Fernet(crypto.key_derive("one"))  # a valid Fernet key


def test_rotation_with_old_keys_and_reencrypt_command(org):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(GUANXI_FIELD_ENCRYPTION_KEY=old):
        robot = make_robot(org.rep, secret=SECRET)
    before = RobotEndpoint.objects.get(pk=robot.pk).url_encrypted
    # the new key alone cannot read the rows
    with override_settings(GUANXI_FIELD_ENCRYPTION_KEY=new):
        with pytest.raises(CommandError):
            call_command("notifications_reencrypt")
        assert RobotEndpoint.objects.get(pk=robot.pk).url_encrypted == before
    # with the old key kept for reading, the rows are re-encrypted under the new key
    with override_settings(GUANXI_FIELD_ENCRYPTION_KEY=new, GUANXI_FIELD_ENCRYPTION_OLD_KEYS=[old]):
        call_command("notifications_reencrypt")
    with override_settings(GUANXI_FIELD_ENCRYPTION_KEY=new, GUANXI_FIELD_ENCRYPTION_OLD_KEYS=[]):
        stored = RobotEndpoint.objects.get(pk=robot.pk)
        assert crypto.decrypt(stored.url_encrypted) == DINGTALK_URL
        assert crypto.decrypt(stored.secret_encrypted) == SECRET


def test_a_malformed_key_is_a_configuration_error():
    from django.core.exceptions import ImproperlyConfigured

    with (
        override_settings(GUANXI_FIELD_ENCRYPTION_KEY="not-a-key"),
        pytest.raises(ImproperlyConfigured),
    ):
        crypto.encrypt("x")
