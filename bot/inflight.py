"""Questions in flight survive their process: exactly once must not mean at most once.

Claiming a platform event (an atomic insert: the first of several copies wins) also records the question, where
to answer it, and a lease its holder renews while it lives (`keep_alive`, a thread of its own, so a busy event
loop or a long wait for the model never lets it lapse). The claim moves from `claimed` to `answering` once a
placeholder stands in the thread (its message id is kept, to be replaced), and to `answered` once the answer is
posted; the question's words are dropped then. A claim whose lease lapsed (its holder died: SIGKILL, OOM, a lost
machine), or whose holder is a process of this machine that no longer exists (a restart), is `stale`: another
process of the fleet, or the same one after its restart, takes it over (`take_over`, a compare-and-set: of two
processes trying, one wins) and answers it. A question taken over `MAX_ATTEMPTS` times is `abandoned`: if it is
what kills its processes, it must not kill the whole fleet in turn.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, RowMapping, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.messages import IncomingMessage
from bot.records import claims_table
from knowledge.database import utc

log = logging.getLogger(__name__)

UNFINISHED = ("claimed", "answering")
RELEASED = "released"  # the holder of a claim its process gave back
_RUN = uuid.uuid4().hex[:8]
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Claim:
    """A question some process claimed and has not finished answering."""

    platform: str
    event_key: str
    message: IncomingMessage
    reply: Mapping[str, str]  # the platform's own addresses: where to answer (a channel and a thread, …)
    placeholder: str | None  # the message standing in for the answer, if one was posted
    claimed_at: datetime
    holder: str
    attempts: int


def this_process() -> str:
    """Who holds a claim: host, PID namespace and PID (to tell at once that a process of this machine is gone),
    and a token of this run (a PID is reused, a container's often)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid").removeprefix("pid:").strip("[]")
    except OSError:
        namespace = "-"
    return f"{socket.gethostname()}:{namespace}:{os.getpid()}:{_RUN}"


class InFlight:
    """The claims of one process (`holder`), on the database every process of the fleet shares."""

    def __init__(self, engine: Engine, *, lease: timedelta = timedelta(seconds=60), holder: str | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:  # fmt: skip
        self._engine = engine
        self.lease = lease
        self.holder = holder or this_process()
        self._now = clock or (lambda: datetime.now(UTC))

    def claim(self, platform: str, event_key: str, *, message: IncomingMessage | None = None,
              reply: Mapping[str, str] | None = None) -> bool:  # fmt: skip
        """True for the first caller only, across processes: an atomic insert, never check-then-write. Without a
        message there is nothing to recover: the claim is finished at once (an event handled in one step)."""
        now = self._now()
        values: dict[str, Any] = {"platform": platform, "event_key": event_key, "claimed_at": now}
        if message is None:
            values |= {"state": "answered"}
        else:
            question = json.dumps({"message": _message_dict(message), "reply": dict(reply or {})}, ensure_ascii=False)
            values |= {"state": "claimed", "holder": self.holder, "lease_until": now + self.lease,
                       "question": question}  # fmt: skip
        try:
            with self._engine.begin() as db:
                db.execute(insert(claims_table).values(**values))
        except IntegrityError:
            return False
        return True

    def placed(self, platform: str, event_key: str, placeholder: str) -> None:
        """A placeholder stands in the thread: the one to replace if this process dies."""
        self._set(platform, event_key, state="answering", placeholder=placeholder)

    def done(self, platform: str, event_key: str, *, state: str = "answered") -> None:
        """The answer (or an apology) is posted: nothing left to recover, and the question's words are dropped."""
        self._set(platform, event_key, state=state, lease_until=None, question=None)

    def release(self, platform: str, event_key: str) -> None:
        """This process could not finish it, though alive (the platform refused the answer and the apology): let
        any process, this one included, take it over at its next round."""
        self._set(platform, event_key, holder=RELEASED, lease_until=self._now())

    def renew(self) -> int:
        """This process is alive: every unfinished claim it holds gets a fresh lease. How many it holds."""
        with self._engine.begin() as db:
            renewed = db.execute(
                update(claims_table)
                .where(claims_table.c.holder == self.holder, claims_table.c.state.in_(UNFINISHED))
                .values(lease_until=self._now() + self.lease)
            )
        return int(renewed.rowcount or 0)

    @property
    def period(self) -> float:
        """How often the leases are renewed, and stale claims looked for: four times a lease, at least every 15 s."""
        return min(self.lease.total_seconds() / 4, 15.0)

    def keep_alive(self, every: float | None = None) -> Callable[[], None]:
        """Renew in a thread of its own until the returned function is called."""
        interval = every if every is not None else self.period
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(interval):
                try:
                    self.renew()
                except Exception:  # the database is away for a moment: the next beat tries again
                    log.warning("Could not renew the leases of the questions in flight", exc_info=True)

        threading.Thread(target=run, name="inflight-lease", daemon=True).start()
        return stop.set

    def stale(self, platforms: Collection[str]) -> list[Claim]:
        """Unfinished claims of these platforms whose holder is gone: its lease lapsed, or it was a process of this
        machine that no longer exists. Oldest first."""
        now = self._now()
        query = (
            select(claims_table)
            .where(claims_table.c.state.in_(UNFINISHED), claims_table.c.platform.in_(list(platforms)))
            .order_by(claims_table.c.claimed_at)
        )
        with self._engine.connect() as db:
            rows = db.execute(query).mappings().all()
        found = []
        for row in rows:
            if row["holder"] == self.holder:
                continue
            lapsed = row["lease_until"] is None or utc(row["lease_until"]) < now
            if not (lapsed or _gone(row["holder"] or "")):
                continue
            try:
                found.append(_claim(row))
            except (ValueError, KeyError, TypeError):
                log.error("Claim %s/%s cannot be read back; abandoned", row["platform"], row["event_key"])
                self.done(row["platform"], row["event_key"], state="abandoned")
        return found

    def take_over(self, claim: Claim) -> bool:
        """Hold a stale claim: True for one process only (the row still names the holder it was found with), and
        never past MAX_ATTEMPTS (then it is abandoned and False)."""
        if claim.attempts >= MAX_ATTEMPTS:
            log.error("Question %s was taken over %d times and never answered; abandoned", claim.message.id,
                      claim.attempts, extra={"question_id": claim.message.id})  # fmt: skip
            self.done(claim.platform, claim.event_key, state="abandoned")
            return False
        with self._engine.begin() as db:
            taken = db.execute(
                update(claims_table)
                .where(*_key(claim.platform, claim.event_key), claims_table.c.holder == claim.holder,
                       claims_table.c.attempts == claim.attempts, claims_table.c.state.in_(UNFINISHED))
                .values(holder=self.holder, lease_until=self._now() + self.lease, attempts=claim.attempts + 1)
            )  # fmt: skip
        return bool(taken.rowcount)

    def _set(self, platform: str, event_key: str, **values: Any) -> None:
        with self._engine.begin() as db:
            db.execute(update(claims_table).where(*_key(platform, event_key)).values(**values))


def _key(platform: str, event_key: str) -> tuple[Any, Any]:
    return claims_table.c.platform == platform, claims_table.c.event_key == event_key


def _message_dict(message: IncomingMessage) -> dict[str, Any]:
    values = asdict(message)
    values["time"] = message.time.isoformat()
    return values


def _claim(row: RowMapping) -> Claim:
    saved = json.loads(row["question"])
    values = dict(saved["message"])
    values["time"] = datetime.fromisoformat(values["time"])
    return Claim(
        platform=row["platform"], event_key=row["event_key"], message=IncomingMessage(**values),
        reply={str(k): str(v) for k, v in saved["reply"].items()}, placeholder=row["placeholder"],
        claimed_at=utc(row["claimed_at"]), holder=row["holder"] or "", attempts=int(row["attempts"]),
    )  # fmt: skip


def _gone(holder: str) -> bool:
    """A holder of this machine (same host and PID namespace) whose process no longer exists."""
    parts = holder.split(":")
    if len(parts) != 4 or not parts[2].isdigit():
        return False
    here = this_process().split(":")
    if parts[:2] != here[:2]:
        return False
    try:
        os.kill(int(parts[2]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, under another user
        return False
    return int(parts[2]) == os.getpid() and parts[3] != _RUN  # our PID, another run: a process before us had it
