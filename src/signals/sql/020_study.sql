-- Event study results written by signals.study.run_study (one run = one set of parameters).
-- Per-pair results live in study_pairs, per-relative-day returns in event_returns, excluded pairs
-- with their reason in study_dropped. Formulas: docs/method.md; example queries: docs/sql.md.

CREATE TABLE IF NOT EXISTS study_runs (
    run_id     VARCHAR PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL,
    params     JSON NOT NULL,
    counts     JSON NOT NULL,
    notes      VARCHAR[]
);
COMMENT ON TABLE study_runs IS 'One row per event study run: parameters, pair counts and fallbacks used';
COMMENT ON COLUMN study_runs.run_id IS 'Run id: UTC timestamp plus a random suffix, e.g. 20260129T081500-3fa2c1';
COMMENT ON COLUMN study_runs.created_at IS 'When the run was made (UTC)';
COMMENT ON COLUMN study_runs.params IS 'window, model, by, estimation, min_estimation, dedupe, max_day0_shift as JSON';
COMMENT ON COLUMN study_runs.counts IS 'candidates, studied, dropped and dropped per reason as JSON';
COMMENT ON COLUMN study_runs.notes IS 'Human-readable notes: benchmark fallbacks, raw-return pairs, day 0 shifts';

CREATE TABLE IF NOT EXISTS study_pairs (
    run_id          VARCHAR NOT NULL,
    event_id        VARCHAR NOT NULL,
    ticker          VARCHAR NOT NULL,
    type            VARCHAR,
    direction       TINYINT,
    rule_id         VARCHAR,
    source          VARCHAR,
    modality        VARCHAR,
    market          VARCHAR,
    topic           VARCHAR,
    role            VARCHAR,
    expected_sign   TINYINT,
    group_key       VARCHAR NOT NULL,
    day0            DATE NOT NULL,
    day0_used       DATE NOT NULL,
    day0_shift_days INTEGER NOT NULL,
    model_used      VARCHAR NOT NULL,
    benchmark       VARCHAR,
    benchmark_used  VARCHAR,
    alpha           DOUBLE,
    beta            DOUBLE,
    sigma           DOUBLE NOT NULL,
    n_est           INTEGER NOT NULL,
    car             DOUBLE NOT NULL,
    bhar            DOUBLE NOT NULL,
    scar            DOUBLE,
    signed_car      DOUBLE,
    gap_sessions    INTEGER,
    overlapping     BOOLEAN NOT NULL,
    est_events      INTEGER
    -- unique (run_id, event_id, ticker) by construction; no PRIMARY KEY: its index made storing
    -- a million-pair run cost more than the study itself
);
COMMENT ON TABLE study_pairs IS 'One row per studied event x instrument pair of a run: model fit and cumulative abnormal return';
COMMENT ON COLUMN study_pairs.run_id IS 'study_runs.run_id';
COMMENT ON COLUMN study_pairs.event_id IS 'events.id';
COMMENT ON COLUMN study_pairs.ticker IS 'Instrument studied (event_instruments.ticker)';
COMMENT ON COLUMN study_pairs.type IS 'events.type (copied so results stay readable after re-extraction)';
COMMENT ON COLUMN study_pairs.direction IS 'events.direction';
COMMENT ON COLUMN study_pairs.rule_id IS 'events.rule_id';
COMMENT ON COLUMN study_pairs.source IS 'events.source (speaking institution)';
COMMENT ON COLUMN study_pairs.modality IS 'events.modality';
COMMENT ON COLUMN study_pairs.market IS 'event_instruments.market (ISO MIC)';
COMMENT ON COLUMN study_pairs.topic IS 'events.topic';
COMMENT ON COLUMN study_pairs.role IS 'event_instruments.role: subject or exposure';
COMMENT ON COLUMN study_pairs.expected_sign IS 'event_instruments.expected_sign: +1, -1 or 0';
COMMENT ON COLUMN study_pairs.group_key IS 'The values of the run''s group-by columns joined by " | " (NULL shown as -)';
COMMENT ON COLUMN study_pairs.day0 IS 'Day 0 as assigned at extraction (event_instruments.day0)';
COMMENT ON COLUMN study_pairs.day0_used IS 'First price row of the ticker on or after day0: relative day 0 of the study';
COMMENT ON COLUMN study_pairs.day0_shift_days IS 'Calendar days from day0 to day0_used (0 when day0 is a price row)';
COMMENT ON COLUMN study_pairs.model_used IS 'market, market-adjusted, mean or raw (raw when the pair has no benchmark)';
COMMENT ON COLUMN study_pairs.benchmark IS 'Benchmark asked for by event_instruments.benchmark';
COMMENT ON COLUMN study_pairs.benchmark_used IS 'Benchmark whose prices were used (differs from benchmark after a fallback)';
COMMENT ON COLUMN study_pairs.alpha IS 'Market model intercept (mean model: mean estimation return); NULL otherwise';
COMMENT ON COLUMN study_pairs.beta IS 'Market model slope; NULL for other models';
COMMENT ON COLUMN study_pairs.sigma IS 'Residual standard deviation on the estimation window (df n-2 market, n-1 otherwise)';
COMMENT ON COLUMN study_pairs.n_est IS 'Valid returns in the estimation window';
COMMENT ON COLUMN study_pairs.car IS 'Cumulative abnormal return: sum of daily AR over the event window';
COMMENT ON COLUMN study_pairs.bhar IS 'Buy-and-hold abnormal return: prod(1+R) - prod(1+expected R) over the event window';
COMMENT ON COLUMN study_pairs.scar IS 'Standardised CAR (Patell): sum of forecast-error-standardised AR / sqrt(L)';
COMMENT ON COLUMN study_pairs.signed_car IS 'car x expected_sign (NULL when expected_sign is 0)';
COMMENT ON COLUMN study_pairs.gap_sessions IS 'Benchmark sessions the ticker missed over the span its event-window returns cover, from its price row before the first window day (suspensions); NULL without benchmark';
COMMENT ON COLUMN study_pairs.overlapping IS 'Another studied event window of the same ticker overlaps this one';
COMMENT ON COLUMN study_pairs.est_events IS 'Other studied events of the same ticker whose day 0 falls in this pair''s estimation window (they move its alpha, beta and sigma); NULL in runs stored before schema 3';

CREATE TABLE IF NOT EXISTS event_returns (
    run_id       VARCHAR NOT NULL,
    event_id     VARCHAR NOT NULL,
    ticker       VARCHAR NOT NULL,
    rel_day      SMALLINT NOT NULL,
    date         DATE NOT NULL,
    ret          DOUBLE NOT NULL,
    bench_ret    DOUBLE,
    expected_ret DOUBLE NOT NULL,
    ar           DOUBLE NOT NULL,
    car          DOUBLE NOT NULL,
    sar          DOUBLE,
    gap_sessions INTEGER
    -- unique (run_id, event_id, ticker, rel_day) by construction; no PRIMARY KEY index, as for
    -- study_pairs (a million pairs write eleven million rows here)
);
COMMENT ON TABLE event_returns IS 'Event-window returns per studied pair and relative trading day of a run';
COMMENT ON COLUMN event_returns.run_id IS 'study_runs.run_id';
COMMENT ON COLUMN event_returns.event_id IS 'events.id';
COMMENT ON COLUMN event_returns.ticker IS 'Instrument';
COMMENT ON COLUMN event_returns.rel_day IS 'Trading day relative to day0_used, counted on the ticker''s own price rows';
COMMENT ON COLUMN event_returns.date IS 'Date of the price row';
COMMENT ON COLUMN event_returns.ret IS 'Simple return from the previous price row: adj_close over adj_close when both rows have one, else close over close';
COMMENT ON COLUMN event_returns.bench_ret IS 'Benchmark return compounded over the same calendar dates (NULL without benchmark)';
COMMENT ON COLUMN event_returns.expected_ret IS 'Normal return of the model (market: alpha + beta x bench_ret; raw: 0)';
COMMENT ON COLUMN event_returns.ar IS 'Abnormal return: ret - expected_ret';
COMMENT ON COLUMN event_returns.car IS 'Cumulative AR from the first day of the event window to this day';
COMMENT ON COLUMN event_returns.sar IS 'AR divided by its forecast-error standard deviation (Patell)';
COMMENT ON COLUMN event_returns.gap_sessions IS 'Benchmark sessions without a price row of the ticker before this row (suspension length)';

CREATE TABLE IF NOT EXISTS study_dropped (
    run_id   VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    ticker   VARCHAR NOT NULL,
    day0     DATE,
    reason   VARCHAR NOT NULL,
    detail   VARCHAR
);
COMMENT ON TABLE study_dropped IS 'Event x instrument pairs a run could not study, with the reason (never silently skipped)';
COMMENT ON COLUMN study_dropped.run_id IS 'study_runs.run_id';
COMMENT ON COLUMN study_dropped.event_id IS 'events.id';
COMMENT ON COLUMN study_dropped.ticker IS 'Instrument';
COMMENT ON COLUMN study_dropped.day0 IS 'event_instruments.day0';
COMMENT ON COLUMN study_dropped.reason IS 'no_day0, duplicate, no_prices, missing_benchmark, day0_after_last_price, day0_shift_too_long, short_estimation, degenerate_estimation, incomplete_event_window';
COMMENT ON COLUMN study_dropped.detail IS 'Specifics: kept duplicate, valid estimation days, missing window days, ...';

CREATE OR REPLACE VIEW event_windows AS
SELECT r.run_id,
       r.run_id = (SELECT run_id FROM study_runs ORDER BY created_at DESC, run_id DESC LIMIT 1) AS latest,
       r.event_id, r.ticker, p.type, p.group_key, p.model_used, p.benchmark_used, p.expected_sign,
       r.rel_day, r.date, r.ret, r.bench_ret, r.expected_ret, r.ar, r.car, r.sar, r.gap_sessions
FROM event_returns r
JOIN study_pairs p USING (run_id, event_id, ticker);
COMMENT ON VIEW event_windows IS 'Per pair per relative day of every run; filter WHERE latest, or WHERE run_id = ...';
COMMENT ON COLUMN event_windows.run_id IS 'study_runs.run_id';
COMMENT ON COLUMN event_windows.latest IS 'True for the rows of the newest run (study_runs.created_at)';
COMMENT ON COLUMN event_windows.event_id IS 'events.id';
COMMENT ON COLUMN event_windows.ticker IS 'Instrument (event_returns.ticker)';
COMMENT ON COLUMN event_windows.type IS 'study_pairs.type: the event type';
COMMENT ON COLUMN event_windows.group_key IS 'study_pairs.group_key: the run''s group-by values';
COMMENT ON COLUMN event_windows.model_used IS 'study_pairs.model_used: market, market-adjusted, mean or raw';
COMMENT ON COLUMN event_windows.benchmark_used IS 'study_pairs.benchmark_used';
COMMENT ON COLUMN event_windows.expected_sign IS 'study_pairs.expected_sign: +1, -1 or 0';
COMMENT ON COLUMN event_windows.rel_day IS 'event_returns.rel_day: trading day relative to day 0';
COMMENT ON COLUMN event_windows.date IS 'event_returns.date: date of the price row';
COMMENT ON COLUMN event_windows.ret IS 'event_returns.ret: simple return (fraction)';
COMMENT ON COLUMN event_windows.bench_ret IS 'event_returns.bench_ret: benchmark return (fraction)';
COMMENT ON COLUMN event_windows.expected_ret IS 'event_returns.expected_ret: normal return of the model';
COMMENT ON COLUMN event_windows.ar IS 'event_returns.ar: abnormal return';
COMMENT ON COLUMN event_windows.car IS 'event_returns.car: cumulative AR from the first window day to this one';
COMMENT ON COLUMN event_windows.sar IS 'event_returns.sar: standardised AR (Patell)';
COMMENT ON COLUMN event_windows.gap_sessions IS 'event_returns.gap_sessions: benchmark sessions missed before this row';

-- per run's own groups (group_key) and type: a pair studied in several groups of a run grouped by
-- source or role (dedupe is per group) is counted once per row, never summed across groups
CREATE OR REPLACE VIEW event_study_summary AS
SELECT run_id, type, group_key,
       count(*) AS n,
       avg(car) AS caar,
       median(car) AS median_car,
       avg(CASE WHEN car > 0 THEN 1.0 ELSE 0.0 END) AS share_positive,
       avg(car) / (stddev_samp(car) / sqrt(count(*))) AS t_cs
FROM study_pairs
GROUP BY run_id, type, group_key;
COMMENT ON VIEW event_study_summary IS 'Per run, event type and the run''s group (group_key, the --by values; the type itself for the default --by type): N, CAAR, median CAR, share positive, cross-sectional t (df N-1)';
COMMENT ON COLUMN event_study_summary.run_id IS 'study_runs.run_id';
COMMENT ON COLUMN event_study_summary.type IS 'Event type';
COMMENT ON COLUMN event_study_summary.group_key IS 'The run''s group-by values (study_pairs.group_key)';
COMMENT ON COLUMN event_study_summary.n IS 'Pairs studied';
COMMENT ON COLUMN event_study_summary.caar IS 'Mean CAR over the pairs (fraction)';
COMMENT ON COLUMN event_study_summary.median_car IS 'Median CAR';
COMMENT ON COLUMN event_study_summary.share_positive IS 'Share of pairs with CAR > 0';
COMMENT ON COLUMN event_study_summary.t_cs IS 'Cross-sectional t of CAAR: mean / (sd / sqrt(n)), df n-1; NULL for n < 2';
