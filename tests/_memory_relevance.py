"""A small labelled relevance set for memory search, and recall@5 over any memory service.

``FACTS`` are what a user told an agent over many sessions; ``filler`` adds the small talk
around them (questions, thanks, the agent's replies, full of common words); ``QUERIES`` are
what an agent searches for, each labelled with the facts that answer it. Queries come in the
two shapes agents send: the user's own question (``PreloadMemoryTool`` searches with it) and
the keywords a model writes for ``load_memory``, with inflected forms, phrases, an exclusion
and mixed-script text.

Run as a script (``python tests/_memory_relevance.py DSN``) it prints recall@5 of adk-pg's
service and of ADK's in-memory and SQLite services, per kind of query.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from google.adk.events.event import Event
from google.adk.memory.base_memory_service import BaseMemoryService
from google.adk.sessions.session import Session
from google.genai import types

APP, USER = "relevance", "user-1"

# (fact id, text): what the user said, one event each.
FACTS: list[tuple[str, str]] = [
    ("dentist", "I booked the dentist for Tuesday at 3pm, Dr. Alvarez on Pine Street."),
    ("allergy", "I have a severe peanut allergy, so never suggest satay or pad thai."),
    ("daughter", "My daughter Mia turns seven on the 14th of March."),
    ("son", "Our son Leo started at Greenfield primary school this autumn."),
    ("car", "My car is a blue 2015 Honda Civic, plate KX15 ZTR."),
    ("flight", "We flew to Lisbon in May and the flight was delayed four hours."),
    ("newyork", "Next month I am going to New York for a conference on databases."),
    ("york", "My grandmother lives in York, near the old city walls."),
    ("swim", "I swim at the municipal pool every Monday and Thursday morning."),
    ("marathon", "I am training for the Berlin marathon; long runs are on Sundays."),
    ("vegetarian", "My wife is vegetarian and does not eat fish either."),
    ("wifi", "The office wifi password is on the sticker under the router."),
    ("bank", "My bank is Northwind Credit Union and I bank with them since 2012."),
    ("budget", "Our monthly grocery budget is 600 euros."),
    ("meeting", "The weekly team meetings moved from Monday to Wednesday at 10."),
    ("manager", "My manager is called Priya Raman and she prefers short emails."),
    ("python", "At work I mostly write Python and some Go for the services."),
    ("ja-python", "私は仕事でPythonを使う"),
    ("ja-tokyo", "来年の春に東京へ引っ越す予定です"),
    ("ru-cat", "Моя кошка Мурка любит спать на подоконнике"),
    ("de-cafe", "Mein Lieblingscafé in Berlin heißt Kaffeeklatsch"),
    ("garden", "I started gardening: tomatoes, basil and two lemon trees."),
    ("piano", "I have played the piano since I was eight; Chopin is my favourite."),
    ("book", "I am reading The Left Hand of Darkness by Ursula K. Le Guin."),
    ("coffee", "I drink my coffee black, no sugar, two cups before noon."),
    ("tea", "In the evening I only drink chamomile tea because coffee keeps me awake."),
    ("insurance", "The home insurance renewal is due on 1 July with Harbor Mutual."),
    ("doctor", "My GP is Dr. Okafor at the Riverside practice."),
    ("blood", "My blood type is O negative."),
    ("passport", "My passport expires in November 2027."),
    ("bike", "I cycled to work every day last summer on my old steel bike."),
    ("cooking", "I cooked a Thai green curry for friends on Saturday, it was too spicy."),
    ("mortgage", "We fixed the mortgage rate at 3.1 percent for five years."),
    ("anniversary", "Our wedding anniversary is on 22 August; we married in Porto."),
    ("dog", "Our dog Biscuit is a beagle and hates thunderstorms."),
    ("landlord", "The landlord, Mr. Haddad, wants the rent by the 5th."),
    ("spanish", "I am studying Spanish on Tuesday evenings at the library."),
    ("gym", "I cancelled my gym membership in January."),
    ("phone", "My phone is a Pixel 8 and the screen cracked last week."),
    ("meds", "I take 10 mg of cetirizine every morning for hay fever."),
    ("holiday", "We are planning a holiday in Crete for the second week of September."),
    ("sister", "My sister Hannah is a nurse in Glasgow."),
]

# (query, kind, the facts that answer it)
QUERIES: list[tuple[str, str, set[str]]] = [
    ("When is my dentist appointment?", "question", {"dentist"}),
    ("What am I allergic to?", "question", {"allergy"}),
    ("allergies", "keywords", {"allergy"}),
    ("How old is my daughter?", "question", {"daughter"}),
    ("What school does my son go to?", "question", {"son"}),
    ("What car do I drive?", "question", {"car"}),
    ("flights delayed", "keywords", {"flight"}),
    ('"New York" trip', "phrase", {"newyork"}),
    ('"New York"', "phrase", {"newyork"}),
    ("Where does my grandmother live?", "question", {"york"}),
    ("swimming schedule", "keywords", {"swim"}),
    ("running training", "keywords", {"marathon"}),
    ("Does my wife eat meat?", "question", {"vegetarian"}),
    ("wifi password", "keywords", {"wifi"}),
    ("Which bank do I use?", "question", {"bank"}),
    ("grocery budget", "keywords", {"budget"}),
    ("When are the team meetings?", "question", {"meeting"}),
    ("Who is my manager?", "question", {"manager"}),
    ("python", "mixed script", {"python", "ja-python"}),
    ("Python 使う", "mixed script", {"ja-python"}),
    ("東京", "mixed script", {"ja-tokyo"}),
    ("КОШКА", "mixed script", {"ru-cat"}),
    ("Lieblingscafé", "mixed script", {"de-cafe"}),
    ("gardens tomato", "keywords", {"garden"}),
    ("What music do I play?", "question", {"piano"}),
    ("What book am I reading?", "question", {"book"}),
    ("How do I take my coffee?", "question", {"coffee"}),
    ("coffee -tea", "exclusion", {"coffee"}),
    ("When is the insurance renewal?", "question", {"insurance"}),
    ("Who is my doctor?", "question", {"doctor"}),
    ("What is my blood type?", "question", {"blood"}),
    ("passport expiry", "keywords", {"passport"}),
    ("cycling to work", "keywords", {"bike"}),
    ("cooking curry", "keywords", {"cooking"}),
    ("mortgage rate", "keywords", {"mortgage"}),
    ("When did we get married?", "question", {"anniversary"}),
    ("What breed is our dog?", "question", {"dog"}),
    ("rent landlord", "keywords", {"landlord"}),
    ("studies Spanish", "keywords", {"spanish"}),
    ("What medication do I take?", "question", {"meds"}),
    ("holidays planned", "keywords", {"holiday"}),
    ("What does my sister do?", "question", {"sister"}),
]

# Small talk around the facts, from both sides, sharing the common words of the questions.
_SMALL_TALK = [
    "What do you remember about me?",
    "Can you tell me what is on my schedule today?",
    "Thanks, that is really helpful!",
    "Is it going to rain this afternoon?",
    "I am not sure what I want for dinner.",
    "What time is it in Tokyo right now?",
    "Please remind me to call my mother.",
    "How do I get to the station from here?",
    "Who won the game last night?",
    "I have a lot of work to do this week.",
    "Do you know a good place for lunch?",
    "My week was long and I am tired.",
    "What is the weather like at the weekend?",
    "Can you help me write an email to my team?",
    "I think I need a new pair of shoes.",
    "When does the shop close on Sunday?",
    "How old is the Eiffel Tower?",
    "Where did I put my keys?",
    "What should I read next?",
    "Remind me what we talked about last time.",
]
_REPLIES = [
    "Sure, I can help with that.",
    "Here is what I found for you.",
    "I do not have that information yet.",
    "Of course! Let me know if there is anything else.",
    "I will remember that for you.",
    "That sounds like a good plan.",
    "You are welcome, have a nice day.",
    "I am not sure, could you tell me more?",
]


def sessions() -> list[Session]:
    """The user's sessions: each fact among small talk, ten events per session, 210 in all."""
    rng = random.Random(13)
    sessions: list[Session] = []
    clock = 1_700_000_000.0
    facts = list(FACTS)
    rng.shuffle(facts)
    for n in range(21):
        events: list[Event] = []
        mine = facts[2 * n : 2 * n + 2]
        slots = sorted(rng.sample(range(0, 10, 2), len(mine)))
        for i in range(10):
            clock += 30.0
            if i % 2:
                text, author, role, event_id = rng.choice(_REPLIES), "agent", "model", None
            elif slots and slots[0] == i:
                slots.pop(0)
                event_id, text = mine.pop(0)
                author, role = "user", "user"
            else:
                text, author, role, event_id = rng.choice(_SMALL_TALK), "user", "user", None
            content = types.Content(role=role, parts=[types.Part(text=text)])
            events.append(
                Event(
                    id=event_id or f"s{n}-e{i}",
                    invocation_id=f"s{n}-i{i // 2}",
                    author=author,
                    timestamp=clock,
                    content=content,
                )
            )
        sessions.append(Session(id=f"s{n}", app_name=APP, user_id=USER, events=events))
    return sessions


async def recall_at_5(service: BaseMemoryService) -> dict[str, float]:
    """Add the sessions to ``service`` and return mean recall@5, overall and per kind."""
    for session in sessions():
        await service.add_session_to_memory(session)
    per_kind: dict[str, list[float]] = defaultdict(list)
    for query, kind, relevant in QUERIES:
        found = await service.search_memory(app_name=APP, user_id=USER, query=query)
        top = {_event_id(m.id, m.custom_metadata) for m in found.memories[:5]}
        score = len(top & relevant) / len(relevant)
        per_kind[kind].append(score)
        per_kind["all"].append(score)
    return {kind: sum(scores) / len(scores) for kind, scores in per_kind.items()}


def _event_id(memory_id: str | None, metadata: dict[str, object]) -> str | None:
    # ADK's SQLite service numbers its memories and names the event in the metadata.
    event_id = metadata.get("event_id")
    return event_id if isinstance(event_id, str) else memory_id


async def _main(dsn: str) -> None:
    from google.adk.memory import InMemoryMemoryService
    from google.adk.memory._sqlite_memory_service import SqliteMemoryService

    from adk_pg.adk import PostgresMemoryService
    from adk_pg.schema.admin import throwaway_database

    async with throwaway_database(dsn) as scratch, PostgresMemoryService(scratch) as ours:
        results = {"adk-pg": await recall_at_5(ours)}
    results["in-memory"] = await recall_at_5(InMemoryMemoryService())
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SqliteMemoryService(Path(tmp) / "memory.db")
        results["sqlite"] = await recall_at_5(sqlite)
        await sqlite.close()
    kinds = ["all", *sorted({kind for _, kind, _ in QUERIES})]
    print(f"recall@5 over {len(QUERIES)} queries, {len(FACTS)} facts among 210 events")
    print(f"{'service':<10}" + "".join(f"{k:>14}" for k in kinds))
    for name, scores in results.items():
        print(f"{name:<10}" + "".join(f"{scores[k]:>14.2f}" for k in kinds))


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
