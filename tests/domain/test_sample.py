"""The shipped sample pipeline is internally consistent and gives every figure of the workbook something to show.

Every figure is derived here from the raw columns (dates, stages, checklist), independently of the
domain modules, so the sample is checked against the domain's definitions rather than against itself.
The ids below are the ones templates/sample/README.md documents.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from funnel_xl.domain.schema import (
    OPPORTUNITY_COLUMNS,
    PRIORITIES,
    REP_COLUMNS,
    SNAPSHOT_COLUMNS,
    checklist_column,
)
from funnel_xl.errors import InputError
from funnel_xl.paths import methodologies_dir, sample_dir
from funnel_xl.sample import SAMPLE_AS_OF, Sample, load_sample

AS_OF = pd.Timestamp(SAMPLE_AS_OF)
REPO = Path(__file__).resolve().parents[2]

BAD_NO_REP = "OPP-1062"
BAD_CLOSE_BEFORE_CREATED = "OPP-1054"
BAD_ROWS = {BAD_NO_REP, BAD_CLOSE_BEFORE_CREATED}
SURPRISE_WIN = "OPP-1064"
STAGE_GAPS = {"OPP-1029": "approved", "OPP-1031": "intent", "OPP-1032": "potential", "OPP-1019": "negotiation"}
REMOVED_THIS_WEEK, REMOVED_EARLIER = "OPP-1057", "OPP-1044"
MOVED_BACK_THIS_WEEK, MOVED_BACK_EARLIER = "OPP-1034", "OPP-1016"
THIS_WEEK = {  # one deal per movement kind, documented in the README
    "new": "OPP-1066", "advanced": "OPP-1051", "moved_back": MOVED_BACK_THIS_WEEK, "slipped": "OPP-1023",
    "amount_changed": "OPP-1025", "won": "OPP-1017", "lost": "OPP-1028", "removed": REMOVED_THIS_WEEK,
}
MOVEMENT_KINDS = ("new", "advanced", "moved_back", "slipped", "amount_changed", "won", "lost", "removed")


# ---------------------------------------------------------------------------------------- helpers

@pytest.fixture(scope="module")
def sample() -> Sample:
    return load_sample()


@pytest.fixture(scope="module")
def stages() -> list[dict]:
    """The big-project stages as the TOML file writes them (read directly, not through the domain loader)."""
    with (methodologies_dir() / "big_project.toml").open("rb") as fh:
        return tomllib.load(fh)["stages"]


@pytest.fixture(scope="module")
def valid(sample) -> pd.DataFrame:
    """The opportunities without the two rows with deliberate mistakes, whose rep and dates the checks below would
    trip over (the figures count them, with warnings)."""
    return sample.opportunities[~sample.opportunities["id"].isin(BAD_ROWS)]


def stage_order(stages) -> dict[str, int]:
    return {s["key"]: i for i, s in enumerate(stages)}


def derived_stage(row: pd.Series, stages) -> int:
    """Position of the highest stage whose required criteria, and those of every earlier stage, are all met."""
    derived = -1
    for i, stage in enumerate(stages):
        required = [c["key"] for c in stage.get("criteria", []) if c.get("required", True)]
        if not all(row[checklist_column(k)] is True for k in required):
            break
        derived = i
    return derived


def time_bucket(row: pd.Series) -> str | None:
    """按时间: closed, overdue, or months from the report date to the expected close (boundary → later bucket)."""
    if row["status"] == "won":
        return "closed"
    if row["status"] != "open":
        return None
    if row["close_date"] < AS_OF:
        return "overdue"
    for months, bucket in ((12, "later"), (9, "m9_12"), (6, "m6_9"), (3, "m3_6")):
        if row["close_date"] >= AS_OF + pd.DateOffset(months=months):
            return bucket
    return "m0_3"


def quarter_offset(day: pd.Timestamp) -> int:
    """Calendar quarters from the report date's quarter to ``day``'s (0 = this quarter)."""
    return (day.year - AS_OF.year) * 4 + (day.quarter - AS_OF.quarter)


def category_from_dates(row: pd.Series, rates: dict[str, float]) -> str | None:
    """按销售预测, derived: won → closed; open ones by the close date's quarter, commit at a 75 % win rate."""
    if row["status"] == "won":
        return "closed"
    if row["status"] != "open":
        return None
    offset = quarter_offset(row["close_date"])
    if offset == 0:
        return "commit" if rates[row["stage"]] >= 0.75 else "likely_this_quarter"
    return "likely_next_quarter" if offset == 1 else "intent"


def whole_months(start: pd.Timestamp, end: pd.Timestamp) -> int:
    n = (end.year - start.year) * 12 + end.month - start.month
    return n if start + pd.DateOffset(months=n) <= end else n - 1


def movements(old: pd.DataFrame, new: pd.DataFrame, order: dict[str, int]) -> dict[str, set[str]]:
    """The ids per kind of change between two states of the pipeline (each indexed by id)."""
    both = old.index.intersection(new.index)
    a, b = old.loc[both], new.loc[both]
    still_open = a["status"].eq("open") & b["status"].eq("open")
    pos_a, pos_b = a["stage"].map(order), b["stage"].map(order)
    return {
        "new": set(new.index.difference(old.index)),
        "removed": set(old.index.difference(new.index)),
        "won": set(both[a["status"].eq("open") & b["status"].eq("won")]),
        "lost": set(both[a["status"].eq("open") & b["status"].eq("lost")]),
        "advanced": set(both[still_open & pos_b.gt(pos_a)]),
        "moved_back": set(both[still_open & pos_b.lt(pos_a)]),
        "slipped": set(both[still_open & b["close_date"].gt(a["close_date"])]),
        "amount_changed": set(both[still_open & b["amount"].ne(a["amount"])]),
    }


def snapshots(history: pd.DataFrame) -> list[tuple[pd.Timestamp, pd.DataFrame]]:
    return [(day, frame.set_index("id")) for day, frame in history.groupby("snapshot_date", sort=True)]


# ---------------------------------------------------------------------------------------- loader

def test_the_loader_gives_canonical_columns_and_dtypes(sample, stages):
    opps = sample.opportunities
    criteria = [checklist_column(c["key"]) for s in stages for c in s.get("criteria", [])]
    assert list(opps.columns) == list(OPPORTUNITY_COLUMNS) + criteria
    assert list(sample.reps.columns) == list(REP_COLUMNS)
    assert list(sample.history.columns) == list(SNAPSHOT_COLUMNS)
    assert opps["amount"].dtype == "float64" and sample.history["amount"].dtype == "float64"
    assert sample.reps["annual_quota"].dtype == "float64"
    for frame, column in ((opps, "close_date"), (opps, "created_date"), (opps, "stage_entered_date"),
                          (sample.reps, "hire_date"), (sample.history, "snapshot_date")):
        assert frame[column].dtype == "datetime64[ns]", column
    assert all(opps[c].dtype == "boolean" for c in criteria)
    assert sample.methodology_key == "big_project"


def test_rows_are_numbered_as_in_a_sheet_with_one_header_row(sample):
    for frame in (sample.opportunities, sample.reps):
        assert list(frame.index) == list(range(2, len(frame) + 2))


def test_blank_cells_load_as_missing_values(sample):
    opps = sample.opportunities
    early = opps["stage"].isin(["target", "potential"])
    # Nobody names a project manager before the project is approved, and nothing is known of the last stage
    # of a deal still being prospected: those cells are blank in the file.
    assert opps.loc[early, "project_manager"].isna().all()
    assert opps.loc[early, checklist_column("closed_shipped")].isna().all()


def test_the_two_bad_rows_load_as_they_are(sample):
    opps = sample.opportunities.set_index("id")
    assert pd.isna(opps.at[BAD_NO_REP, "rep"])
    bad = opps.loc[BAD_CLOSE_BEFORE_CREATED]
    assert bad["close_date"] < bad["created_date"]
    assert bad["status"] == "open"


def test_an_unreadable_amount_is_reported_with_file_line_and_column(tmp_path):
    for name in ("opportunities.csv", "reps.csv", "history.csv"):
        (tmp_path / name).write_bytes((sample_dir() / name).read_bytes())
    lines = (tmp_path / "opportunities.csv").read_text(encoding="utf-8-sig").splitlines()
    cells = lines[3].split(",")
    cells[OPPORTUNITY_COLUMNS.index("amount")] = "1.2M"
    lines[3] = ",".join(cells)
    (tmp_path / "opportunities.csv").write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    expected = r"opportunities\.csv, line 4, column amount: '1\.2M'; expected a plain number"
    with pytest.raises(InputError, match=expected):
        load_sample(tmp_path)


def test_the_shipped_files_are_exactly_what_the_generator_makes(monkeypatch):
    spec = importlib.util.spec_from_file_location("make_sample", REPO / "tools" / "make_sample.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    for name, data in module.render().items():
        assert (sample_dir() / name).read_bytes() == data, f"{name} differs: run tools/make_sample.py"


def test_the_files_open_in_excel_as_utf8_with_plain_numbers_and_iso_dates():
    for name in ("opportunities.csv", "reps.csv", "history.csv"):
        data = (sample_dir() / name).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf"), name
    raw = pd.read_csv(sample_dir() / "opportunities.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert raw["amount"].str.fullmatch(r"\d+").all()
    assert raw["close_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()


# ---------------------------------------------------------------------------------------- opportunities

def test_the_pipeline_has_about_sixty_deals_mostly_open_with_some_won_and_lost(sample):
    counts = sample.opportunities["status"].value_counts()
    assert set(counts.index) == {"open", "won", "lost"}
    assert 55 <= len(sample.opportunities) <= 70
    assert counts["won"] >= 6 and counts["lost"] >= 4 and counts["open"] > len(sample.opportunities) / 2


def test_opportunity_ids_are_unique(sample):
    assert sample.opportunities["id"].is_unique


def test_amounts_lie_between_200_thousand_and_8_million_yuan(sample):
    assert sample.opportunities["amount"].between(200_000, 8_000_000).all()


def test_close_is_never_before_created_except_in_the_documented_bad_row(sample):
    opps = sample.opportunities
    early = opps["close_date"] < opps["created_date"]
    assert set(opps.loc[early, "id"]) == {BAD_CLOSE_BEFORE_CREATED}


def test_the_stage_is_entered_between_creation_and_the_report_date(valid):
    assert (valid["stage_entered_date"] >= valid["created_date"]).all()
    assert (valid["stage_entered_date"] <= AS_OF).all()


def test_every_rep_on_a_deal_is_in_the_reps_table_except_the_unassigned_lead(sample):
    opps = sample.opportunities
    unknown = opps[~opps["rep"].isin(sample.reps["rep"])]
    assert set(unknown["id"]) == {BAD_NO_REP}


def test_a_deal_is_created_after_its_reps_hire_date(valid, sample):
    hired = valid["rep"].map(sample.reps.set_index("rep")["hire_date"])
    assert (valid["created_date"] > hired).all()


def test_every_stage_of_the_methodology_has_open_deals(valid, stages):
    open_stages = set(valid.loc[valid["status"].eq("open"), "stage"])
    assert open_stages == {s["key"] for s in stages}


def test_every_time_bucket_has_deals_at_the_report_date(valid):
    buckets = valid.apply(time_bucket, axis=1).value_counts()
    assert set(buckets.index) == {"closed", "overdue", "m0_3", "m3_6", "m6_9", "m9_12", "later"}


def test_every_forecast_category_has_deals_whether_given_or_derived_from_dates(valid, stages):
    rates = {s["key"]: s["win_rate"] / 100 for s in stages}
    derived = valid.apply(category_from_dates, axis=1, rates=rates)
    given_or_derived = valid["category"].where(valid["category"].notna(), derived)
    everything = {"closed", "commit", "likely_this_quarter", "likely_next_quarter", "intent"}
    assert set(derived.dropna()) == everything
    assert set(given_or_derived.dropna()) == everything
    assert valid.loc[valid["status"].eq("open"), "category"].isna().any(), "some categories are left to derive"


def test_every_region_and_product_line_has_weighted_pipeline(valid, stages):
    rates = {s["key"]: s["win_rate"] / 100 for s in stages}
    is_open = valid["status"].eq("open")
    weighted = valid["amount"] * valid["stage"].map(rates) * is_open
    assert (weighted.groupby(valid["region"]).sum() > 0).all() and valid["region"].nunique() == 5
    assert (weighted.groupby(valid["product"]).sum() > 0).all() and valid["product"].nunique() == 6
    quarters = valid.loc[is_open & weighted.gt(0), "close_date"].map(quarter_offset)
    assert quarters.nunique() >= 5


def test_several_reps_have_achieved_revenue_this_year(valid):
    won = valid[valid["status"].eq("won") & valid["close_date"].dt.year.eq(AS_OF.year)]
    assert won["rep"].nunique() >= 5
    assert won["amount"].sum() > 20_000_000


def test_the_checklist_supports_the_claimed_stage_except_the_documented_gaps(sample, stages):
    order = stage_order(stages)
    opps = sample.opportunities.set_index("id")
    derived = opps.apply(derived_stage, axis=1, stages=stages)
    claimed = opps["stage"].map(order)
    gaps = derived[derived.ne(claimed)]
    assert set(gaps.index) == set(STAGE_GAPS)
    assert {i: stages[derived[i]]["key"] for i in gaps.index} == STAGE_GAPS
    assert (gaps < claimed[gaps.index]).all(), "every gap: the rep claims more than the evidence shows"


def test_every_won_deal_has_all_required_closing_criteria_met(valid, stages):
    closing = [checklist_column(c["key"]) for c in stages[-1]["criteria"] if c.get("required", True)]
    won = valid[valid["status"].eq("won")]
    assert (won[closing] == True).all().all()  # noqa: E712 - nullable booleans: NA must not pass


def test_some_open_deals_have_stalled_in_their_stage_for_months(valid):
    days = (AS_OF - valid["stage_entered_date"]).dt.days
    assert (valid["status"].eq("open") & days.gt(120)).sum() >= 3


def test_priority_sizes_and_new_customers_use_known_values_and_leave_some_to_derive(valid):
    assert set(valid["priority"].dropna()) == set(PRIORITIES)
    assert valid["priority"].isna().any()
    assert set(valid["customer_size"]) == {"large", "medium", "small"}
    assert valid["new_customer"].any() and not valid["new_customer"].all()


def test_the_funnel_is_thinner_at_confirmed_intent_than_the_ideal_funnel(valid, stages):
    open_deals = valid[valid["status"].eq("open") & valid["stage"].ne("target")]
    share = open_deals["stage"].value_counts(normalize=True)
    ideal = {s["key"]: s["ideal_share"] for s in stages}
    assert share["intent"] < ideal["intent"] - 0.05


# ---------------------------------------------------------------------------------------- reps

def test_there_are_eight_reps_with_unique_names_and_example_com_emails(sample):
    reps = sample.reps
    assert len(reps) == 8 and reps["rep"].is_unique
    assert reps["email"].str.fullmatch(r"[a-z]+\.[a-z]+@example\.com").all()
    assert (reps["hire_date"] < AS_OF).all()


def test_every_phase_of_the_success_roadmap_has_a_rep(sample):
    def phase(rep) -> str:
        if rep["annual_quota"] == 0:
            return "training"
        months = whole_months(rep["hire_date"], AS_OF)
        for limit, name in ((3, "m0_3"), (6, "m3_6"), (9, "m6_9"), (12, "m9_12")):
            if months < limit:
                return name
        return "over_12"

    phases = sample.reps.apply(phase, axis=1)
    assert set(phases) == {"training", "m0_3", "m3_6", "m6_9", "m9_12", "over_12"}
    trainee = sample.reps[phases.eq("training")].iloc[0]
    assert whole_months(trainee["hire_date"], AS_OF) < 1


def test_the_rep_at_three_to_six_months_has_made_a_sale_of_at_least_350_thousand(sample, valid):
    reps = sample.reps.set_index("rep")
    months = reps["hire_date"].map(lambda hired: whole_months(hired, AS_OF))
    rep = months[months.between(3, 5)].index[0]
    won = valid[valid["rep"].eq(rep) & valid["status"].eq("won")]
    assert won["amount"].max() >= 350_000


def test_every_rep_with_a_quota_has_deals_expected_to_close_next_year(sample, valid):
    next_year = valid[valid["status"].eq("open") & valid["close_date"].dt.year.eq(AS_OF.year + 1)]
    with_quota = sample.reps.loc[sample.reps["annual_quota"].gt(0), "rep"]
    assert set(with_quota) <= set(next_year["rep"])


# ---------------------------------------------------------------------------------------- history

def test_history_has_weekly_snapshots_up_to_the_week_before_the_report_date(sample):
    days = pd.Series(sorted(sample.history["snapshot_date"].unique()))
    assert len(days) >= 8
    assert days.iloc[-1] == AS_OF - pd.Timedelta(days=7)
    assert days.diff().dropna().eq(pd.Timedelta(days=7)).all()


def test_snapshot_win_rates_are_the_methodology_rates_of_their_stage(sample, stages):
    rates = {s["key"]: s["win_rate"] / 100 for s in stages}
    history = sample.history
    assert (history["win_rate"] == history["stage"].map(rates)).all()


def test_a_snapshot_shows_a_deal_only_after_it_was_created(sample):
    created = sample.history["id"].map(sample.opportunities.set_index("id")["created_date"])
    known = created.notna()
    assert (sample.history.loc[known, "snapshot_date"] >= created[known]).all()


def test_only_the_removed_deals_are_in_history_but_not_in_the_table(sample):
    missing = set(sample.history["id"]) - set(sample.opportunities["id"])
    assert missing == {REMOVED_THIS_WEEK, REMOVED_EARLIER}


def test_the_rows_with_warnings_count_so_they_are_snapshotted_from_the_week_they_were_created(sample):
    created = sample.opportunities.set_index("id")["created_date"]
    fridays = sorted(sample.history["snapshot_date"].unique())
    for deal_id in BAD_ROWS:
        seen = sorted(sample.history.loc[sample.history["id"].eq(deal_id), "snapshot_date"])
        assert seen == [d for d in fridays if d >= created[deal_id]], deal_id
        assert seen, deal_id


def test_a_won_or_lost_deal_never_reopens(sample):
    current = sample.opportunities.set_index("id")["status"]
    for deal_id, rows in sample.history.sort_values("snapshot_date").groupby("id"):
        statuses = list(rows["status"]) + ([current[deal_id]] if deal_id in current else [])
        closed_at = next((i for i, s in enumerate(statuses) if s != "open"), None)
        if closed_at is not None:
            assert len(set(statuses[closed_at:])) == 1, deal_id


def stored(frame: pd.DataFrame, order: dict[str, int]) -> pd.DataFrame:
    """The table (indexed by id) at the stage a snapshot stores, the assessed one: a deal claimed above its
    evidence is stored at the stage its checklist supports."""
    capped = [min(stage, STAGE_GAPS[i], key=order.get) if i in STAGE_GAPS else stage
              for i, stage in zip(frame.index, frame["stage"])]
    return frame.assign(stage=capped)


def test_the_history_stores_a_deal_claimed_above_its_evidence_at_the_stage_its_checklist_supports(sample, stages):
    order = stage_order(stages)
    history = sample.history[sample.history["id"].isin(STAGE_GAPS)]
    assert (history["stage"].map(order) <= history["id"].map(STAGE_GAPS).map(order)).all()
    rates = {s["key"]: s["win_rate"] / 100 for s in stages}
    assert (sample.history["win_rate"] == sample.history["stage"].map(rates)).all()


def test_a_stage_change_since_a_snapshot_means_the_stage_was_entered_after_it(sample, stages):
    current = stored(sample.opportunities.set_index("id"), stage_order(stages))
    history = sample.history[sample.history["id"].isin(current.index)]
    now = current.loc[history["id"]]
    changed = history["stage"].to_numpy() != now["stage"].to_numpy()
    assert changed.any()
    assert (now["stage_entered_date"].to_numpy()[changed] > history["snapshot_date"].to_numpy()[changed]).all()


def test_every_movement_kind_happens_between_the_last_snapshot_and_the_report_date(sample, stages):
    last_day, last = snapshots(sample.history)[-1]
    current = stored(sample.opportunities.set_index("id"), stage_order(stages))
    moves = movements(last, current, stage_order(stages))
    for kind in MOVEMENT_KINDS:
        assert THIS_WEEK[kind] in moves[kind], kind
    assert moves["moved_back"] == {MOVED_BACK_THIS_WEEK}
    assert moves["removed"] == {REMOVED_THIS_WEEK}


def test_every_movement_kind_happens_between_consecutive_snapshots(sample, stages):
    order = stage_order(stages)
    weeks = snapshots(sample.history)
    seen: dict[str, set[str]] = {kind: set() for kind in MOVEMENT_KINDS}
    for (_, old), (_, new) in zip(weeks, weeks[1:]):
        for kind, ids in movements(old, new, order).items():
            seen[kind] |= ids
    assert all(seen[kind] for kind in MOVEMENT_KINDS), {k: len(v) for k, v in seen.items()}
    assert MOVED_BACK_EARLIER in seen["moved_back"] and REMOVED_EARLIER in seen["removed"]


def test_one_big_won_deal_never_appeared_in_any_earlier_snapshot(sample):
    opps = sample.opportunities.set_index("id")
    first_snapshot = sample.history["snapshot_date"].min()
    won = opps[opps["status"].eq("won") & opps["close_date"].gt(first_snapshot)]
    history = sample.history
    never_seen = [i for i in won.index
                  if not (history["id"].eq(i) & history["snapshot_date"].lt(won.at[i, "close_date"])).any()]
    assert never_seen == [SURPRISE_WIN]
    assert opps.at[SURPRISE_WIN, "amount"] >= 5_000_000 and opps.at[SURPRISE_WIN, "close_date"] <= AS_OF


def test_every_other_won_deal_was_seen_open_before_it_closed(sample):
    opps = sample.opportunities.set_index("id")
    won = opps[opps["status"].eq("won")].drop(index=SURPRISE_WIN)
    for deal_id, row in won.iterrows():
        before = sample.history[sample.history["id"].eq(deal_id)
                                & sample.history["snapshot_date"].lt(row["close_date"])]
        assert before["status"].eq("open").any(), deal_id


def test_the_readme_names_the_report_date_and_every_documented_deal():
    text = (sample_dir() / "README.md").read_text(encoding="utf-8")
    assert SAMPLE_AS_OF.isoformat() in text
    documented = (BAD_ROWS | {SURPRISE_WIN, REMOVED_EARLIER, MOVED_BACK_EARLIER}
                  | set(STAGE_GAPS) | set(THIS_WEEK.values()))
    missing = sorted(i for i in documented if not re.search(rf"\b{i}\b", text))
    assert not missing
