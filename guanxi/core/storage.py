from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    """Hashed, compressed static files in production. Not strict: before ``collectstatic`` has
    run (tests, a fresh checkout) a file is served under its plain name instead of failing."""

    manifest_strict = False
