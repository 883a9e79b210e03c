"""A seeded, deterministic Zoom account: users, groups, meetings, webinars and their instances.

Everything is drawn from `random.Random` streams keyed by the seed and the object, so the
same seed and anchor give the same account, and one object's data does not shift when
another's changes. Definitions and instances are held in memory (a few hundred bytes
each); participant rows, poll answers and Q&A are generated per instance on demand
(`people.py`), so a dataset with millions of participant rows costs no more memory than
its instances.

Zoom's traps are placed on purpose (see `research/zoom-api.md` §10–11): recurring meetings
with many instances under one id, instant and PMI meetings, UUIDs that begin with `/` or
contain `//`, two UUIDs that differ only by case, a meeting with more than 300
participants, one-person meetings, a meeting still in progress, and users of every status.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from zoomsync.emulator import ids
from zoomsync.emulator.clock import iso

FIRST = ["Ada", "Bola", "Chen", "Dana", "Emil", "Fatima", "Goran", "Hana", "Ivan", "Jia",
         "Kofi", "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara"]
LAST = ["Okafor", "Novak", "Silva", "Tanaka", "Müller", "Haddad", "Kowalski", "Nguyen",
        "Smith", "García", "Ivanova", "Mensah", "O'Brien", "Rossi", "Dubois", "Larsen"]
DEPTS = ["Engineering", "Sales", "Marketing", "Support", "Finance", ""]
TOPICS = ["Weekly sync", "Design review", "Customer call", "All hands", "1:1", "Standup",
          "Quarterly planning", "Incident review", "Interview", "Training", "Board prep"]
# Zoom's three built-in roles (GET /roles); users carry the id and the name.
ROLE_NAMES = {"0": "Owner", "1": "Admin", "2": "Member"}
TIMEZONES = ["America/New_York", "Europe/Berlin", "Asia/Tokyo", "UTC", "America/Los_Angeles"]


@dataclass(frozen=True)
class DatasetConfig:
    """The knobs of a generated account; the defaults make a small, trap-complete account."""

    seed: int = 42
    anchor: datetime = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    users: int = 10
    meetings_per_user: int = 2
    webinar_hosts: int = 2
    participants_mean: int = 6
    months: int = 8
    large_meetings: int = 1
    large_size: int = 320
    groups: int = 3
    h323_devices: int = 4
    account_id: str = "emu_account_0001"
    domain: str = "example.com"

    def __post_init__(self) -> None:
        if self.users < 4:
            raise ValueError("users must be at least 4 (one of each status and a host)")


@dataclass
class User:
    """A user as `GET /users/{userId}` returns it (`record`), plus generation state."""

    id: str
    record: dict
    deleted: bool = False

    @property
    def status(self) -> str:
        return self.record["status"]

    @property
    def email(self) -> str:
        return self.record["email"]


@dataclass
class Definition:
    """A scheduled meeting or webinar, as `GET /meetings/{id}` or `/webinars/{id}` shows it."""

    id: int
    kind: str  # "meeting" | "webinar"
    type: int
    host_id: str
    topic: str
    created_at: datetime
    start: datetime | None
    duration: int
    timezone: str
    uuid: str
    registration: bool = False
    polls: int = 0
    recurrence: dict | None = None
    occurrences: list[datetime] = field(default_factory=list)
    agenda: str = ""
    deleted: bool = False
    seed: int = 0


@dataclass
class Instance:
    """One occurrence that happened (or is happening): the unit of past_meetings and reports."""

    uuid: str
    meeting_id: int
    kind: str
    type: int
    host_id: str
    topic: str
    start: datetime
    end: datetime | None  # None while still in progress
    people: int
    has_recording: bool = False
    has_polls: bool = False
    has_qa: bool = False
    seed: int = 0
    extra_segments: list[dict] = field(default_factory=list)

    def ended(self, now: datetime) -> bool:
        return self.end is not None and self.end <= now

    def live(self, now: datetime) -> bool:
        return self.start <= now and (self.end is None or self.end > now)


class Dataset:
    """The account. Mutations go through methods that hold `lock`."""

    def __init__(self, config: DatasetConfig | None = None) -> None:
        self.config = config or DatasetConfig()
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.groups: list[dict] = []
        self.group_members: dict[str, list[str]] = {}
        self.definitions: dict[int, Definition] = {}
        self.instances: dict[str, Instance] = {}
        self.instances_by_meeting: dict[int, list[str]] = {}
        self.devices: list[dict] = []
        self.roster: list[str] = []
        # Admin-API changes (mutations.py): their count seeds the ids they make, and the
        # join segments of live instances whose participants have not left yet wait here.
        self.mutations = 0
        self.open_segments: dict[str, list[dict]] = {}
        self._rng = random.Random(f"{self.config.seed}/account")
        self._build()

    # -- building -------------------------------------------------------------------------
    def _build(self) -> None:
        cfg = self.config
        for i in range(cfg.users):
            status = "active"
            if i == cfg.users - 1:
                status = "pending"
            elif i in (cfg.users - 2, cfg.users - 3) or (i > 10 and i % 9 == 0):
                status = "inactive"
            self.add_user(self._new_user(i, status))
        # Who may show up in meetings: fixed at build time, so users added later through the
        # admin API do not reshuffle the participants of meetings that already happened.
        self.roster = [u.id for u in self.users.values() if u.status == "active"]
        self._build_groups()
        hosts = [u for u in self.users.values() if u.status == "active"]
        for n, host in enumerate(hosts):
            rng = random.Random(f"{cfg.seed}/host/{host.id}")
            for k in range(cfg.meetings_per_user):
                self._build_meeting(rng, host, recurring=(k % 2 == 0), index=k)
            for _ in range(rng.randint(1, 2)):
                self._build_single(rng, host, type_=1)  # instant meetings
            if n % 2 == 0:
                self._build_pmi(rng, host)
            if n < cfg.webinar_hosts:
                self._build_meeting(rng, host, recurring=(n % 2 == 0), index=99, kind="webinar")
        self._place_traps(hosts)
        self.devices = [self._device(i) for i in range(cfg.h323_devices)]

    def _new_user(self, i: int, status: str, **overrides: object) -> User:
        cfg = self.config
        rng = random.Random(f"{cfg.seed}/user/{i}")
        first, last = rng.choice(FIRST), rng.choice(LAST)
        uid = ids.user_id(rng)
        created = cfg.anchor - timedelta(days=rng.randint(200, 1500), seconds=rng.randint(0, 86399))
        email = f"{first.lower()}.{ascii_fold(last).lower()}{i}@{cfg.domain}"
        record = {
            "id": uid,
            "email": email,
            "first_name": first,
            "last_name": last,
            "display_name": f"{first} {last}",
            "type": 2 if rng.random() < 0.7 else 1,
            "status": status,
            "role_id": "0" if i == 0 else rng.choice(["1", "2"]),
            "role_name": "",  # set below from role_id
            "pmi": ids.pmi(rng),
            "use_pmi": False,
            "timezone": rng.choice(TIMEZONES),
            "dept": rng.choice(DEPTS),
            "verified": 1 if status != "pending" else 0,
            "language": "en-US",
            "group_ids": [],
            "im_group_ids": [],
            "user_created_at": iso(created),
            "created_at": iso(created),
            "last_login_time": iso(cfg.anchor - timedelta(hours=rng.randint(1, 900))),
            "last_client_version":
                f"6.{rng.randint(0, 3)}.{rng.randint(0, 9)}.{rng.randint(1000, 9999)}(mac)",
            "account_id": cfg.account_id,
            "account_number": 10009876,
            "job_title": rng.choice(["Engineer", "Manager", "Analyst", ""]),
            "location": rng.choice(["Berlin", "Lagos", "Tokyo", "Austin", ""]),
            "phone_number": "",
            "pic_url": "",
            "personal_meeting_url": "",
            "cluster": "us05",
            "login_types": [100],
        }
        record["personal_meeting_url"] = f"https://zoom.us/j/{record['pmi']}"
        if status == "pending":
            record["created_at"] = record["user_created_at"]
            record["last_login_time"] = record["user_created_at"]
        record.update(overrides)
        if "role_name" not in overrides:
            record["role_name"] = ROLE_NAMES.get(record["role_id"], "Member")
        return User(id=uid, record=record)

    def _build_groups(self) -> None:
        rng = random.Random(f"{self.config.seed}/groups")
        members = [u for u in self.users.values() if u.status != "pending"]
        for g in range(self.config.groups):
            gid = ids.user_id(rng)
            name = ["Engineering", "Sales", "Executives", "Support", "Interns"][g % 5]
            chosen = [u.id for u in members if rng.random() < 0.5] or [members[0].id]
            self.groups.append({"id": gid, "name": name if g < 5 else f"{name} {g}"})
            self.group_members[gid] = chosen
            for uid in chosen:
                self.users[uid].record["group_ids"].append(gid)

    def _build_meeting(
        self, rng: random.Random, host: User, *, recurring: bool, index: int, kind: str = "meeting"
    ) -> None:
        cfg = self.config
        mid = self._unique_id(rng)
        created = cfg.anchor - timedelta(days=cfg.months * 30 + rng.randint(1, 20))
        topic = f"{rng.choice(TOPICS)} {index + 1}"
        if kind == "webinar":
            topic = f"Webinar: {rng.choice(['Product launch', 'Town hall', 'Office hours'])}"
        if not recurring:
            # One-off meetings that happened are only found through the 6-month reports
            # (their list hides them once expired), so keep them inside that window.
            offset = timedelta(days=rng.uniform(-min(cfg.months * 30, 170), 25))
            start = round_minutes(cfg.anchor + offset)
            type_ = 2 if kind == "meeting" else 5
            d = self._definition(rng, mid, kind, type_, host, topic, created, start)
            if start + timedelta(minutes=d.duration) < cfg.anchor:
                self._add_instance(rng, d, start)
            return
        period = timedelta(days=7 if rng.random() < 0.7 else 1 if kind == "meeting" else 14)
        if period == timedelta(days=1):
            first = cfg.anchor - timedelta(days=rng.randint(20, 60))
        else:
            first = cfg.anchor - timedelta(days=cfg.months * 30 - rng.randint(0, 10))
        first = round_minutes(first.replace(hour=rng.choice([8, 13, 15, 17])))
        type_ = 8 if kind == "meeting" else 9
        d = self._definition(rng, mid, kind, type_, host, topic, created, first)
        d.recurrence = {"type": 2 if period.days == 7 else 1, "repeat_interval": 1}
        if period.days == 7:
            d.recurrence["weekly_days"] = str((first.isoweekday() % 7) + 1)
        if period.days == 14:
            d.recurrence = {"type": 2, "repeat_interval": 2,
                            "weekly_days": str((first.isoweekday() % 7) + 1)}
        when = first
        while when < cfg.anchor + timedelta(days=60):
            if when + timedelta(minutes=d.duration) < cfg.anchor:
                if rng.random() < 0.9:  # some occurrences nobody joined: no instance
                    self._add_instance(rng, d, when + timedelta(minutes=rng.randint(-2, 6)))
            else:
                d.occurrences.append(when)
            when += period

    def _build_single(self, rng: random.Random, host: User, *, type_: int) -> Definition:
        cfg = self.config
        start = round_minutes(cfg.anchor - timedelta(days=rng.uniform(1, 170)))
        d = self._definition(rng, self._unique_id(rng), "meeting", type_, host,
                             "Instant meeting" if type_ == 1 else rng.choice(TOPICS), start, start)
        self._add_instance(rng, d, start)
        return d

    def _build_pmi(self, rng: random.Random, host: User) -> None:
        cfg = self.config
        pmi_id = host.record["pmi"]
        created = cfg.anchor - timedelta(days=400)
        topic = f"{host.record['display_name']}'s Personal Meeting Room"
        d = self._definition(rng, pmi_id, "meeting", 4, host, topic, created, None)
        for _ in range(rng.randint(2, 6)):
            start = round_minutes(cfg.anchor - timedelta(days=rng.uniform(2, cfg.months * 30)))
            self._add_instance(rng, d, start)

    def _definition(
        self, rng: random.Random, mid: int, kind: str, type_: int, host: User, topic: str,
        created: datetime, start: datetime | None,
    ) -> Definition:
        d = Definition(
            id=mid, kind=kind, type=type_, host_id=host.id, topic=topic, created_at=created,
            start=start, duration=rng.choice([15, 30, 30, 45, 60, 90]),
            timezone=host.record["timezone"], uuid=ids.meeting_uuid(rng),
            # Instant meetings take no registration; webinars nearly always run polls.
            registration=(kind == "webinar" or rng.random() < 0.25) and type_ != 1,
            polls=rng.choice([0, 0, 1, 2]) or int(kind == "webinar"),
            agenda=rng.choice(["", "Agenda: status, risks, next steps"]),
            seed=rng.randrange(1 << 30),
        )
        self.definitions[mid] = d
        self.instances_by_meeting.setdefault(mid, [])
        return d

    def _add_instance(
        self, rng: random.Random, d: Definition, start: datetime, *, people: int | None = None,
        uuid: str | None = None,
    ) -> Instance:
        if people is None:
            people = max(1, int(rng.expovariate(1 / self.config.participants_mean)) + 1)
            if rng.random() < 0.08:
                people = 1  # one-person meetings: reports leave them out
        length = timedelta(minutes=max(5, d.duration + rng.randint(-10, 20)))
        inst = Instance(
            uuid=uuid or ids.meeting_uuid(rng), meeting_id=d.id, kind=d.kind, type=d.type,
            host_id=d.host_id, topic=d.topic, start=start,
            end=start + length, people=people,
            has_recording=rng.random() < 0.3, has_polls=d.polls > 0 and people > 1,
            has_qa=(d.kind == "webinar" or rng.random() < 0.2) and people > 1,
            seed=rng.randrange(1 << 30),
        )
        self.instances[inst.uuid] = inst
        self.instances_by_meeting.setdefault(d.id, []).append(inst.uuid)
        return inst

    def _place_traps(self, hosts: list[User]) -> None:
        cfg = self.config
        rng = random.Random(f"{cfg.seed}/traps")
        recurring = [d for d in self.definitions.values() if d.type == 8]
        target = recurring[0] if recurring else next(iter(self.definitions.values()))
        base = cfg.anchor - timedelta(days=3, hours=2)
        self._add_instance(rng, target, base, uuid=ids.meeting_uuid(rng, "slash"))
        self._add_instance(rng, target, base - timedelta(days=1),
                           uuid=ids.meeting_uuid(rng, "double"))
        # Two UUIDs equal but for case: a warehouse that folds case merges them.
        twin = ids.meeting_uuid(rng)
        while twin.swapcase() == twin:
            twin = ids.meeting_uuid(rng)
        self._add_instance(rng, target, base - timedelta(days=2), uuid=twin, people=3)
        self._add_instance(rng, target, base - timedelta(days=2, hours=3), uuid=twin.swapcase(),
                           people=3)
        for k in range(cfg.large_meetings):
            d = self._build_single(rng, hosts[k % len(hosts)], type_=2)
            d.topic = inst_topic = f"Company all hands {k + 1}"
            for uuid in self.instances_by_meeting[d.id]:
                self.instances[uuid].people = cfg.large_size
                self.instances[uuid].topic = inst_topic
        # Still in progress at the anchor: its report and participants answer 3001.
        live = self._add_instance(rng, target, cfg.anchor - timedelta(minutes=15), people=4)
        live.end = cfg.anchor + timedelta(minutes=45)

    def _device(self, i: int) -> dict:
        rng = random.Random(f"{self.config.seed}/device/{i}")
        return {"id": ids.opaque(rng, 22), "name": f"Room {100 + i}",
                "protocol": rng.choice(["H.323", "SIP"]), "ip": f"10.0.{i // 250}.{i % 250 + 1}",
                "encryption": rng.choice(["auto", "yes", "no"])}

    def _unique_id(self, rng: random.Random) -> int:
        while True:
            mid = ids.meeting_id(rng)
            if mid not in self.definitions:
                return mid

    # -- queries --------------------------------------------------------------------------
    def add_user(self, user: User) -> None:
        with self.lock:
            self.users[user.id] = user

    def find_user(self, key: str) -> User | None:
        """A user by id or email (Zoom accepts both in `{userId}`)."""
        user = self.users.get(key)
        if user is None and "@" in key:
            user = next((u for u in self.users.values() if u.email.lower() == key.lower()), None)
        return None if user is None or user.deleted else user

    def live_users(self) -> list[User]:
        return [u for u in self.users.values() if not u.deleted]

    def instances_of(self, meeting_id: int) -> list[Instance]:
        return [self.instances[u] for u in self.instances_by_meeting.get(meeting_id, [])]

    def ended_instances(self, now: datetime) -> Iterator[Instance]:
        for inst in list(self.instances.values()):
            if inst.ended(now):
                yield inst

    def latest_instance(self, meeting_id: int, now: datetime) -> Instance | None:
        ended = [i for i in self.instances_of(meeting_id) if i.ended(now)]
        return max(ended, key=lambda i: i.start) if ended else None


def round_minutes(dt: datetime) -> datetime:
    return dt.replace(second=0, microsecond=0)


def ascii_fold(text: str) -> str:
    table = str.maketrans("üéáíóñçà'", "ueaionca_")
    return text.translate(table).replace("_", "")
