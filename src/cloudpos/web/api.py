"""The web module has no JSON API of its own: its HTML routes (the dashboard) are in views.py."""

from cloudpos.web.routing import APIRouter

router = APIRouter()
