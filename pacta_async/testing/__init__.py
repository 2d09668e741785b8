"""Testing aids: an in-memory reference Pacta server and a fake clock.

In-process, with webhook deliveries running in the test's event loop::

    server = ReferenceServer(clock=FakeClock())
    token = server.create_token(server.create_team())
    async with server.running(), httpx.AsyncClient(
        transport=server.transport(),
        base_url="http://pacta.test/api/v1",
        headers={"Authorization": token},
    ) as client:
        ...

Over loopback: ``with server.serve_in_thread() as base_url: ...``; from a shell:
``python -m pacta_async.testing --port 8080`` (with the control API over HTTP).
A webhook receiver (any ASGI app) gets a loopback URL for the server to deliver to
with ``with serve_app_in_thread(app) as origin: ...``.
To unit-test a webhook receiver without a server, `build_webhook_delivery()` makes
the body and headers of a delivery. Needs the ``server`` extra.
"""

from .. import _exports
from .._extras import require_server_extra as _require_server_extra

with _require_server_extra():
    from ._deliveries import Backoff, Delivery, WebhookFaults
    from ._errors import ApiError
    from ._fakeclock import FakeClock
    from ._faults import SEND_ROUTES, Faults, Storm
    from ._limits import Limits
    from ._pdf import make_pdf
    from ._server import ReferenceServer
    from ._serving import serve_app_in_thread
    from ._state import Plan
    from ._webhook_deliveries import WebhookDelivery, build_webhook_delivery, sample_document

__all__ = [
    "SEND_ROUTES",
    "ApiError",
    "Backoff",
    "Delivery",
    "FakeClock",
    "Faults",
    "Limits",
    "Plan",
    "ReferenceServer",
    "Storm",
    "WebhookDelivery",
    "WebhookFaults",
    "build_webhook_delivery",
    "make_pdf",
    "sample_document",
    "serve_app_in_thread",
]

_exports.show_as_public(__name__, globals(), __all__)
