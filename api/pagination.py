"""Offset pagination shared by every list route (API and pages).

A list route takes ``limit`` (at most ``MAX_LIMIT``; without it every item from
``offset`` on, so a plain ``GET`` lists everything the caller may see) and ``offset``
(default 0) query parameters, keeps its body a plain JSON array, and says where it is in
headers:

- ``X-Total-Count``: how many items match in all (before ``limit``/``offset``);
- ``Link`` (RFC 8288): ``<…?limit=L&offset=O>; rel="next"`` while more items
  follow, ``rel="prev"`` when ``offset > 0``, and ``rel="first"``.

Use in a router::

    from xfd.api.pagination import PageDep, paginate

    @router.get("", response_model=list[ThingPublic])
    def list_things(page: PageDep, request: Request, response: Response, session: SessionDep):
        result = paginate(session, select(Thing).order_by(Thing.id), page)
        set_page_headers(request, response, page, result.total)
        return [public(t) for t in result.items]

``paginate`` counts and slices a SQLAlchemy ``Select`` (give it a total
order, e.g. by primary key, or pages may overlap); ``set_page_headers`` also
serves lists built in Python (pass ``len`` of the whole list).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, NamedTuple

from fastapi import Depends, Query, Request, Response
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

#: largest ``limit`` a caller may ask for
MAX_LIMIT = 1000
#: largest ``offset`` accepted (beyond any real table here)
MAX_OFFSET = 1_000_000_000


class Page(NamedTuple):
    """A requested slice: at most ``limit`` (1..MAX_LIMIT; ``None``: all) items starting at
    ``offset`` (>= 0)."""

    limit: int | None
    offset: int


class PageResult(NamedTuple):
    """One page of ``items`` and the ``total`` number of matching items."""

    items: list[Any]
    total: int


def page_params(
    limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT,
                                       description=f"items per page (at most {MAX_LIMIT}; default: all)")] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip (default 0)")] = 0,
) -> Page:
    return Page(limit=limit, offset=offset)


PageDep = Annotated[Page, Depends(page_params)]

#: the headers a paginated list answers with, for ``responses=`` in route decorators
PAGE_HEADERS_DOC = {
    "X-Total-Count": {"description": "matching items in all", "schema": {"type": "integer"}},
    "Link": {"description": 'RFC 8288 links: rel="next" while more items follow, rel="prev", rel="first"',
             "schema": {"type": "string"}},
}


def paginate(session: Session, query: Select, page: Page) -> PageResult:
    """Count the rows ``query`` selects and return the ones of ``page``.

    ``query`` is a ``select(Entity)`` (items are ORM objects) with a total order.
    """
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    items = list(session.scalars(query.limit(page.limit).offset(page.offset)))
    return PageResult(items=items, total=int(total))


def slice_list(items: Sequence[Any], page: Page) -> PageResult:
    """``page`` of a list built in Python."""
    end = None if page.limit is None else page.offset + page.limit
    return PageResult(items=list(items[page.offset:end]), total=len(items))


def page_links(request: Request, page: Page, total: int) -> str:
    """The ``Link`` header value for ``page`` of ``total`` items at ``request``'s URL."""
    if page.limit is None:  # everything from offset on: nothing follows
        first = request.url.remove_query_params("offset")
        return f'<{first}>; rel="first"'

    def url(offset: int) -> str:
        return str(request.url.include_query_params(limit=page.limit, offset=offset))

    links = [f'<{url(0)}>; rel="first"']
    if page.offset > 0:
        links.append(f'<{url(max(page.offset - page.limit, 0))}>; rel="prev"')
    if page.offset + page.limit < total:
        links.append(f'<{url(page.offset + page.limit)}>; rel="next"')
    return ", ".join(links)


def set_page_headers(request: Request, response: Response, page: Page, total: int) -> None:
    """Put ``X-Total-Count`` and ``Link`` on ``response``."""
    response.headers["X-Total-Count"] = str(total)
    response.headers["Link"] = page_links(request, page, total)
