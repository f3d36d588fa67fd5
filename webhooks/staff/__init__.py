"""The staff pages (`/staff/`): signed in with a password and a TOTP code, server-rendered
with GOV.UK Frontend's styles (built into `static/` by `assets/`, nothing fetched at run
time), every form protected against cross-site requests, every case page view audited.
Admins manage staff accounts and API tokens at `/staff/admin/` (admin.py).
"""

from __future__ import annotations

from . import admin, consent, overviews, pages, recordings, sign_in
from .blueprint import bp

__all__ = ["admin", "bp", "consent", "overviews", "pages", "recordings", "sign_in"]
