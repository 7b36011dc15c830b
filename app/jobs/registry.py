"""The scheduled jobs: one line each. `rapport worker` (and `rapport serve` on SQLite) run them.

A job is an async function of a `JobContext` that returns how many things it did. It must be
idempotent: it may run twice for one tick after a crash, or be skipped and catch up at the
next. Its schedule is a cron expression (a sixth field counts seconds), which
`RAPPORT_JOB_SCHEDULES` can override by job name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from app.config import Settings
from app.jobs import accounts, emails, exports, push, retention
from app.jobs.context import JobContext


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    run: Callable[[JobContext], Awaitable[int]]
    schedule: str
    """The default cron expression."""

    def schedule_for(self, settings: Settings) -> str:
        return settings.job_schedules.get(self.name, self.schedule)


JOBS: tuple[ScheduledJob, ...] = (
    ScheduledJob("sweep_authorization_codes", retention.sweep_authorization_codes, "*/10 * * * *"),
    ScheduledJob("sweep_refresh_tokens", retention.sweep_refresh_tokens, "17 * * * *"),
    ScheduledJob("sweep_idempotency_records", retention.sweep_idempotency_records, "*/15 * * * *"),
    ScheduledJob("sweep_revocations", retention.sweep_revocations, "*/10 * * * *"),
    ScheduledJob("sweep_webhook_history", retention.sweep_webhook_history, "23 3 * * *"),
    ScheduledJob("sweep_events", retention.sweep_events, "41 3 * * *"),
    ScheduledJob("erase_accounts_past_grace", accounts.erase_accounts_past_grace, "*/30 * * * *"),
    ScheduledJob("run_exports", exports.run_exports, "*/5 * * * * *"),
    ScheduledJob("sweep_exports", retention.sweep_exports, "*/15 * * * *"),
    ScheduledJob("push_notifications", push.push_notifications, "*/10 * * * * *"),
    ScheduledJob("daily_reminders", push.daily_reminders, "* * * * *"),
    ScheduledJob("sweep_push_deliveries", push.sweep_push_deliveries, "53 3 * * *"),
    ScheduledJob("send_account_emails", emails.send_account_emails, "*/5 * * * * *"),
    ScheduledJob("sweep_account_tokens", emails.sweep_account_tokens, "29 * * * *"),
)
