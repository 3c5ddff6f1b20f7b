"""A small labelled set for search quality: thoughts, and queries with the thoughts a person
would expect first. About half the queries share words with their answer; the others say the
same thing in other words (only an embedder that knows meaning finds those).

Used by tests/search/test_ranking.py and scripts/bench_search.py.
"""

from __future__ import annotations

THOUGHTS: list[tuple[str, str, str]] = [
    # (key, title, body)
    (
        "tomatoes",
        "Start tomato seedlings indoors",
        "Sow tomato seeds in trays six weeks before the last frost, under a grow light.",
    ),
    (
        "compost",
        "Compost bin by the shed",
        "Turn the compost every two weeks; kitchen scraps and dry leaves in equal parts.",
    ),
    (
        "watering",
        "Drip irrigation for the vegetable beds",
        "A timer on the tap waters the beds at dawn, so the plants never dry out in summer.",
    ),
    (
        "aphids",
        "Aphids on the roses",
        "Spray soapy water or bring in ladybirds to eat the pests on the rose bushes.",
    ),
    (
        "sourdough",
        "Feed the sourdough starter",
        "Flour and water every morning; the starter must double before baking bread.",
    ),
    (
        "curry",
        "Weeknight chickpea curry",
        "Onion, garlic, ginger, canned chickpeas and coconut milk: dinner in thirty minutes.",
    ),
    (
        "knives",
        "Sharpen the kitchen knives",
        "Use the whetstone at a fifteen degree angle, then hone the blade on the steel.",
    ),
    (
        "mealprep",
        "Sunday meal prep",
        "Cook rice and roast vegetables for the week's lunches in one afternoon.",
    ),
    (
        "backups",
        "Nightly database backups",
        "Dump the production database at 2 am, copy it to another region; test a restore monthly.",
    ),
    (
        "oncall",
        "On-call rotation",
        "One engineer carries the pager each week; incidents are handed over on Monday.",
    ),
    (
        "latency",
        "API latency regression",
        "The p95 response time doubled after the release; profile the slow endpoint.",
    ),
    (
        "flaky",
        "Flaky integration tests",
        "Tests that fail at random in CI: quarantine them and fix the race conditions.",
    ),
    (
        "deploys",
        "Blue-green deployments",
        "Switch traffic between two identical environments so a release can roll back at once.",
    ),
    (
        "secrets",
        "Rotate API keys",
        "Credentials older than ninety days are replaced; store them in the vault, never in git.",
    ),
    (
        "lisbon",
        "Trip to Lisbon in May",
        "Book the flights early; stay in Alfama; take the tram up to the castle.",
    ),
    (
        "passport",
        "Renew the passport",
        "It expires in March; the application needs two photos and takes six weeks.",
    ),
    (
        "packing",
        "Packing list for the hiking week",
        "Rain jacket, boots, first-aid kit, water filter and a warm sleeping bag.",
    ),
    (
        "budget",
        "Monthly household budget",
        "Track rent, groceries and utilities in the spreadsheet; save a fifth of each salary.",
    ),
    (
        "taxes",
        "File the tax return",
        "Gather the receipts and the annual income statements before the April deadline.",
    ),
    (
        "pension",
        "Retirement savings plan",
        "Raise the pension contribution by one percent each year; index funds, low fees.",
    ),
    (
        "running",
        "Training for the 10k race",
        "Three runs a week: one long and slow, one with intervals, one easy recovery jog.",
    ),
    (
        "sleep",
        "Better sleep habits",
        "No screens after ten, a dark cool bedroom, and the same wake-up time every day.",
    ),
    (
        "dentist",
        "Dentist appointment",
        "Check-up and cleaning on the 14th at 9:30; ask about the sensitive molar.",
    ),
    (
        "reading",
        "Books to read this year",
        "A novel a month, alternating fiction and history; keep notes in the margins.",
    ),
    (
        "guitar",
        "Learn the guitar",
        "Practise chords for twenty minutes a day; start with G, C and D.",
    ),
    (
        "spanish",
        "Spanish lessons",
        "Conversation class on Thursdays; review the vocabulary flashcards daily.",
    ),
    (
        "birthday",
        "Plan Mia's birthday party",
        "Invite her classmates, order a chocolate cake and rent the bouncy castle.",
    ),
    (
        "moving",
        "Move to the new flat",
        "Hire a van, pack the books first, and transfer the electricity contract.",
    ),
    (
        "bike",
        "Fix the bicycle brakes",
        "The rear brake pads are worn; replace them and adjust the cable tension.",
    ),
    (
        "roof",
        "Leak in the roof",
        "Water comes through above the attic window when it rains; call a roofer.",
    ),
    (
        "solar",
        "Solar panels quote",
        "Three installers quoted; compare the yield per euro and the inverter warranty.",
    ),
    (
        "newsletter",
        "Launch the newsletter",
        "Write the first issue, collect email sign-ups on the website, send monthly.",
    ),
    (
        "pricing",
        "Pricing page experiment",
        "Test an annual plan with two months free against the monthly price.",
    ),
    (
        "interviews",
        "Customer interviews",
        "Talk to five users about how they organise research notes and what frustrates them.",
    ),
    (
        "hiring",
        "Hire a frontend developer",
        "Write the job post, screen portfolios, and plan a paid take-home exercise.",
    ),
    (
        "okrs",
        "Quarterly goals",
        "Set three objectives with measurable key results and review them every month.",
    ),
]

QUERIES: list[tuple[str, set[str]]] = [
    # Shares words (or word forms) with the answer.
    ("tomato seeds", {"tomatoes"}),
    ("compost scraps", {"compost"}),
    ("sourdough bread baking", {"sourdough"}),
    ("chickpea curry recipe", {"curry"}),
    ("database backup restore", {"backups"}),
    ("flaky tests in CI", {"flaky"}),
    ("rotate credentials", {"secrets"}),
    ("passport renewal", {"passport"}),
    ("household budget spreadsheet", {"budget"}),
    ("guitar chords", {"guitar"}),
    ("bicycle brake pads", {"bike"}),
    ("pricing experiment annual plan", {"pricing"}),
    # Says it in other words.
    ("insects eating my flowers", {"aphids"}),
    ("garden hose schedule for plants", {"watering"}),
    ("knife edge maintenance", {"knives"}),
    ("who answers alerts at night", {"oncall"}),
    ("the service got slower after shipping", {"latency"}),
    ("undo a bad release quickly", {"deploys"}),
    ("holiday in Portugal", {"lisbon"}),
    ("what to bring on a trek", {"packing"}),
    ("saving money for old age", {"pension"}),
    ("getting ready for a running competition", {"running"}),
    ("I can't fall asleep", {"sleep"}),
    ("learning a foreign language", {"spanish"}),
    ("kid's party", {"birthday"}),
    ("water dripping from the ceiling", {"roof"}),
    ("renewable energy for the house", {"solar"}),
    ("recruiting an engineer", {"hiring"}),
]


def recall_and_mrr(ranked: dict[str, list[str]], k: int = 3) -> tuple[float, float]:
    """recall@k and mean reciprocal rank of ``ranked`` (query -> keys in ranked order)."""
    found = 0.0
    reciprocal = 0.0
    for query, expected in QUERIES:
        keys = ranked.get(query, [])
        found += len(expected & set(keys[:k])) / len(expected)
        rank = next((i for i, key in enumerate(keys, 1) if key in expected), None)
        reciprocal += 1 / rank if rank else 0.0
    return found / len(QUERIES), reciprocal / len(QUERIES)
