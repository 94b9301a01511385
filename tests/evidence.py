"""The forecast worked out independently of the product: the domain spec's rules written out with plain pandas over
the sample CSV and the methodology file, so tests check the product's figures against them, never against a pasted
number.

The rules (domain spec, "Derived stage", "Which deals count"): a checklist is answered when one criterion holds 1 or
0; an answered deal sits at the highest stage whose required criteria, and every earlier stage's, are all 1 (the
first stage at least); an unanswered one at the stage the rep claims. Every open deal with an amount, a stage and a
status counts.
"""

from __future__ import annotations

import tomllib

import pandas as pd

from funnel_xl.paths import methodologies_dir, sample_dir


def sample_csv() -> pd.DataFrame:
    return pd.read_csv(sample_dir() / "opportunities.csv", encoding="utf-8-sig")


def stages(methodology: str = "big_project") -> list[dict]:
    return tomllib.loads((methodologies_dir() / f"{methodology}.toml").read_text("utf-8"))["stages"]


def assessed_stages(csv: pd.DataFrame, methodology: str = "big_project") -> pd.Series:
    """The stage each row's checklist supports, NA where no criterion is answered."""
    steps = stages(methodology)
    checks = [c for c in csv.columns if c.startswith("chk:")]
    out = []
    for _, row in csv.iterrows():
        if row[checks].isna().all():
            out.append(pd.NA)
            continue
        reached = steps[0]["key"]
        for step in steps:
            required = [c["key"] for c in step.get("criteria", []) if c.get("required", True)]
            if not all(row[f"chk:{k}"] == 1 for k in required):
                break
            reached = step["key"]
        out.append(reached)
    return pd.Series(out, index=csv.index, dtype=object)


def weighted(csv: pd.DataFrame, basis: str = "assessed", methodology: str = "big_project") -> pd.Series:
    """Amount × the rate of the stage on ``basis`` ("assessed": the checklist's where answered), open rows only."""
    rates = {s["key"]: s["win_rate"] / 100 for s in stages(methodology)}
    stage = csv["stage"]
    if basis == "assessed":
        stage = assessed_stages(csv, methodology).fillna(csv["stage"])
    return (csv["amount"] * stage.map(rates)).where(csv["status"].eq("open"), 0.0)
