from __future__ import annotations

from typing import Any

from django.http import FileResponse
from django.utils.translation import gettext as _
from whitenoise.storage import CompressedManifestStaticFilesStorage

from guanxi.core.exceptions import ApplicationError


class StaticStorage(CompressedManifestStaticFilesStorage):
    """Hashed, compressed static files in production. Not strict: before ``collectstatic`` has
    run (tests, a fresh checkout), or for a file added since, a page still renders and links the
    file under its plain name instead of failing with a 500."""

    manifest_strict = False

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:
            # Django's non-strict mode still hashes the file from STATIC_ROOT and raises when it
            # has not been collected there.
            return name


def attachment_response(file: Any, *, name: str, content_type: str) -> FileResponse:
    """A stored attachment as a download, never cached by a shared cache, named as its uploader
    named it. A file gone from storage is an ApplicationError ``file_missing``, not a 500. Used
    by every download of an attachment (interactions, tickets), which check the reader first."""
    try:
        handle = file.open("rb")
    except OSError as error:
        raise ApplicationError(
            _("The file is missing from storage."), code="file_missing"
        ) from error
    response = FileResponse(handle, as_attachment=True, filename=name, content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    return response
