"""Running Maillage in production: health check, database backup and restore."""
