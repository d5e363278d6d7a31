"""Settings for mypy's Django plugin (pyproject.toml): the real settings, loaded without writing a
secret key into var/ when none exists yet. Never for running the site."""

import os

# The plugin restores the environment once it has loaded the settings.
os.environ.setdefault("SECRET_KEY", "type-checking-only")

from maillage.config.settings import *  # noqa: E402, F403
