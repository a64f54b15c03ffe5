"""GET /api/stats — overview, top pages and countries of one site over 24h / 7d / 30d."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from ghostid import timeutil
from ghostid.http import Response, api_entry_point, create_resolver, json_response, parse_params
from ghostid.logic import auth, stats
from ghostid.models.api import StatsQuery
from ghostid.observability import metrics

app = create_resolver()


@app.get("/api/stats")
def get_stats() -> Response:
    user_id = auth.authenticate(app.current_event.cookies)
    query = parse_params(StatsQuery, app.current_event.query_string_parameters or {})
    auth.authorize(user_id, query.site_id)
    body = stats.site_stats(query.site_id, query.time_range, timeutil.now_ms())
    metrics.add_metric(name="StatsServed", unit=MetricUnit.Count, value=1)
    return json_response(200, body)


lambda_handler = api_entry_point(app)
