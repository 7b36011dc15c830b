"""The HTTP plumbing the curation routers share: the curator check on every request, fetching
an item for a change under `If-Match`, shaping the response, and the life-cycle move routes.

Every operation needs the `admin:content` scope on a person's token and, checked on each
request since roles change, an account whose role is curator or admin.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.etag import check_if_match, resource_response
from app.core.problems import (
    InsufficientScope,
    PreconditionFailed,
    ProblemError,
    Unauthorized,
    responses_for,
)
from app.core.security import Member, Scope, member
from app.db import SessionDep
from app.models.curation import CuratedContent
from app.services import curation
from app.services.roles import NotCurator, require_curator

Item = TypeVar("Item", bound=CuratedContent)
Curator = Annotated[Member, member(Scope.admin_content)]
AUTH_ERRORS: tuple[type[ProblemError], ...] = (Unauthorized, InsufficientScope, NotCurator)


@dataclass(frozen=True, slots=True)
class Move:
    """One life-cycle move route: its summary and description in the API reference."""

    summary: str
    description: str
    errors: tuple[type[ProblemError], ...] = ()


@dataclass(frozen=True, kw_only=True)
class CurationRoutes(Generic[Item]):
    kind: curation.Kind[Item, Any]
    detail: Callable[[AsyncSession, Item], Awaitable[BaseModel]]
    """The item's detail view: the response body, and what `If-Match` compares with."""
    location: str
    """Where an item lives, with `{id}` for its id."""

    async def curator(self, session: AsyncSession, me: Member) -> Member:
        return await require_curator(session, me)

    async def show(self, request: Request, session: AsyncSession, item: Item) -> Response:
        return resource_response(request, await self.detail(session, item))

    async def created(self, request: Request, session: AsyncSession, item: Item) -> Response:
        return resource_response(
            request,
            await self.detail(session, item),
            status_code=201,
            headers={"Location": self.location.format(id=item.id)},
        )

    async def change(
        self,
        request: Request,
        session: AsyncSession,
        me: Member,
        item_id: uuid.UUID,
        apply: Callable[[Member, Item], Awaitable[object]],
        *,
        if_match_required: bool = False,
    ) -> Response:
        """Lock the item, check `If-Match` against its detail, `apply` the change, show it."""
        await self.curator(session, me)
        item = await curation.get(session, self.kind, item_id, for_change=True)
        check_if_match(request, await self.detail(session, item), required=if_match_required)
        await apply(me, item)
        return await self.show(request, session, item)

    def add_moves(
        self,
        router: APIRouter,
        *,
        path: str,
        id_name: str,
        operation: str,
        response_model: type[BaseModel],
        comment_body: type[BaseModel],
        moves: Mapping[str, Move],
    ) -> None:
        """`POST <path>/<move>` for each move, named `<operation>_<move>` (`path` names the
        item's id `id_name`); `return` takes an optional body with a `comment` for the log."""
        for move, doc in moves.items():
            self._add_move(
                router, move, doc, path, id_name, operation, response_model, comment_body
            )

    def _add_move(
        self,
        router: APIRouter,
        move: str,
        doc: Move,
        path: str,
        id_name: str,
        operation: str,
        response_model: type[BaseModel],
        comment_body: type[BaseModel],
    ) -> None:
        async def endpoint(**values: Any) -> Response:
            body = values.get("data")
            comment: str | None = getattr(body, "comment", None)

            async def apply(me: Member, item: Item) -> None:
                await curation.transition(
                    values["session"], self.kind, me, item, move, comment=comment
                )

            return await self.change(
                values["request"], values["session"], values["actor"], values[id_name], apply
            )

        keyword = inspect.Parameter.KEYWORD_ONLY
        parameters = [
            inspect.Parameter("request", keyword, annotation=Request),
            inspect.Parameter(id_name, keyword, annotation=uuid.UUID),
            inspect.Parameter("actor", keyword, annotation=Curator),
            inspect.Parameter("session", keyword, annotation=SessionDep),
        ]
        if move == "return":
            parameters.append(
                inspect.Parameter("data", keyword, annotation=comment_body | None, default=None)
            )
        # FastAPI reads the parameters from the signature, so one function serves every kind.
        endpoint.__signature__ = inspect.Signature(parameters, return_annotation=Response)  # type: ignore[attr-defined]
        problems = self.kind.problems
        router.add_api_route(
            f"{path}/{move}",
            endpoint,
            methods=["POST"],
            name=f"{operation}_{move}",
            summary=doc.summary,
            description=doc.description,
            response_model=response_model,
            responses=responses_for(
                *AUTH_ERRORS,
                problems.not_found,
                problems.illegal_transition,
                PreconditionFailed,
                *doc.errors,
            ),
        )
