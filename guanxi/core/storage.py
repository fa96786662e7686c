from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


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
