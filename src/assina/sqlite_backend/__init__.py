"""Django's SQLite backend, with writers taking turns (``assina.sqlite_backend.base``)."""
