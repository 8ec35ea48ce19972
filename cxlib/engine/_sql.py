"""The SQL texts of the pushed-down aggregations, and the one place identifiers enter them.

Each aggregation is one SQL text. Values (dates, windows, thresholds) are always bound
parameters (``$name``); the only things formatted into a text are identifiers (table and
column names) that :func:`ident` has checked against a strict pattern and quoted, and fixed
fragments written here. Dialect: DuckDB. Engine-specific functions are few and listed in
``ENGINE_FUNCTIONS``; the Spark backend translates each text with sqlglot and maps them
(:func:`cxlib.engine._spark.to_spark`). A new text may use only these and standard SQL, and
the cross-engine tests (tests/test_engine_spark.py) must cover it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..errors import DataError

ENGINE_FUNCTIONS = ("epoch_ns", "TIMESTAMP_NS", "TRY_CAST", "isfinite", "FILTER (WHERE ...)")
"""Functions (and a type) another engine must provide or translate. Spark: ``epoch_ns`` ->
``unix_micros * 1000``, ``TIMESTAMP_NS`` -> ``TIMESTAMP_NTZ``, ``isfinite`` -> ``abs(x) <
'Infinity'``; ``TRY_CAST`` and ``FILTER`` as they are."""

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def ident(name: str, what: str = "column") -> str:
    """``name`` quoted as an SQL identifier, after checking it is a plain name."""
    if not isinstance(name, str) or not _IDENT.match(name):
        raise DataError(f"{what} name {name!r} is not a plain identifier (letters, digits and "
                        "underscores, not starting with a digit)")
    return f'"{name}"'


_LITERAL = re.compile(r"^[A-Za-z0-9_ -]{1,64}$")


def literals(values: Sequence[str], what: str = "value") -> str:
    """``values`` as a parenthesised list of SQL string literals, after checking each is a
    plain word (letters, digits, underscores, spaces, hyphens)."""
    values = list(values)
    if not values:
        raise ValueError(f"at least one {what} is needed")
    for v in values:
        if not isinstance(v, str) or not _LITERAL.match(v):
            raise DataError(f"{what} {v!r} is not a plain word (letters, digits, underscores, "
                            "spaces, hyphens)")
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def idents(names: Sequence[str], what: str = "column") -> str:
    return ", ".join(ident(n, what) for n in names)


# -- NPS by group -------------------------------------------------------------------------------
# The data checks of cxlib.metrics.nps (text scores, scores outside 0-10, weights missing or
# not > 0) first, as one ungrouped summary: on numeric Parquet columns DuckDB answers it from
# the file's statistics (NaN weights, which statistics leave out, take a scan of the weight
# column alone: NPS_NAN_WEIGHTS). Only when it flags a problem does NPS_BAD_VALUES
# count the offending values for the message. Then one scan for the counts and weighted
# sums per group; groups without any answer come back with n = 0 and are dropped in pandas
# (as metrics.nps does).
# {key_select}: validated grouping columns; {text_count}: 0 for a numeric score column, else
# count(score) - count(TRY_CAST(score)) (the values that are not numbers); {score_value},
# {weight_value}: the validated columns, wrapped in TRY_CAST when their type is not numeric
# ({weight_value} is 1.0 when unweighted); {table}: validated table name.

NPS_CHECKS = """
SELECT {text_count} AS s_text,
       min({score_value}) AS s_min, max({score_value}) AS s_max,
       count(*) - count({weight_value}) AS w_missing,
       min({weight_value}) AS w_min, max({weight_value}) AS w_max
FROM {table}
"""

# NaN weights (left out of Parquet statistics): a scan of the weight column alone.
NPS_NAN_WEIGHTS = """
SELECT count(*) AS w_nan FROM {table} WHERE isnan({weight_value})
"""

NPS_BAD_VALUES = """
SELECT count(*) FILTER (WHERE s < 0 OR s > 10) AS bad_range,
       count(*) FILTER (WHERE w IS NULL OR NOT isfinite(w) OR w <= 0) AS bad_weight
FROM (SELECT {score_value} AS s, {weight_value} AS w FROM {table})
"""

NPS_BY_GROUP = """
WITH r AS (
    SELECT {key_select} {score_value} AS s, {weight_value} AS w
    FROM {table}
)
SELECT {key_select}
       count(s) AS n,
       sum(w) FILTER (WHERE s IS NOT NULL) AS sw,
       sum(w * w) FILTER (WHERE s IS NOT NULL) AS sw2,
       sum(w) FILTER (WHERE s >= 9) AS wp,
       sum(w) FILTER (WHERE s <= 6) AS wd
FROM r
{group_by}
{order_by}
"""

# -- churn features (cxlib.churn.build_features) -------------------------------------------------
# The end of the data: the latest date in any table (a scalar).
DATA_END_PART = "SELECT max({column}) AS d FROM {table}"

# Customers active at $snap; the customer-level columns. {inner}/{outer}: static columns and
# monthly_revenue (validated identifiers; inner as expressions, outer as names). Every
# later part joins to this set.
FEATURES_BASE = """
active AS (
    SELECT customer_id, signup_date, cd{outer}
    FROM (
        SELECT customer_id, signup_date{inner},
               CASE WHEN coalesce(CAST(churned AS BOOLEAN), false) THEN churn_date END AS cd
        FROM {customers}
        WHERE signup_date < $snap
    )
    WHERE cd IS NULL OR cd >= $snap
),
base AS (
    SELECT *,
           CAST(epoch_ns(CAST($snap AS TIMESTAMP_NS)) - epoch_ns(signup_date) AS DOUBLE)
               / 1e9 / 86400.0 AS tenure_days
    FROM active
)"""

# Survey answers before the snapshot of active customers.
FEATURES_RESPONSES = """,
resp AS (
    SELECT r.*
    FROM {responses} AS r
    WHERE r.response_date < $snap
      AND r.customer_id IN (SELECT customer_id FROM active)
)"""

# The latest answer (by date, ties: the largest response_id) in which all {columns} are
# present; {value} is the expression kept (an item, or the mean of items).
FEATURES_LATEST = """,
{name} AS (
    SELECT customer_id, {name}
    FROM (
        SELECT customer_id, {value} AS {name},
               row_number() OVER (PARTITION BY customer_id
                                  ORDER BY response_date DESC, response_id DESC) AS rank_
        FROM resp
        WHERE {present}
    )
    WHERE rank_ = 1
)"""

# Events before the snapshot of active customers: counts in the window and in total,
# the last contact and the last event; repeat contacts = contacts (first or repeat) within
# 30 days ($repeat_ns) after the previous one, counted in the window ($recent).
FEATURES_TOUCHPOINTS = """,
tp AS (
    SELECT t.customer_id, t."timestamp" AS ts, t.event_type{resolved_col}
    FROM {touchpoints} AS t
    WHERE t."timestamp" < $snap
      AND t.customer_id IN (SELECT customer_id FROM active)
),
tp_counts AS (
    SELECT customer_id,
           count(*) FILTER (WHERE event_type = 'contact' AND ts >= $recent) AS contacts_recent,
           count(*) FILTER (WHERE event_type = 'contact') AS contacts_total,
           {unresolved}
           count(*) FILTER (WHERE event_type = 'complaint' AND ts >= $recent)
               AS complaints_recent,
           count(*) FILTER (WHERE event_type = 'complaint') AS complaints_total,
           max(ts) FILTER (WHERE event_type IN ('contact', 'repeat_contact')) AS last_contact,
           max(ts) AS last_event
    FROM tp
    GROUP BY customer_id
),
tp_repeats AS (
    SELECT customer_id, count(*) AS repeat_contacts_30d
    FROM (
        SELECT customer_id, ts,
               epoch_ns(ts) - lag(epoch_ns(ts)) OVER (PARTITION BY customer_id ORDER BY ts)
                   AS gap_ns
        FROM tp
        WHERE event_type IN ('contact', 'repeat_contact')
    )
    WHERE gap_ns IS NOT NULL AND gap_ns <= $repeat_ns AND ts >= $recent
    GROUP BY customer_id
)"""

UNRESOLVED = ("count(*) FILTER (WHERE event_type = 'contact' AND resolved_ = false "
              "AND ts >= $recent) AS unresolved_recent,")

TOUCHPOINT_COLUMNS = """,
       coalesce(c.contacts_recent, 0) AS contacts_recent,
       coalesce(c.contacts_total, 0) AS contacts_total,
       coalesce(rp.repeat_contacts_30d, 0) AS repeat_contacts_30d,{unresolved}
       coalesce(c.complaints_recent, 0) AS complaints_recent,
       coalesce(c.complaints_total, 0) AS complaints_total,
       coalesce(CAST(epoch_ns(CAST($snap AS TIMESTAMP_NS)) - epoch_ns(c.last_contact) AS DOUBLE)
                / 1e9 / 86400.0, b.tenure_days) AS days_since_contact,
       coalesce(CAST(epoch_ns(CAST($snap AS TIMESTAMP_NS)) - epoch_ns(c.last_event) AS DOUBLE)
                / 1e9 / 86400.0, b.tenure_days) AS days_since_event"""

TOUCHPOINT_JOINS = """
LEFT JOIN tp_counts AS c ON c.customer_id = b.customer_id
LEFT JOIN tp_repeats AS rp ON rp.customer_id = b.customer_id"""

# The customer-level table that comes into pandas: one row per active customer.
FEATURES_SELECT = """
SELECT b.customer_id,
       b.tenure_days / $days_per_month AS tenure_months,
       CAST(b.tenure_days / $days_per_month < 12 AS BIGINT) AS first_year,
       CAST(greatest(ceil(b.tenure_days / 365.25), 1) * 365.25
            < b.tenure_days + $horizon_days AS BIGINT)
           AS renewal_in_horizon{static}{money}{survey}{events},
       CAST(b.cd IS NOT NULL AND b.cd < $stop AS BIGINT) AS churned_in_horizon
FROM base AS b{joins}
ORDER BY b.customer_id
"""


# -- touchpoint reductions (cxlib.engine._touchpoints) -------------------------------------------
# Each reduces the event table to a group-, customer-, response- or observation-level table
# that the pandas code then treats like its own reduction of an in-memory events table.

# Events per value of a column (journey.response_rate, journey.pain_points). {by}: validated.
EVENT_COUNTS = """
SELECT {by}, count(*) AS n
FROM {touchpoints}
WHERE {by} IS NOT NULL
GROUP BY {by}
"""

# journey.post_purchase_share: per customer (and group) the interactions after the first
# purchase (a) of all interactions (m), then group sums from which the clustered ratio
# estimator and its linearised variance follow. {purchase} / {exclude}: literal lists of event
# types checked by :func:`literals`.
PURCHASE_SPLIT = """
WITH tp AS (
    SELECT customer_id, "timestamp" AS ts, event_type{key_inner}
    FROM {touchpoints}
    WHERE event_type NOT IN {exclude}
),
first_buy AS (
    SELECT customer_id, min(ts) AS first_ts
    FROM tp WHERE event_type IN {purchase}
    GROUP BY customer_id
),
per AS (
    SELECT tp.customer_id{key_select},
           CAST(count(*) FILTER (WHERE tp.ts > f.first_ts) AS DOUBLE) AS a,
           CAST(count(*) AS DOUBLE) AS m
    FROM tp JOIN first_buy AS f ON f.customer_id = tp.customer_id
    WHERE tp.event_type NOT IN {purchase}
    GROUP BY tp.customer_id{key_group}
)
SELECT {key_outer}count(*) AS k, sum(a) AS sa, sum(m) AS sm, sum(a * a) AS saa,
       sum(a * m) AS sam, sum(m * m) AS smm
FROM per
{group_by}
"""

# journey.contact_effects: per answer, its customer's contacts in the window before it:
# whether any first contact in it was unresolved (unknown outcome: resolved; NULL: no first
# contact) and how many
# repeat contacts. Bounds in ns: [answer day + 1 day - window, answer day + 1 day).
CONTACT_HISTORY = """
WITH r AS (
    SELECT response_id, customer_id, epoch_ns(response_date) + $day_ns AS stop_ns
    FROM {responses}
    WHERE {score} IS NOT NULL
),
ev AS (
    SELECT customer_id, epoch_ns("timestamp") AS ts_ns, event_type,
           TRY_CAST(resolved_first_contact AS BOOLEAN) AS resolved_
    FROM {touchpoints}
    WHERE event_type IN ('contact', 'repeat_contact')
)
SELECT r.response_id,
       max(CASE WHEN ev.event_type = 'contact'
                THEN CAST(NOT coalesce(ev.resolved_, true) AS INTEGER) END) AS unresolved,
       count(*) FILTER (WHERE ev.event_type = 'repeat_contact') AS repeats
FROM r JOIN ev ON ev.customer_id = r.customer_id
WHERE ev.ts_ns < r.stop_ns AND ev.ts_ns >= r.stop_ns - $window_ns
GROUP BY r.response_id
"""

# First-contact resolution per customer (kpimodel.customer_kpis): mean and count of the
# known resolved flags of first contacts.
CONTACT_RESOLUTION = """
SELECT customer_id, avg(y) AS fcr, count(y) AS n
FROM (SELECT customer_id, CAST(TRY_CAST(resolved_first_contact AS BOOLEAN) AS DOUBLE) AS y
      FROM {touchpoints} WHERE event_type = 'contact')
GROUP BY customer_id
"""

# First contacts with a known outcome, one row each (pilot.kpi_observations
# "first_contact_resolution"): the KPI's observations, a small slice of the events.
CONTACT_OBSERVATIONS = """
SELECT customer_id, "timestamp" AS "when", CAST(y AS DOUBLE) AS y
FROM (SELECT customer_id, "timestamp", TRY_CAST(resolved_first_contact AS BOOLEAN) AS y
      FROM {touchpoints} WHERE event_type = 'contact')
WHERE y IS NOT NULL
ORDER BY customer_id, "when"
"""

# Contract references without loading a table: customer ids of {table} (events or answers)
# unknown to the customers table (count, and up to 5 examples). The row rules of the
# contract are written by cxlib.engine._contract from cxlib.schema.CONTRACT.
UNKNOWN_CUSTOMERS = """
SELECT t.customer_id, count(*) AS n
FROM {table} AS t LEFT JOIN {customers} AS c ON c.customer_id = t.customer_id
WHERE t.customer_id IS NOT NULL AND c.customer_id IS NULL
GROUP BY t.customer_id
ORDER BY n DESC, t.customer_id
LIMIT 5
"""

UNKNOWN_CUSTOMER_COUNT = """
SELECT count(*) AS n
FROM {table} AS t LEFT JOIN {customers} AS c ON c.customer_id = t.customer_id
WHERE t.customer_id IS NOT NULL AND c.customer_id IS NULL
"""


# -- KPI table of the structural model (kpimodel.customer_kpis) ---------------------------------
# Each customer's first relationship answer (ties on the date: the smallest response_id);
# {items}: ", TRY_CAST(<item> AS DOUBLE) AS <item>" for the validated item columns present.
KPI_FIRST_ANSWER = """
SELECT customer_id, response_date{items}
FROM (SELECT *, row_number() OVER (PARTITION BY customer_id
                                   ORDER BY response_date, response_id) AS rank_
      FROM {responses} WHERE survey_type = 'relationship')
WHERE rank_ = 1
ORDER BY customer_id
"""

# Mean and count of one transactional score per customer and organisation; {score} is the
# validated column, {name} its fixed name ('csat' or 'ces', written here, not user input).
KPI_TRANSACTIONAL = """
SELECT customer_id, organisation, avg(v) AS mean, count(v) AS n, '{name}' AS score
FROM (SELECT customer_id, organisation, TRY_CAST({score} AS DOUBLE) AS v
      FROM {responses}
      WHERE survey_type = 'transactional' AND {score} IS NOT NULL AND organisation IS NOT NULL)
GROUP BY customer_id, organisation
"""
