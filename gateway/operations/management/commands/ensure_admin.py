"""`manage.py ensure_admin`: create or update the staff user from ADMIN_USERNAME and
ADMIN_PASSWORD (idempotent; does nothing when they are unset)."""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create or update the staff user named by ADMIN_USERNAME with ADMIN_PASSWORD "
        "(for the DLQ and fault APIs). Idempotent; skipped when either is unset."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        username = os.environ.get("ADMIN_USERNAME", "").strip()
        password = os.environ.get("ADMIN_PASSWORD", "")
        if not username or not password:
            self.stdout.write("ensure_admin: ADMIN_USERNAME/ADMIN_PASSWORD not set; no staff user")
            return
        users = get_user_model()
        user, created = users.objects.get_or_create(username=username)
        user.is_staff = True
        user.set_password(password)
        user.save()
        self.stdout.write(
            f"ensure_admin: staff user {username!r} {'created' if created else 'updated'}"
        )
