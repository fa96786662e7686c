"""``guanxi notifications_reencrypt``: encrypt every stored robot webhook and secret again with
the current GUANXI_FIELD_ENCRYPTION_KEY, after a key rotation (docs/operations.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from guanxi.notifications.crypto import DecryptionError
from guanxi.notifications.services import robots_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt robot webhook addresses and secrets with the current field encryption key. "
        "Run after moving the old key into GUANXI_FIELD_ENCRYPTION_OLD_KEYS; then the old key "
        "can be dropped."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = robots_reencrypt()
        except DecryptionError as error:
            raise CommandError(
                f"{error}: add the key it was encrypted with to GUANXI_FIELD_ENCRYPTION_OLD_KEYS"
            ) from error
        self.stdout.write(f"re-encrypted {count} robots")
