"""GET /api/export — a site's stored events in a range as NDJSON pages (`Next-Cursor` for the next one)."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from ghostid import settings, timeutil
from ghostid.edge import authorize_read
from ghostid.http import READ_HEADERS, Response, api_entry_point, create_resolver
from ghostid.logic import export
from ghostid.models.people import ExportQuery
from ghostid.observability import metrics

settings.current()  # validate the environment at cold start
app = create_resolver()
NDJSON = "application/x-ndjson"


@app.get("/api/export")
def get_export() -> Response:
    request = authorize_read(app.current_event, ExportQuery)
    page = export.export_page(request.query, timeutil.now_ms())
    headers = {**READ_HEADERS, **request.headers}
    if page.next_cursor:
        headers["Next-Cursor"] = page.next_cursor
    metrics.add_metric(name="EventsExported", unit=MetricUnit.Count, value=page.events)
    return Response(200, page.body, headers=headers, content_type=NDJSON)


lambda_handler = api_entry_point(app)
