import logging
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assina.settings")
application = get_wsgi_application()


def _refuse_a_database_of_another_mode() -> None:
    """gunicorn and ``assina serve`` do not start on a database whose mode is not ASSINA_MODE.

    A database that cannot be reached now is not a reason to refuse: each page checks again
    (``assina.clock.middleware``) and the API's key lookup reads the mode with the key.
    """
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError, connection

    from assina.clock.installation import mismatch_message, recorded_mode

    try:
        message = mismatch_message(recorded_mode())
    except DatabaseError as exc:
        logging.getLogger("assina.wsgi").warning("the database's mode could not be read at start-up: %s", exc)
        return
    finally:
        connection.close()
    if message is not None:
        raise ImproperlyConfigured(message)


_refuse_a_database_of_another_mode()
