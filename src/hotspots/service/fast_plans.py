"""The plan poll without FastAPI's routing: plain ``GET /v1/plans/latest`` for a built plan.

As ``fast_path`` does for the forecasts, ``FastPlansMiddleware`` answers a request itself
when it is plain and hands every other one to the app untouched. Plain means: a GET of
exactly the route's path; a query ``plain_query`` reads from the route's own declarations;
one valid key (as ``fast_path.plain_headers`` reads it) holding the route's scope and under
its rate limit; and a plan already built (the default budget, or one asked before). A plan
not built yet, and every refusal, goes to FastAPI, which answers as it always does.
The answer is the route's own (``routes_plans.answer_plan``): the same bytes, ETag and
problems; the middleware sits inside ``AuditMiddleware``, so the audit does not depend on
the path a request took.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from hotspots.errors import HotspotsError
from hotspots.service.auth import required_scopes
from hotspots.service.fast_path import admitted, plain_headers, take_token
from hotspots.service.plain_query import plain_parser
from hotspots.service.problems import ProblemError, error_response
from hotspots.service.routes_plans import PLANS_PATH, answer_plan


class FastPlansMiddleware:
    """Answer plain ``GET /v1/plans/latest`` requests for a built plan; pass the rest on.

    ``route`` is the app's plans route: its declared parameters are the parser's, and it goes
    in the scope as FastAPI's router would put it, so the audit names the same template.
    """

    def __init__(self, app: ASGIApp, route: BaseRoute) -> None:
        self.app = app
        self.route = route
        self.parse = plain_parser(route)
        self.scopes = required_scopes(route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or scope["path"] != PLANS_PATH
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return
        params = self.parse(scope.get("query_string", b""))
        headers = plain_headers(scope["headers"])
        record = None if params is None else admitted(scope, headers.key, self.scopes)
        if params is None or record is None:
            await self.app(scope, receive, send)
            return
        notes: dict[str, Any] = {}
        try:
            response = answer_plan(
                scope["app"].state.service,
                params,
                notes,
                headers.if_none_match,
                headers.accept_encoding,
            )
        except (ProblemError, HotspotsError) as err:
            response = error_response(Request(scope, receive), err)
        # a token only for a request answered here: a plan to build, or a key over its
        # limit, goes to the route, whose own check charges (or refuses) it once
        if response is None or not take_token(scope, record):
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        scope.setdefault("state", {}).update(notes, key_id=record.id)
        await response(scope, receive, send)
