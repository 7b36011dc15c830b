"""Agreements of a couple's repair plan: proposing, rewording and signing them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from app.core.clock import Now
from app.core.etag import check_if_match, resource_response
from app.core.problems import (
    PreconditionFailed,
    PreconditionRequired,
    responses_for,
)
from app.db import SessionDep
from app.routers.repair_http import CHANGE_ERRORS, PLAN_ERRORS, PLANS, Reader, Writer
from app.schemas.repair_agreements import (
    AgreementCreate,
    AgreementOut,
    AgreementSign,
    AgreementUpdate,
)
from app.services import repair_agreements as agreements

router = APIRouter(prefix="/v1", tags=["repair-plans"])


@router.post(
    PLANS + "/{plan_id}/agreements",
    summary="Propose an agreement",
    status_code=201,
    response_model=AgreementOut,
    responses=responses_for(*CHANGE_ERRORS),
)
async def repair_agreements_create(
    request: Request,
    plan_id: uuid.UUID,
    data: AgreementCreate,
    me: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """Proposing it signs it for you; it is in force once your partner signs it too."""
    view = await agreements.add_agreement(session, me, plan_id, data, now)
    location = f"/v1{PLANS}/{plan_id}/agreements/{view.agreement.id}"
    return resource_response(
        request, AgreementOut.from_view(view), status_code=201, headers={"Location": location}
    )


@router.get(
    PLANS + "/{plan_id}/agreements/{agreement_id}",
    summary="Get an agreement",
    response_model=AgreementOut,
    responses=responses_for(*PLAN_ERRORS, agreements.AgreementNotFound),
)
async def repair_agreements_get(
    request: Request,
    plan_id: uuid.UUID,
    agreement_id: uuid.UUID,
    me: Reader,
    session: SessionDep,
) -> Response:
    """The agreement with every wording it had and who signed each."""
    view = await agreements.get_agreement(session, me, plan_id, agreement_id)
    return resource_response(request, AgreementOut.from_view(view))


@router.patch(
    PLANS + "/{plan_id}/agreements/{agreement_id}",
    summary="Change an agreement's wording",
    response_model=AgreementOut,
    responses=responses_for(
        *CHANGE_ERRORS, PreconditionFailed, PreconditionRequired, agreements.AgreementNotFound
    ),
)
async def repair_agreements_update(
    request: Request,
    plan_id: uuid.UUID,
    agreement_id: uuid.UUID,
    data: AgreementUpdate,
    me: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """A new wording, signed by you; it needs your partner's signature to come into force.
    Meanwhile the last wording you both signed stays in force. `If-Match` is required."""

    def if_match(current: agreements.AgreementView) -> None:
        check_if_match(request, AgreementOut.from_view(current), required=True)

    view = await agreements.change_text(
        session, me, plan_id, agreement_id, data.text, now, guard=if_match
    )
    return resource_response(request, AgreementOut.from_view(view))


@router.post(
    PLANS + "/{plan_id}/agreements/{agreement_id}/sign",
    summary="Sign an agreement",
    response_model=AgreementOut,
    responses=responses_for(
        *CHANGE_ERRORS, agreements.AgreementNotFound, agreements.AgreementChanged
    ),
)
async def repair_agreements_sign(
    request: Request,
    plan_id: uuid.UUID,
    agreement_id: uuid.UUID,
    data: AgreementSign,
    me: Writer,
    session: SessionDep,
    now: Now,
) -> Response:
    """Sign the newest wording, named by its `version` so that you sign what you read."""
    view = await agreements.sign(session, me, plan_id, agreement_id, data.version, now)
    return resource_response(request, AgreementOut.from_view(view))
