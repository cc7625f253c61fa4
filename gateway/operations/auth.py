"""How staff prove who they are, and what a browser may not do with it.

- **Cross-site unsafe requests are refused** (every staff API ``POST``/``PUT``/...): a
  ``Sec-Fetch-Site`` other than ``same-origin``/``none``, or an ``Origin`` other than the
  request's own (or one of ``CSRF_TRUSTED_ORIGINS``), is a JSON 403 naming the header.
- **HTTP Basic is for scripts**: an unsafe request that looks like a browser's (it carries
  ``Origin`` or any ``Sec-Fetch-*`` header) is not authenticated by Basic credentials,
  which a browser caches and sends by itself; it needs the session and its CSRF token.
  curl, urllib and the like send neither header and keep using Basic.
- **Password checks are rationed** per client IP (:class:`PasswordLockout`), in Basic and
  in ``/login``: a locked-out address gets a JSON 429 without any hashing.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from drf_spectacular.authentication import BasicScheme
from rest_framework.authentication import BasicAuthentication
from rest_framework.exceptions import Throttled
from rest_framework.request import Request

from gateway.errors import Problem, field_error
from gateway.throttles import PasswordLockout

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
#: Headers only browsers send (fetch metadata, and Origin on every unsafe request).
BROWSER_HEADERS = ("Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest", "Sec-Fetch-User")
#: Sec-Fetch-Site values of a request this site made, or that the user typed.
OWN_SITE = frozenset({"same-origin", "none"})


def looks_like_browser(request: HttpRequest) -> bool:
    return any(name in request.headers for name in BROWSER_HEADERS)


def _cross_site(header: str, value: str) -> Problem:
    detail = (
        f"Unsafe staff requests must come from this site; {header} is {value[:100]!r}. "
        "Use the dashboard, or a script without browser headers."
    )
    return Problem(403, "cross_site_request", detail, [field_error(header, "cross_site", detail)])


def refuse_cross_site(request: HttpRequest) -> None:
    """Raise a 403 :class:`Problem` for an unsafe request made by another site."""
    if request.method in SAFE_METHODS:
        return
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site.lower() not in OWN_SITE:
        raise _cross_site("Sec-Fetch-Site", site)
    origin = request.headers.get("Origin")
    if origin is not None:
        own = f"{request.scheme}://{request.get_host()}"
        if origin != own and origin not in settings.CSRF_TRUSTED_ORIGINS:
            raise _cross_site("Origin", origin)


class StaffBasicAuthentication(BasicAuthentication):
    """HTTP Basic for scripts: never for a browser's unsafe request; rationed checks."""

    def authenticate(self, request: Request) -> Any:
        header = request.headers.get("Authorization", "")
        if (
            header[:6].lower() == "basic "
            and request.method not in SAFE_METHODS
            and looks_like_browser(request)
        ):
            session_user = getattr(request._request, "user", None)
            if session_user is not None and session_user.is_authenticated:
                return None  # the session decides, with its CSRF check
            detail = (
                "HTTP Basic credentials are not accepted for unsafe requests from a browser "
                "(Origin or Sec-Fetch-* present): log in at /login and send the CSRF token."
            )
            raise Problem(
                403, "basic_auth_refused", detail, [field_error("Authorization", "browser", detail)]
            )
        return super().authenticate(request)

    def authenticate_credentials(
        self, userid: str, password: str, request: Request | None = None
    ) -> Any:
        lockout = PasswordLockout(request)
        if not lockout.attempt():
            raise Throttled(
                wait=lockout.window.wait_s, detail="Too many password attempts from this address."
            )
        found = super().authenticate_credentials(userid, password, request)
        lockout.succeeded()
        return found


class StaffBasicScheme(BasicScheme):  # type: ignore[no-untyped-call]
    """The OpenAPI schema's ``basicAuth`` for :class:`StaffBasicAuthentication`."""

    target_class = "gateway.operations.auth.StaffBasicAuthentication"


class StaffLoginView(LoginView):
    """Django's login, with the password attempts of an address rationed (JSON 429)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        lockout = PasswordLockout(request)
        if not lockout.attempt():
            return lockout.refusal()
        self._lockout = lockout
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        self._lockout.succeeded()
        return super().form_valid(form)
