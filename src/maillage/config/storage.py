"""Static-file storage for production (`make serve`)."""

from __future__ import annotations

from django.contrib.staticfiles.storage import HashedFilesMixin
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's hashed, compressed storage, without rewriting source-map comments: the
    vendored libraries (Leaflet.markercluster from its PyPI package) name .map files that their
    packages do not ship, and a missing map must not stop collectstatic. CSS url() and @import
    references are still rewritten to the hashed names."""

    patterns = tuple(
        (glob, tuple(p for p in rules if "sourceMappingURL" not in str(p)))
        for glob, rules in HashedFilesMixin.patterns
        if glob == "*.css"
    )
