"""Per-instance data generated on demand: participants, registrants, polls, Q&A, recordings.

Each function draws from a `random.Random` keyed by the seed and the object it describes,
so the rows are the same on every call and nothing here is kept in memory.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from zoomsync.emulator import ids
from zoomsync.emulator.clock import iso
from zoomsync.emulator.dataset import FIRST, LAST, Dataset, Definition, Instance, ascii_fold

COUNTRIES = ["US", "DE", "JP", "NG", "BR", "IN", "GB"]
POLL_QUESTIONS = [
    ("How useful was this session?", ["Very", "Somewhat", "Not at all"]),
    ("Which topic next?", ["Pricing", "Roadmap", "Security"]),
    ("Would you recommend us?", ["Yes", "No"]),
]
QA_QUESTIONS = ["Will the slides be shared?", "Is there a recording?", "When is the GA date?",
                "Does it support SSO?", "How is pricing calculated?"]


def _rng(ds: Dataset, *key: object) -> random.Random:
    return random.Random("/".join(str(k) for k in (ds.config.seed, *key)))


def registrants(ds: Dataset, d: Definition) -> list[dict]:
    """Everyone who registered for a meeting or webinar, every status."""
    if not d.registration:
        return []
    rng = _rng(ds, "registrants", d.id)
    out = []
    for n in range(rng.randint(3, 6 + 2 * ds.config.participants_mean)):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        status = rng.choices(["approved", "pending", "denied"], [85, 10, 5])[0]
        rid = ids.opaque(rng, 22)
        out.append({
            "id": rid,
            "email": f"{first.lower()}.{ascii_fold(last).lower()}.r{n}@guest.example.org",
            "first_name": first,
            "last_name": last,
            "address": "", "city": rng.choice(["Berlin", "Accra", "Osaka", ""]),
            "country": rng.choice(COUNTRIES), "zip": "", "state": "", "phone": "",
            "industry": rng.choice(["Software", "Education", ""]),
            "org": rng.choice(["Acme", "Globex", "Initech", ""]),
            "job_title": rng.choice(["Engineer", "Director", ""]),
            "purchasing_time_frame": "", "role_in_purchase_process": "", "no_of_employees": "",
            "comments": "",
            "custom_questions": [{"title": "How did you hear about us?",
                                  "value": rng.choice(["Newsletter", "Colleague", ""])}],
            "status": status,
            "create_time": iso(d.created_at + timedelta(hours=rng.randint(1, 400))),
            "join_url": f"https://zoom.us/w/{d.id}?tk={rid}",
            "participant_pin_code": rng.randrange(100000, 999999),
        })
    return out


def people(ds: Dataset, inst: Instance) -> list[dict]:
    """The distinct people in an instance: the host, account users, externals and guests."""
    rng = _rng(ds, "people", inst.uuid)
    roster = [ds.users[u] for u in ds.roster if u in ds.users and u != inst.host_id]
    host = ds.users.get(inst.host_id)
    approved = []
    d = ds.definitions.get(inst.meeting_id)
    if d is not None:
        approved = [r for r in registrants(ds, d) if r["status"] == "approved"]
        rng.shuffle(approved)
    out = []
    if host is not None:
        out.append({"id": host.id, "name": host.record["display_name"], "email": host.email,
                    "internal": True, "registrant_id": "", "role": "host"})
    while len(out) < inst.people:
        roll = rng.random()
        if approved and roll < 0.5:
            r = approved.pop()
            out.append({"id": "", "name": f"{r['first_name']} {r['last_name']}",
                        "email": r["email"], "internal": False, "registrant_id": r["id"],
                        "role": "attendee"})
        elif roll < 0.75 and roster:
            u = rng.choice(roster)
            out.append({"id": u.id, "name": u.record["display_name"], "email": u.email,
                        "internal": True, "registrant_id": "", "role": "attendee"})
        elif roll < 0.88:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            out.append({"id": ids.user_id(rng), "name": f"{first} {last}",
                        "email": rng.choice(["", f"{first.lower()}@partner.example.net"]),
                        "internal": False, "registrant_id": "", "role": "attendee"})
        else:  # a guest who was not signed in: blank id and email
            out.append({"id": "", "name": rng.choice(["iPhone", "Guest", "Conference Room",
                                                     f"{rng.choice(FIRST)} (guest)"]),
                        "email": "", "internal": False, "registrant_id": "", "role": "attendee"})
    return out


def participants(ds: Dataset, inst: Instance) -> list[dict]:
    """One row per join segment, as Zoom reports them: a rejoin is a new row and a new `user_id`.

    https://developers.zoom.us/docs/api/meetings/#tag/meetings/GET/past_meetings/{meetingId}/participants
    """
    if inst.people < 2 and not inst.extra_segments:
        return []  # Zoom returns no participants for a one-person meeting
    rng = _rng(ds, "segments", inst.uuid)
    end = inst.end or inst.start + timedelta(hours=1)
    span = max(60, int((end - inst.start).total_seconds()))
    rows: list[dict] = []
    taken: set[str] = set()
    for person in people(ds, inst):
        pid = ids.opaque(rng, 22)
        segments = 1 if person["role"] == "host" else rng.choices([1, 2, 3], [85, 12, 3])[0]
        cursor = 0 if person["role"] == "host" else rng.randint(0, span // 3)
        for s in range(segments):
            if cursor >= span - 10:
                break
            last = s == segments - 1
            length = span - cursor if person["role"] == "host" else rng.randint(
                10, max(11, (span - cursor) if last else (span - cursor) // 2))
            join = inst.start + timedelta(seconds=cursor)
            leave = join + timedelta(seconds=min(length, span - cursor))
            row = _segment(rng, person, pid, join, leave, in_waiting=False)
            while row["user_id"] in taken:  # per-join ids are unique inside a meeting
                row["user_id"] = ids.join_id(rng)
            taken.add(row["user_id"])
            rows.append(row)
            cursor += length + rng.randint(5, 120)
    rows.extend(inst.extra_segments)
    rows.sort(key=lambda r: (r["join_time"], r["user_id"]))
    return rows


def _segment(
    rng: random.Random, person: dict, pid: str, join: datetime, leave: datetime, *, in_waiting: bool
) -> dict:
    return {
        "id": person["id"],
        "participant_user_id": person["id"],
        "user_id": ids.join_id(rng),
        "participant_uuid": pid,
        "name": person["name"],
        "user_email": person["email"],
        "registrant_id": person["registrant_id"],
        "join_time": iso(join),
        "leave_time": iso(leave),
        "duration": int((leave - join).total_seconds()),
        "failover": False,
        "status": "in_waiting_room" if in_waiting else "in_meeting",
        "internal_user": person["internal"],
        "customer_key": "",
        "bo_mtg_id": "",
        "role": person["role"],
    }


def absentees(ds: Dataset, inst: Instance) -> list[dict]:
    """Approved registrants who did not join this instance."""
    d = ds.definitions.get(inst.meeting_id)
    if d is None or not d.registration:
        return []
    came = {p["registrant_id"] for p in participants(ds, inst) if p["registrant_id"]}
    return [r for r in registrants(ds, d) if r["status"] == "approved" and r["id"] not in came]


def poll_definitions(ds: Dataset, d: Definition) -> list[dict]:
    rng = _rng(ds, "polls", d.id)
    polls = []
    for n in range(d.polls):
        question, answers = POLL_QUESTIONS[(d.id + n) % len(POLL_QUESTIONS)]
        polls.append({
            "id": ids.opaque(rng, 22),
            "status": "notstart",
            "anonymous": False,
            "poll_type": 1,
            "title": f"Poll {n + 1}",
            "questions": [{"name": question, "type": "single", "answer_required": False,
                           "answers": answers}],
        })
    return polls


def poll_answers(ds: Dataset, inst: Instance) -> list[dict]:
    """Per respondent, the answers given in one instance (past_meetings/{uuid}/polls shape)."""
    d = ds.definitions.get(inst.meeting_id)
    if not inst.has_polls or d is None:
        return []
    rng = _rng(ds, "poll-answers", inst.uuid)
    polls = poll_definitions(ds, d)
    out = []
    for person in people(ds, inst)[1:]:
        if (person["id"] == "" and person["registrant_id"] == "") or rng.random() < 0.3:
            continue
        details = []
        for poll in polls:
            for q in poll["questions"]:
                answer = rng.choice(q["answers"])  # drawn before the time, as it always was
                answered = inst.start + timedelta(minutes=rng.randint(1, 20))
                details.append({"question": q["name"], "answer": answer,
                                "polling_id": poll["id"], "date_time": iso(answered)})
        out.append({"name": person["name"], "email": person["email"], "question_details": details})
    return out


def qa(ds: Dataset, inst: Instance) -> list[dict]:
    if not inst.has_qa:
        return []
    rng = _rng(ds, "qa", inst.uuid)
    out = []
    for person in people(ds, inst)[1:]:
        if rng.random() < 0.6:
            continue
        question = rng.choice(QA_QUESTIONS)
        answer = rng.choice(["Yes, after the session.", "We'll follow up by email.", ""])
        out.append({"name": person["name"], "email": person["email"],
                     "question_details": [{"question": question, "answer": answer}]})
    return out


def recording(ds: Dataset, inst: Instance) -> dict | None:
    """The cloud recording of an instance with its files, or None."""
    if not inst.has_recording or inst.end is None:
        return None
    rng = _rng(ds, "recording", inst.uuid)
    kinds = [("MP4", "MP4", "shared_screen_with_speaker_view"), ("M4A", "M4A", "audio_only")]
    if rng.random() < 0.6:
        kinds.append(("TRANSCRIPT", "VTT", "audio_transcript"))
    if rng.random() < 0.5:
        kinds.append(("CHAT", "TXT", "chat_file"))
    start = inst.start + timedelta(seconds=rng.randint(5, 90))
    end = inst.end - timedelta(seconds=rng.randint(0, 30))
    files = []
    for file_type, ext, rtype in kinds:
        fid = ids.opaque(rng, 36).replace("_", "-")
        files.append({
            "id": fid, "meeting_id": inst.uuid, "recording_start": iso(start),
            "recording_end": iso(end), "file_type": file_type, "file_extension": ext,
            "file_size": rng.randint(10_000, 500_000_000),
            "play_url": f"https://zoom.us/rec/play/{fid}",
            "download_url": f"https://zoom.us/rec/download/{fid}",
            "status": "completed", "recording_type": rtype,
        })
    return {
        "uuid": inst.uuid, "id": inst.meeting_id, "account_id": ds.config.account_id,
        "host_id": inst.host_id, "topic": inst.topic, "type": str(inst.type),
        "start_time": iso(inst.start),
        "duration": int((inst.end - inst.start).total_seconds() // 60),
        "total_size": sum(f["file_size"] for f in files), "recording_count": len(files),
        "share_url": f"https://zoom.us/rec/share/{ids.opaque(rng, 30)}",
        # From its own stream, so adding it left every other field as it was.
        "recording_play_passcode": ids.opaque(_rng(ds, "passcode", inst.uuid), 32),
        "recording_files": files,
    }


# -- webinars -------------------------------------------------------------------------------
NAME_TAG_TITLES = ["", "Product Manager", "VP Engineering", "Customer Success", "Guest speaker"]
PRONOUNS = ["", "she/her", "he/him", "they/them"]
TRACKING_SOURCES = ["Newsletter", "LinkedIn", "Partner site", "Website banner", "Twitter"]
# Instances start a few minutes off their scheduled time (dataset: -2..+6 minutes); an
# instance further than this from every occurrence belongs to none.
OCCURRENCE_SLACK = timedelta(hours=1)


def panelists(ds: Dataset, d: Definition) -> list[dict]:
    """A webinar's panelists: a few colleagues of the host and outside speakers.

    https://developers.zoom.us/docs/api/meetings/#tag/webinars/GET/webinars/{webinarId}/panelists
    """
    if d.kind != "webinar":
        return []
    rng = _rng(ds, "panelists", d.id)
    colleagues = [ds.users[u] for u in ds.roster if u in ds.users and u != d.host_id]
    out = []
    for n in range(rng.randint(1, 4)):
        if colleagues and rng.random() < 0.5:
            user = colleagues.pop(rng.randrange(len(colleagues)))
            name, email = user.record["display_name"], user.email
        else:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            name = f"{first} {last}"
            email = f"{first.lower()}.{ascii_fold(last).lower()}.p{n}@speakers.example.org"
        out.append({
            "id": ids.opaque(rng, 22),
            "email": email,
            "name": name,
            "join_url": f"https://zoom.us/w/{d.id}?tk={ids.opaque(rng, 43)}",
            "virtual_background_id": "",
            "name_tag_id": "",
            "name_tag_name": name,
            "name_tag_pronouns": rng.choice(PRONOUNS),
            "name_tag_description": rng.choice(NAME_TAG_TITLES),
        })
    return out


def registration_url(ds: Dataset, d: Definition) -> str:
    """The page where people register for a webinar (`WN_` plus an opaque id, as Zoom's are)."""
    return f"https://zoom.us/webinar/register/WN_{ids.opaque(_rng(ds, 'register', d.id), 22)}"


def tracking_sources(ds: Dataset, d: Definition) -> list[dict]:
    """Where a webinar's registration link was shared, with the registrations each brought.

    https://developers.zoom.us/docs/api/meetings/#tag/webinars/GET/webinars/{webinarId}/tracking_sources
    """
    if d.kind != "webinar" or not d.registration:
        return []
    rng = _rng(ds, "tracking", d.id)
    form = registration_url(ds, d)
    names = rng.sample(TRACKING_SOURCES, rng.randint(0, 3))
    sources = [{"id": ids.opaque(rng, 22), "source_name": name} for name in names]
    counts: dict[str, int] = {}
    for source in registrant_sources(ds, d, [s["id"] for s in sources]).values():
        counts[source] = counts.get(source, 0) + 1
    for s in sources:
        s["tracking_url"] = f"{form}?source={s['id']}"
        s["registration_count"] = counts.get(s["id"], 0)
        s["visitor_count"] = s["registration_count"] * 3 + rng.randint(0, 40)
    return sources


def registrant_sources(ds: Dataset, d: Definition, source_ids: list[str] | None = None
                       ) -> dict[str, str]:
    """Registrant id → the tracking source id they registered through (absent: direct)."""
    if source_ids is None:
        source_ids = [s["id"] for s in tracking_sources(ds, d)]
    if not source_ids:
        return {}
    out = {}
    for r in registrants(ds, d):
        rng = _rng(ds, "registrant-source", d.id, r["id"])
        if rng.random() < 0.6:
            out[r["id"]] = rng.choice(source_ids)
    return out


def recurrence_period(d: Definition) -> timedelta | None:
    """The spacing of a recurring definition's occurrences (daily or every n weeks)."""
    if d.recurrence is None or d.start is None:
        return None
    days = {1: 1, 2: 7}.get(d.recurrence["type"])  # monthly ones have no fixed spacing
    if days is None:
        return None
    return timedelta(days=days * d.recurrence.get("repeat_interval", 1))


def occurrence_of(d: Definition, inst: Instance) -> datetime | None:
    """The scheduled occurrence an instance of a recurring meeting or webinar belongs to."""
    period = recurrence_period(d)
    if period is None or d.start is None:
        return None
    slot = d.start + period * round((inst.start - d.start) / period)
    return slot if abs(inst.start - slot) <= OCCURRENCE_SLACK else None


def occurrence_id(when: datetime) -> str:
    """Zoom's occurrence id: the occurrence's start in epoch milliseconds, as a string."""
    return str(int(when.timestamp() * 1000))
