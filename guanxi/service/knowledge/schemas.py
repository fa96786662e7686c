from __future__ import annotations

import datetime as dt

from ninja import Field, Schema


class CustomerRef(Schema):
    id: int
    name: str


class TicketRef(Schema):
    id: int
    number: str
    subject: str
    linked_at: dt.datetime
    linked_by_id: int | None


class ArticleSummaryOut(Schema):
    id: int
    title: str
    excerpt: str = Field(..., description="The start of the text.")
    kind: str = Field(..., description="solution, product, customer_note or faq.")
    kind_label: str
    category_id: int
    category_name: str
    tags: list[str]
    status: str = Field(..., description="draft, published or archived.")
    author_id: int | None
    author_name: str
    published_at: dt.datetime | None
    view_count: int = Field(..., description="Readers, each counted once a day.")
    link_count: int = Field(..., description="Times linked to a ticket as its solution.")
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ArticleOut(ArticleSummaryOut):
    body: str
    ticket_category_ids: list[int]
    customers: list[CustomerRef]
    tickets: list[TicketRef] = Field(
        ..., description="The tickets it was used on that you may see, newest first."
    )


class ArticlePage(Schema):
    items: list[ArticleSummaryOut]
    next_cursor: str | None


class ArticleIn(Schema):
    title: str = Field(..., max_length=200)
    body: str = Field(..., max_length=20000)
    kind: str = Field("solution", description="solution, product, customer_note or faq.")
    category_id: int
    tags: list[str] = Field([], max_length=20)
    ticket_category_ids: list[int] = Field([], max_length=50)
    customer_ids: list[int] = Field([], max_length=20)
    status: str = Field(
        "draft", description="draft, or published (service agents and administrators)."
    )


class ArticlePatchIn(Schema):
    version: int = Field(..., description="The version you read; a stale version is a 409.")
    title: str | None = Field(None, max_length=200)
    body: str | None = Field(None, max_length=20000)
    kind: str | None = None
    category_id: int | None = None
    tags: list[str] | None = Field(None, max_length=20)
    ticket_category_ids: list[int] | None = Field(None, max_length=50)
    customer_ids: list[int] | None = Field(None, max_length=20)
    status: str | None = Field(
        None, description="draft, published or archived (service agents and administrators)."
    )


class SuggestionOut(ArticleSummaryOut):
    score: int = Field(..., description="Terms in common, plus 3 for the ticket's category.")
    category_match: bool
    terms_matched: int


class TicketLinkOut(Schema):
    id: int
    ticket_id: int
    article_id: int
    article_title: str
    linked_at: dt.datetime
    linked_by_id: int | None


class SuggestionsOut(Schema):
    items: list[SuggestionOut]
    linked: list[TicketLinkOut] = Field(..., description="Articles already used on the ticket.")


class KnowledgeCategoryOut(Schema):
    id: int
    code: str
    name: str
    description: str
    active: bool
    position: int
    version: int


class KnowledgeCategoryIn(Schema):
    code: str = Field(..., max_length=40)
    name: str = Field(..., max_length=60)
    description: str = Field("", max_length=255)
    position: int = Field(0, ge=0, le=32767)
    active: bool = True


class KnowledgeCategoryPatchIn(Schema):
    version: int
    name: str | None = Field(None, max_length=60)
    description: str | None = Field(None, max_length=255)
    position: int | None = Field(None, ge=0, le=32767)
    active: bool | None = None
