"""This app's endpoints under /api/v1 (a django-ninja Router mounted by ``assina.api``)."""

from ninja import Router

router = Router()
