"""Build the shipped sample pipeline, templates/sample/{opportunities,reps,history}.csv.

A believable Chinese B2B pipeline (big-project methodology) that exercises every figure of the
workbook at the report date 2026-11-20. Run ``python tools/make_sample.py``; the output is the same
on every run (fixed random seed), and a test checks the shipped files match it byte for byte.

Each deal is written down as a ``Spec``: the deals that show something on purpose (a won deal never
seen in the funnel, a stage gap, a slip ...) by hand, the rest ("filler") per rep with random details.
From a spec comes a timeline of dated events; the opportunities table is the timeline's state at the
report date and every weekly snapshot is its state on that Friday, so history and table agree.
The words (names, customers, notes) live in tools/sample_vocabulary.toml, not in this code.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from funnel_xl.domain.schema import OPPORTUNITY_COLUMNS, REP_COLUMNS, SNAPSHOT_COLUMNS, checklist_column
from funnel_xl.domain.stages import derive_stage_from_answers
from funnel_xl.methodologies import load_methodology as methodology_object
from funnel_xl.paths import methodologies_dir, sample_dir

AS_OF = dt.date(2026, 11, 20)                    # the report date, a Friday
FIRST_SNAPSHOT = dt.date(2026, 7, 3)             # weekly snapshots every Friday from here ...
LAST_SNAPSHOT = AS_OF - dt.timedelta(days=7)     # ... to the week before the report date
SEED = 20261120
VOCABULARY = Path(__file__).with_name("sample_vocabulary.toml")
METHODOLOGY_KEY = "big_project"

# Expected close, in month-ends after the report month, that a rep would put on a deal at each stage.
# Month-ends sit well clear of the time buckets' boundaries (the 20th of a month, 3/6/9/12 months out).
CLOSE_MONTHS = {
    "target": (10, 16), "potential": (5, 14), "intent": (3, 10), "approved": (2, 8),
    "recognition": (1, 5), "negotiation": (0, 3), "closed": (0, 1),
}
AMOUNT_RANGE = {"large": (1_500_000, 8_000_000), "medium": (500_000, 3_000_000), "small": (200_000, 800_000)}
COMMIT_STAGES = ("negotiation", "closed")  # win rate >= 75 %: "committed" when closing this quarter


@dataclass
class Spec:
    """One deal as written down: what it is today and the few changes it went through.

    ``entered`` is the date the highest stage reached before today's state was entered (for an open
    deal: its current stage, unless it moved back). Left out, dates and details are drawn at random.
    """

    tag: str
    rep: str | None
    stage: str
    status: str = "open"
    customer: str | None = None
    product: str | None = None
    amount: int | None = None
    close_months: int | None = None
    close: dt.date | None = None
    entered: dt.date | None = None
    created: dt.date | None = None
    start: str | None = None              # the stage the deal was entered at (default: potential)
    outcome_on: dt.date | None = None     # won or lost on
    moved_back_from: str | None = None
    moved_back_on: dt.date | None = None
    slipped_from: dt.date | None = None
    slipped_on: dt.date | None = None
    amount_before: int | None = None
    amount_changed_on: dt.date | None = None
    removed_on: dt.date | None = None
    unmet: tuple[str, ...] = ()           # criteria deliberately not met: a claimed-vs-derived stage gap
    competitors: tuple[str, ...] = ()
    note: str | None = None
    project: int | None = None            # which of the product's project names (default: drawn)


def d(year: int, month: int, day: int) -> dt.date:
    return dt.date(year, month, day)


SPECIAL: tuple[Spec, ...] = (
    # A big deal signed without ever appearing in the funnel (签了大单但从未在漏斗上出现过).
    Spec("surprise_win", "li_qiang", "closed", "won", "bf_power", "group_control", 6_800_000,
         created=d(2026, 11, 16), start="negotiation", entered=d(2026, 11, 16), outcome_on=d(2026, 11, 19),
         competitors=("sap",), note="surprise_win"),
    # This week's movement, one deal per kind.
    Spec("won_this_week", "wang_fang", "closed", "won", "nf_grid", "finance_cloud", 2_350_000,
         entered=d(2026, 10, 23), outcome_on=d(2026, 11, 18), note="won_this_week"),
    Spec("lost_this_week", "liu_yang", "recognition", "lost", "cj_auto", "erp", 4_200_000,
         entered=d(2026, 10, 9), outcome_on=d(2026, 11, 16), competitors=("kingdee", "sap"),
         note="lost_this_week"),
    Spec("moved_back_this_week", "chen_jing", "intent", customer="jc_steel", product="supply_chain",
         amount=1_600_000, close_months=5, moved_back_from="approved", entered=d(2026, 10, 16),
         moved_back_on=d(2026, 11, 17), note="moved_back_this_week"),
    Spec("slipped_this_week", "li_qiang", "negotiation", customer="jg_steel", product="erp", amount=3_600_000,
         close=d(2027, 1, 31), entered=d(2026, 10, 30), slipped_from=d(2026, 11, 30), slipped_on=d(2026, 11, 19),
         note="slipped_this_week"),
    Spec("amount_changed_this_week", "wang_fang", "recognition", customer="qw_securities", product="bi",
         amount=2_600_000, close_months=1, entered=d(2026, 10, 14), amount_before=3_200_000,
         amount_changed_on=d(2026, 11, 18), note="amount_changed_this_week"),
    Spec("advanced_this_week", "zhang_wei", "approved", customer="xy_securities", product="finance_cloud",
         amount=2_800_000, close_months=5, entered=d(2026, 11, 18), note="advanced_this_week"),
    Spec("new_this_week", "zhou_lei", "target", customer="fh_coal", product="erp", amount=1_500_000,
         close_months=14, created=d(2026, 11, 18), start="target", entered=d(2026, 11, 18), note="new_this_week"),
    Spec("removed_this_week", "yang_fan", "potential", customer="jn_heavy", product="erp", amount=1_200_000,
         close_months=8, created=d(2026, 10, 20), entered=d(2026, 10, 20), removed_on=d(2026, 11, 17),
         project=0, note="removed_duplicate"),
    # Earlier in history: a deal moved back and one removed.
    Spec("moved_back_earlier", "zhang_wei", "approved", customer="hk_pharma", product="hr", amount=2_200_000,
         close_months=4, moved_back_from="recognition", entered=d(2026, 9, 4), moved_back_on=d(2026, 10, 9),
         note="moved_back_earlier"),
    Spec("removed_earlier", "zhao_min", "potential", customer="ny_shipping", product="bi", amount=500_000,
         close_months=9, created=d(2026, 9, 14), entered=d(2026, 9, 14), removed_on=d(2026, 10, 5),
         note="removed_not_real"),
    # The rep in training researches target customers.
    Spec("trainee_target", "zhou_lei", "target", customer="hx_securities", product="hr", amount=600_000,
         close_months=13, created=d(2026, 11, 5), start="target", entered=d(2026, 11, 5)),
    Spec("trainee_potential", "zhou_lei", "potential", customer="dl_machinery", product="supply_chain",
         amount=400_000, close_months=10, created=d(2026, 11, 6), start="target", entered=d(2026, 11, 12)),
    # The checklist supports a lower stage than the rep claims ("the rep says 80 %, the boss says 20 %").
    Spec("gap_negotiation", "zhang_wei", "negotiation", customer="hd_precision", product="erp", amount=5_600_000,
         close_months=1, entered=d(2026, 11, 3), unmet=("recognition_initial_quote", "negotiation_timetable"),
         competitors=("sap", "oracle"), note="gap_negotiation"),
    Spec("gap_recognition", "yang_fan", "recognition", customer="gt_logistics", product="supply_chain",
         amount=1_800_000, close_months=3, entered=d(2026, 11, 2), unmet=("approved_budget",),
         note="gap_recognition"),
    Spec("gap_approved", "liu_yang", "approved", customer="tf_bank", product="finance_cloud", amount=3_000_000,
         close_months=6, entered=d(2026, 10, 20), unmet=("intent_accepts_buying",), note="gap_approved"),
    Spec("gap_closed", "chen_jing", "closed", customer="sx_heavy", product="group_control", amount=2_400_000,
         close=d(2026, 11, 30), entered=d(2026, 11, 10),
         unmet=("closed_payment_received", "closed_shipped"), note="gap_closed"),
    # Stalled deals (days in stage) and deals past their expected close.
    Spec("stalled_overdue", "li_qiang", "approved", customer="bj_telecom", product="bi", amount=1_300_000,
         close=d(2026, 10, 31), entered=d(2026, 3, 20), note="stalled"),
    Spec("stalled", "wang_fang", "intent", customer="gd_tobacco", product="hr", amount=900_000,
         close_months=4, entered=d(2026, 5, 8), note="stalled"),
    Spec("stalled", "zhang_wei", "recognition", customer="ql_chemical", product="group_control",
         amount=4_500_000, close_months=2, entered=d(2026, 6, 12), note="stalled"),
    Spec("overdue", "li_qiang", "negotiation", customer="jk_pharma", product="erp", amount=1_100_000,
         close=d(2026, 10, 31), entered=d(2026, 9, 25), note="overdue"),
    Spec("overdue", "zhang_wei", "recognition", customer="dh_insurance", product="bi", amount=700_000,
         close=d(2026, 11, 15), entered=d(2026, 9, 18), note="overdue"),
    # The rep at 3-6 months has made a first sale above the roadmap's 350,000.
    Spec("first_sale", "yang_fan", "closed", "won", "hc_auto_parts", "hr", 380_000, created=d(2026, 7, 8),
         entered=d(2026, 9, 25), outcome_on=d(2026, 10, 23), note="first_sale"),
    # The original of the duplicate removed this week.
    Spec("filler", "yang_fan", "potential", customer="jn_heavy", product="erp", amount=1_200_000,
         close_months=8, created=d(2026, 10, 8), entered=d(2026, 10, 8), project=0),
    # Two rows with mistakes for the data-issues sheet; both are warnings, so the deals count (and were snapshotted).
    Spec("bad_no_rep", None, "potential", customer="xy_electronics", product="bi", amount=450_000,
         close_months=8, created=d(2026, 11, 10), entered=d(2026, 11, 10), note="unassigned_lead"),
    Spec("bad_close_before_created", "wang_fang", "intent", customer="ha_life", product="hr", amount=1_000_000,
         close=d(2026, 1, 31), created=d(2026, 10, 12), entered=d(2026, 10, 26)),
)

# The rest of each rep's pipeline: open deals by stage, and how many were won and lost in the history window.
FILLER: dict[str, dict] = {
    "zhang_wei": {"open": ("potential", "potential", "intent", "approved", "recognition", "negotiation"),
                  "won": 2, "lost": 1},
    "wang_fang": {"open": ("potential", "potential", "potential", "approved", "negotiation"), "won": 1, "lost": 1},
    "li_qiang": {"open": ("potential", "potential", "approved", "recognition"), "won": 1, "lost": 1},
    "liu_yang": {"open": ("potential", "potential", "intent", "recognition"), "won": 1, "lost": 1},
    "chen_jing": {"open": ("potential", "intent", "intent", "approved"), "won": 1, "lost": 0},
    "yang_fan": {"open": ("potential", "intent"), "won": 0, "lost": 1},
    "zhao_min": {"open": ("target", "potential", "potential", "intent"), "won": 0, "lost": 0},
    "zhou_lei": {"open": (), "won": 0, "lost": 0},
}


@dataclass
class Deal:
    """A deal's fixed details and its dated events; ``state_at`` replays them to any date."""

    spec: Spec
    rep: dict | None
    customer: dict
    region: str
    product: str
    project: str
    project_manager: str | None
    created: dt.date
    stages: list[tuple[dt.date, str]]
    amounts: list[tuple[dt.date, int]]
    closes: list[tuple[dt.date, dt.date]]
    outcome: tuple[dt.date, str] | None
    checklist: dict[str, bool | None] = field(default_factory=dict)
    category: str | None = None
    priority: str | None = None
    new_customer: bool | None = None
    competitors: str | None = None
    note: str | None = None
    id: str = ""

    def exists_on(self, day: dt.date) -> bool:
        removed = self.spec.removed_on
        return self.created <= day and (removed is None or day < removed)

    def state_at(self, day: dt.date) -> dict:
        """Stage, stage-entered date, amount, close date and status as they stood at the end of ``day``."""
        entered, stage = [e for e in self.stages if e[0] <= day][-1]
        amount = [a for when, a in self.amounts if when <= day][-1]
        close = [c for when, c in self.closes if when <= day][-1]
        status = self.outcome[1] if self.outcome and self.outcome[0] <= day else "open"
        return {"stage": stage, "stage_entered_date": entered, "amount": amount, "close_date": close,
                "status": status}


def month_end(months_after_report: int) -> dt.date:
    """The last day of the month ``months_after_report`` months after the report month."""
    index = AS_OF.year * 12 + AS_OF.month - 1 + months_after_report + 1
    first_of_next = dt.date(index // 12, index % 12 + 1, 1)
    return first_of_next - dt.timedelta(days=1)


def month_end_of(day: dt.date) -> dt.date:
    return month_end((day.year - AS_OF.year) * 12 + day.month - AS_OF.month)


def snapshot_dates() -> list[dt.date]:
    days = (LAST_SNAPSHOT - FIRST_SNAPSHOT).days
    return [FIRST_SNAPSHOT + dt.timedelta(days=n) for n in range(0, days + 1, 7)]


def load_methodology() -> dict:
    with (methodologies_dir() / f"{METHODOLOGY_KEY}.toml").open("rb") as fh:
        return tomllib.load(fh)


def load_vocabulary() -> dict:
    with VOCABULARY.open("rb") as fh:
        return tomllib.load(fh)


class Builder:
    """Turns specs into deals, drawing every random detail from one seeded generator in a fixed order."""

    def __init__(self, vocabulary: dict, methodology: dict) -> None:
        self.vocab = vocabulary
        self.rng = random.Random(SEED)
        self.stage_keys = [s["key"] for s in methodology["stages"]]
        self.stages = methodology["stages"]
        self.reps = {r["key"]: r for r in vocabulary["reps"]}
        self.customers = {c["key"]: c for c in vocabulary["customers"]}
        self.new_customer = {key: self.rng.random() < 0.6 for key in self.customers}
        self.used_pairs: set[tuple[str, str]] = set()

    # ------------------------------------------------------------------ specs

    def filler_specs(self) -> list[Spec]:
        """Random filler deals per rep: customer, product, amount and dates drawn from the rep's region."""
        specs = []
        for rep_key, plan in FILLER.items():
            for stage in plan["open"]:
                specs.append(self._filler(rep_key, stage, "open"))
            for _ in range(plan["won"]):
                specs.append(self._filler(rep_key, "closed", "won"))
            for _ in range(plan["lost"]):
                stage = self.rng.choice(("intent", "approved", "recognition", "negotiation"))
                specs.append(self._filler(rep_key, stage, "lost"))
        return specs

    def _filler(self, rep_key: str, stage: str, status: str) -> Spec:
        rng = self.rng
        region = self.reps[rep_key]["region"]
        pool = [c for c in self.customers.values() if c["region"] == region]
        while True:
            customer = rng.choice(pool)
            product = rng.choice(sorted(self.vocab["products"]))
            if (customer["key"], product) not in self.used_pairs:
                break
        self.used_pairs.add((customer["key"], product))
        spec = Spec("filler", rep_key, stage, status, customer["key"], product, self._amount(customer["size"]))
        peak = "negotiation" if status == "won" else stage
        # A junior rep's deal climbed its stages after the hire date: about 12 days a stage at the least.
        ready = self.reps[rep_key]["hire_date"] + dt.timedelta(days=5 + 12 * self.stage_keys.index(peak))
        if status != "open":
            first = max(FIRST_SNAPSHOT + dt.timedelta(days=7), ready + dt.timedelta(days=14))
            spec.outcome_on = first + dt.timedelta(days=rng.randint(0, (LAST_SNAPSHOT - first).days - 1))
            spec.entered = spec.outcome_on - dt.timedelta(days=rng.randint(14, min(60, (spec.outcome_on - ready).days)))
            return spec
        spec.entered = AS_OF - dt.timedelta(days=rng.randint(3, max(3, min(100, (AS_OF - ready).days))))
        spec.close_months = rng.randint(*CLOSE_MONTHS[stage])
        days_since = (AS_OF - spec.entered).days
        # Some deals slipped a month or two once (never from a date before they were created) ...
        if spec.close_months >= 2 and rng.random() < 0.25:
            spec.slipped_from = month_end(spec.close_months - rng.randint(1, 2))
            spec.slipped_on = spec.entered + dt.timedelta(days=rng.randint(1, days_since))
        # ... and some had their amount revised.
        if rng.random() < 0.3:
            spec.amount_before = int(round(spec.amount * rng.choice((0.8, 0.9, 1.15, 1.25)), -4))
            spec.amount_changed_on = spec.entered + dt.timedelta(days=rng.randint(1, days_since))
        return spec

    # ------------------------------------------------------------------ deals

    def deal(self, spec: Spec) -> Deal:
        rng = self.rng
        rep = self.reps[spec.rep] if spec.rep else None
        customer = self.customers[spec.customer]
        product = self.vocab["products"][spec.product]
        drawn = rng.choice(product["projects"])  # drawn even when fixed, to keep the random sequence
        project = customer["short"] + (drawn if spec.project is None else product["projects"][spec.project])
        amount = spec.amount

        peak = spec.moved_back_from or ("negotiation" if spec.status == "won" else spec.stage)
        path = self.stage_keys[self.stage_keys.index(spec.start or ("target" if peak == "target" else "potential")):
                               self.stage_keys.index(peak) + 1]
        entries = self._stage_dates(spec, rep, len(path))
        stages = list(zip(entries, path))
        if spec.moved_back_from:
            stages.append((spec.moved_back_on, spec.stage))
        if spec.status == "won":
            stages.append((spec.outcome_on, "closed"))
        created = entries[0]

        position = self.stage_keys.index(spec.stage)
        if spec.close:
            close = spec.close
        elif spec.status == "open":
            close = month_end(spec.close_months)
        else:
            close = month_end_of(spec.outcome_on)
        closes = [(created, spec.slipped_from or close)]
        if spec.slipped_from:
            closes.append((spec.slipped_on, close))
        amounts = [(created, spec.amount_before or amount)]
        if spec.amount_before:
            amounts.append((spec.amount_changed_on, amount))
        outcome = None
        if spec.status != "open":
            outcome = (spec.outcome_on, spec.status)
            closes.append((spec.outcome_on, spec.outcome_on))

        region = rep["region"] if rep else customer["region"]
        managers = self.vocab["project_managers"][region]
        project_manager = rng.choice(managers) if position >= self.stage_keys.index("approved") else None

        deal = Deal(spec, rep, customer, self.vocab["regions"][region], product["name"], project, project_manager,
                    created, stages, amounts, closes, outcome)
        deal.checklist = self._checklist(spec, len(self.stage_keys) - 1 if spec.status == "won" else position)
        deal.competitors = self._competitors(spec, deal.checklist)
        deal.new_customer = self.new_customer[spec.customer]
        deal.note = self.vocab["notes"][spec.note] if spec.note else None
        state = deal.state_at(AS_OF)
        deal.category = self._category(spec, state)
        deal.priority = self._priority(spec, customer["size"], position)
        return deal

    def _amount(self, size: str) -> int:
        low, high = AMOUNT_RANGE[size]
        return int(round(self.rng.uniform(low, high), -4))

    def _stage_dates(self, spec: Spec, rep: dict | None, n: int) -> list[dt.date]:
        """Entry dates of the stages on the way up, the last being ``spec.entered``; after the rep's hire."""
        peak_date = spec.entered
        earliest = rep["hire_date"] + dt.timedelta(days=5) if rep else dt.date.min
        if spec.created:
            start = spec.created
        else:
            gaps = [self.rng.randint(10, 45) for _ in range(n - 1)]
            start = peak_date - dt.timedelta(days=sum(gaps))
            if start >= earliest:
                return self._accumulate(start, gaps)
            start = earliest + dt.timedelta(days=self.rng.randint(0, 10))
        if n == 1:
            return [start]
        step = (peak_date - start).days / (n - 1)
        if step < 1:
            raise ValueError(f"{spec.tag} for {spec.rep}: {n} stages do not fit between {start} and {peak_date}")
        return [start + dt.timedelta(days=round(step * i)) for i in range(n)]

    @staticmethod
    def _accumulate(start: dt.date, gaps: list[int]) -> list[dt.date]:
        dates = [start]
        for gap in gaps:
            dates.append(dates[-1] + dt.timedelta(days=gap))
        return dates

    def _checklist(self, spec: Spec, position: int) -> dict[str, bool | None]:
        """Evidence that supports exactly the claimed stage: every required criterion up to it met,
        some of the next stage's (not for a lost deal, nor a signed contract before it is won), nothing
        known beyond; then the spec's deliberate gaps."""
        rng = self.rng
        out: dict[str, bool | None] = {}
        for i, stage in enumerate(self.stages):
            criteria = stage.get("criteria", [])
            if i <= position:
                for c in criteria:
                    out[c["key"]] = True if c.get("required", True) else rng.choices((True, False, None), (7, 2, 1))[0]
            elif i == position + 1 and spec.status == "open" and stage["key"] != "closed":
                for c in criteria:
                    out[c["key"]] = rng.choices((True, False, None), (4, 4, 2))[0]
                required = [c["key"] for c in criteria if c.get("required", True)]
                if all(out[k] for k in required):
                    out[rng.choice(required)] = False
            else:
                for c in criteria:
                    out[c["key"]] = None
        for key in spec.unmet:
            if key not in out:
                raise KeyError(f"{spec.tag}: criterion {key!r} is not in the methodology")
            out[key] = False
        return out

    def _competitors(self, spec: Spec, checklist: dict) -> str | None:
        names = self.vocab["competitors"]
        if spec.competitors:
            return self.vocab["list_separator"].join(names[k] for k in spec.competitors)
        if not checklist.get("potential_competitors"):
            return None
        keys = self.rng.sample(sorted(names), self.rng.randint(1, 2))
        return self.vocab["list_separator"].join(names[k] for k in keys)

    def _category(self, spec: Spec, state: dict) -> str | None:
        """The rep's forecast category, set by the report's rule (quarter of close, win rate); some left blank."""
        if state["status"] == "won":
            return "closed"
        if state["status"] == "lost":
            return None
        if self.rng.random() < 0.25:
            return None  # left for the tool to derive
        close = state["close_date"]
        quarter = (close.year - AS_OF.year) * 4 + (close.month - 1) // 3 - (AS_OF.month - 1) // 3
        if quarter == 0:
            return "commit" if state["stage"] in COMMIT_STAGES else "likely_this_quarter"
        return "likely_next_quarter" if quarter == 1 else "intent"

    def _priority(self, spec: Spec, size: str, position: int) -> str | None:
        """Customer priority from size and buying intent (stage); some left blank for the tool to derive."""
        if spec.status == "open" and self.rng.random() < 0.15:
            return None
        if size == "small" or position == 0:
            return "low"
        if size == "large" and position >= self.stage_keys.index("intent"):
            return "high"
        return "medium"


# ---------------------------------------------------------------------------------------- tables

def build_deals() -> tuple[list[Deal], dict]:
    """Every deal of the sample (removed ones included), with ids in order of creation."""
    vocabulary, methodology = load_vocabulary(), load_methodology()
    builder = Builder(vocabulary, methodology)
    builder.used_pairs.update((spec.customer, spec.product) for spec in SPECIAL)
    specs = list(SPECIAL) + builder.filler_specs()
    deals = [builder.deal(spec) for spec in specs]
    deals.sort(key=lambda deal: deal.created)  # stable: same-day deals keep their spec order
    for number, deal in enumerate(deals, start=1001):
        deal.id = f"OPP-{number}"
    return deals, methodology


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _csv(header: list[str], rows: list[list]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens the Chinese text right; LF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_text(v) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def opportunities_csv(deals: list[Deal], methodology: dict) -> bytes:
    criteria = [c["key"] for s in methodology["stages"] for c in s.get("criteria", [])]
    header = list(OPPORTUNITY_COLUMNS) + [checklist_column(k) for k in criteria]
    rows = []
    for deal in sorted(deals, key=lambda x: x.id):
        if not deal.exists_on(AS_OF):
            continue
        state = deal.state_at(AS_OF)
        values = {
            "id": deal.id, "customer": deal.customer["name"], "project": deal.project,
            "rep": deal.rep["name"] if deal.rep else None, "project_manager": deal.project_manager,
            "region": deal.region, "product": deal.product, "amount": state["amount"],
            "close_date": state["close_date"], "stage": state["stage"], "status": state["status"],
            "created_date": deal.created, "stage_entered_date": state["stage_entered_date"],
            "category": deal.category, "priority": deal.priority, "customer_size": deal.customer["size"],
            "new_customer": deal.new_customer, "competitors": deal.competitors, "notes": deal.note,
            "estimated": None,  # the sample's amounts are the reps' own figures, not estimates
            "close_date_estimated": None,  # and so are its close dates
        }
        rows.append([values[c] for c in OPPORTUNITY_COLUMNS] + [deal.checklist[k] for k in criteria])
    return _csv(header, rows)


def reps_csv(vocabulary: dict) -> bytes:
    rows = []
    for rep in vocabulary["reps"]:
        values = {"rep": rep["name"], "email": rep["email"], "hire_date": rep["hire_date"],
                  "region": vocabulary["regions"][rep["region"]], "annual_quota": rep["annual_quota"],
                  "manager": vocabulary["managers"][rep["region"]]}
        rows.append([values[c] for c in REP_COLUMNS])
    return _csv(list(REP_COLUMNS), rows)


def history_csv(deals: list[Deal], methodology: dict) -> bytes:
    """Each Friday's snapshot as the tool stores it: the stage on the default forecast basis, the assessed stage. A
    deal's deliberately unmet criteria were never met, so its stored stage never rose above what they allow."""
    rates = {s["key"]: s["win_rate"] / 100 for s in methodology["stages"]}
    order = [s["key"] for s in methodology["stages"]]
    parsed = methodology_object(METHODOLOGY_KEY)
    rows = []
    for day in snapshot_dates():
        for deal in sorted(deals, key=lambda x: x.id):
            if not deal.exists_on(day):
                continue
            state = deal.state_at(day)
            stage = state["stage"]
            if deal.spec.unmet:
                stage = min(stage, derive_stage_from_answers(deal.checklist, parsed), key=order.index)
            values = {"snapshot_date": day, "id": deal.id, "rep": deal.rep["name"] if deal.rep else None,
                      "customer": deal.customer["name"], "project": deal.project, "product": deal.product,
                      "region": deal.region, "amount": state["amount"], "close_date": state["close_date"],
                      "stage": stage, "status": state["status"], "win_rate": float(rates[stage])}
            rows.append([values[c] for c in SNAPSHOT_COLUMNS])
    return _csv(list(SNAPSHOT_COLUMNS), rows)


def render() -> dict[str, bytes]:
    """The sample's files by name, as bytes: what ``main`` writes and what the test compares."""
    vocabulary = load_vocabulary()
    deals, methodology = build_deals()
    return {
        "opportunities.csv": opportunities_csv(deals, methodology),
        "reps.csv": reps_csv(vocabulary),
        "history.csv": history_csv(deals, methodology),
    }


def main(argv: list[str] | None = None) -> int:
    out = Path(argv[0]) if argv else sample_dir()
    out.mkdir(parents=True, exist_ok=True)
    for name, data in render().items():
        (out / name).write_bytes(data)
        rows = data.count(b"\n") - 1
        print(f"wrote {out / name} ({rows} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
