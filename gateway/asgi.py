"""ASGI entry point served by daphne: HTTP (static files included: no CDN) and the
dashboard's WebSocket, which only accepts pages served from an allowed host.

Once everything is loaded, what was loaded (Django, DRF, the URL conf, the schema
generator, Twisted: most of the process's objects, kept for its whole life) is moved out
of the garbage collector's generations with ``gc.freeze()``, so a full collection no
longer walks it: those collections were pauses of about 100 ms under load, the POST's
p99 (docs/performance.md, "The order intake").
"""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from gateway.handler import get_asgi_application

django_http = get_asgi_application()  # sets Django up before the consumers are imported

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from dashboard.routing import websocket_urlpatterns  # noqa: E402
from gateway.middleware import BodySizeLimitASGI  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": BodySizeLimitASGI(ASGIStaticFilesHandler(django_http)),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

gc.freeze()
