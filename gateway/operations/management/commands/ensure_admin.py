"""`manage.py ensure_admin`: create or update the staff user from ADMIN_USERNAME and
ADMIN_PASSWORD (idempotent; does nothing when they are unset). The password must pass
``AUTH_PASSWORD_VALIDATORS`` (8+ characters, not a common or all-digit password): a weak
one is refused, so the platform does not start with it."""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


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
        existing = users.objects.filter(username=username).first()
        try:
            validate_password(password, user=existing or users(username=username))
        except ValidationError as exc:
            raise CommandError(
                f"ensure_admin: ADMIN_PASSWORD is refused for {username!r}: "
                + " ".join(exc.messages)
                + " Choose a longer, uncommon password."
            ) from None
        user, created = users.objects.get_or_create(username=username)
        user.is_staff = True
        user.set_password(password)
        user.save()
        self.stdout.write(
            f"ensure_admin: staff user {username!r} {'created' if created else 'updated'}"
        )
