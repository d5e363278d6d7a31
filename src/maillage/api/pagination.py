"""Page-number pagination with bounded inputs (a page number beyond any database integer is a
client error, answered 422, not a server error), and the lazy page of rendered rows it slices."""

from __future__ import annotations

from ninja import Field, Schema
from ninja.pagination import PageNumberPagination


class Pages(PageNumberPagination):
    class Input(Schema):
        page: int = Field(1, ge=1, le=1_000_000)
        page_size: int | None = Field(None, ge=1, le=200)

    def __init__(self, **kwargs):
        super().__init__(page_size=50, max_page_size=200, **kwargs)


class RenderedPage:
    """A queryset that the paginator counts and slices lazily: only the rows of the page asked
    for are read, and they pass through ``render`` (the page's rows in, its items out)."""

    def __init__(self, queryset, render):
        self.queryset, self.render = queryset, render

    def count(self):
        return self.queryset.count()

    def __len__(self):
        return self.count()

    def __getitem__(self, item):
        return self.render(list(self.queryset[item]))
