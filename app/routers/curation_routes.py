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

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.etag import check_if_match, resource_response
from app.core.pagination import PageParams
from app.core.problems import (
    InsufficientScope,
    PreconditionFailed,
    PreconditionRequired,
    ProblemError,
    Unauthorized,
    UnprocessableContent,
    responses_for,
)
from app.core.security import Member, Scope, member
from app.db import SessionDep
from app.models.curation import CuratedContent
from app.services import curation
from app.services.roles import NotCurator, OwnSubmission, require_curator

Item = TypeVar("Item", bound=CuratedContent)
Curator = Annotated[Member, member(Scope.admin_content)]
AUTH_ERRORS: tuple[type[ProblemError], ...] = (Unauthorized, InsufficientScope, NotCurator)


@dataclass(frozen=True, slots=True)
class Doc:
    """One route's summary, description and the problems it adds to the usual ones."""

    summary: str
    description: str
    errors: tuple[type[ProblemError], ...] = ()


Move = Doc
"""A life-cycle move route's documentation."""
_KEYWORD = inspect.Parameter.KEYWORD_ONLY


def _signed(
    endpoint: Callable[..., Awaitable[Any]], parameters: list[inspect.Parameter], returns: Any
) -> Callable[..., Awaitable[Any]]:
    """`endpoint(**values)` with the signature FastAPI reads its parameters from, so one
    function serves every kind. (Defined where it closes over the `CurationRoutes`, so the
    schema's header check follows what it calls.)"""
    endpoint.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
    return endpoint


def _param(name: str, annotation: Any, **default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, _KEYWORD, annotation=annotation, **default)


@dataclass(frozen=True, kw_only=True)
class CurationRoutes(Generic[Item]):
    kind: curation.Kind[Item, Any]
    detail: Callable[[AsyncSession, Item], Awaitable[BaseModel]]
    """The item's detail view: the response body, and what `If-Match` compares with."""
    location: str
    """Where an item lives, with `{id}` for its id."""
    detail_model: type[BaseModel]
    """What `detail` returns, as the schema publishes it."""

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

    def add_collection(
        self,
        router: APIRouter,
        *,
        path: str,
        operation: str,
        create_body: type[BaseModel],
        create: Callable[[AsyncSession, Member, Any], Awaitable[Item]],
        created: Doc,
        page_model: type[BaseModel],
        summary_of: Callable[[Item], BaseModel],
        status_type: type[Any],
        listed: Doc,
    ) -> None:
        """`POST <path>` (`<operation>_create`) and `GET <path>` (`<operation>_list`)."""

        async def create_one(**values: Any) -> Response:
            session = values["session"]
            me = await self.curator(session, values["actor"])
            item = await create(session, me, values["data"])
            return await self.created(values["request"], session, item)

        async def list_all(**values: Any) -> Any:
            session = values["session"]
            await self.curator(session, values["actor"])
            window = await self.kind.list_items(session, values["params"], status=values["status"])
            return page_model.of(window, summary_of)  # type: ignore[attr-defined]

        problems = self.kind.problems
        router.add_api_route(
            path,
            _signed(
                create_one,
                [
                    _param("request", Request),
                    _param("data", create_body),
                    _param("actor", Curator),
                    _param("session", SessionDep),
                ],
                Response,
            ),
            methods=["POST"],
            name=f"{operation}_create",
            summary=created.summary,
            description=created.description,
            status_code=201,
            response_model=self.detail_model,
            responses=responses_for(*AUTH_ERRORS, problems.slug_taken, *created.errors),
        )
        # Built per kind at run time: the status enum of this kind, optional, as a query.
        status = Annotated[status_type | None, Query(description="Only this status.")]  # type: ignore[valid-type]
        router.add_api_route(
            path,
            _signed(
                list_all,
                [
                    _param("params", PageParams),
                    _param("actor", Curator),
                    _param("session", SessionDep),
                    _param("status", status, default=None),
                ],
                page_model,
            ),
            methods=["GET"],
            name=f"{operation}_list",
            summary=listed.summary,
            description=listed.description,
            response_model=page_model,
            responses=responses_for(*AUTH_ERRORS, *listed.errors),
        )

    def add_item(
        self,
        router: APIRouter,
        *,
        path: str,
        id_name: str,
        operation: str,
        update_body: type[BaseModel],
        update: Callable[[AsyncSession, Member, Item, Any], Awaitable[object]],
        shown: Doc,
        changed: Doc,
    ) -> None:
        """`GET <path>` (`<operation>_get`) and `PATCH <path>` (`<operation>_update`, with
        `If-Match` required); `path` names the item's id `id_name`."""

        async def get_one(**values: Any) -> Response:
            session = values["session"]
            await self.curator(session, values["actor"])
            item = await curation.get(session, self.kind, values[id_name])
            return await self.show(values["request"], session, item)

        async def change_one(**values: Any) -> Response:
            session = values["session"]

            async def apply(me: Member, item: Item) -> object:
                return await update(session, me, item, values["data"])

            return await self.change(
                values["request"],
                session,
                values["actor"],
                values[id_name],
                apply,
                if_match_required=True,
            )

        common = [_param("request", Request), _param(id_name, uuid.UUID)]
        who = [_param("actor", Curator), _param("session", SessionDep)]
        problems = self.kind.problems
        router.add_api_route(
            path,
            _signed(get_one, common + who, Response),
            methods=["GET"],
            name=f"{operation}_get",
            summary=shown.summary,
            description=shown.description,
            response_model=self.detail_model,
            responses=responses_for(*AUTH_ERRORS, problems.not_found),
        )
        router.add_api_route(
            path,
            _signed(change_one, [*common, _param("data", update_body), *who], Response),
            methods=["PATCH"],
            name=f"{operation}_update",
            summary=changed.summary,
            description=changed.description,
            response_model=self.detail_model,
            responses=responses_for(
                *AUTH_ERRORS,
                PreconditionFailed,
                PreconditionRequired,
                problems.not_found,
                problems.locked,
                UnprocessableContent,
            ),
        )

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

        parameters = [
            _param("request", Request),
            _param(id_name, uuid.UUID),
            _param("actor", Curator),
            _param("session", SessionDep),
        ]
        if move == "return":
            parameters.append(_param("data", comment_body | None, default=None))
        problems = self.kind.problems
        router.add_api_route(
            f"{path}/{move}",
            _signed(endpoint, parameters, Response),
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
                *((OwnSubmission,) if move in curation.REVIEW_MOVES else ()),
                *doc.errors,
            ),
        )
