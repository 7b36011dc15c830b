"""What the repair-plan routers share: their path, their callers and their problem lists.

Routes live in `repair_plans`, `repair_steps`, `repair_agreements` and `repair_trust`; this
module defines no route.
"""

from __future__ import annotations

from typing import Annotated

from app.core.problems import InsufficientScope, Unauthorized, UnprocessableContent
from app.core.security import Member, Scope, member
from app.services import repair_access as access
from app.services.couples import NoCouple

PLANS = "/couples/me/repair-plans"
Reader = Annotated[Member, member(Scope.repair_read)]
Writer = Annotated[Member, member(Scope.repair_write)]
COUPLE_ERRORS = (Unauthorized, InsufficientScope, NoCouple, access.RepairHidden)
PLAN_ERRORS = (*COUPLE_ERRORS, access.PlanNotFound)
CHANGE_ERRORS = (*PLAN_ERRORS, access.PlanNotActive, UnprocessableContent)
