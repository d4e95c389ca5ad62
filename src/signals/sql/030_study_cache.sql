-- Series cache of the event study (signals.study): per (ticker, benchmark) series, the daily
-- returns, benchmark returns and centred running sums that every study over the same prices needs.
-- They depend on prices only, not on events or windows, so run_study builds them once and reuses
-- them while the prices are unchanged: study_series_state records a fingerprint of the prices
-- table they were built from, and any price write (a different fingerprint) makes the next study
-- rebuild them. A study that needs a series not cached rebuilds the cache for the union.
-- Formulas: docs/method.md ("Series cache").

CREATE TABLE IF NOT EXISTS study_series_state (
    prices_fingerprint VARCHAR NOT NULL,
    price_rows         BIGINT NOT NULL,
    built_at           TIMESTAMPTZ NOT NULL,
    series             INTEGER NOT NULL,
    series_rows        BIGINT NOT NULL
);
COMMENT ON TABLE study_series_state IS 'What the event-study series cache was built from (at most one row; none: no cache)';
COMMENT ON COLUMN study_series_state.prices_fingerprint IS 'count(*) and sum(hash(ticker, date, adj_close, close)) of prices when built, and the series method version (n:hash:sN); a mismatch means stale';
COMMENT ON COLUMN study_series_state.price_rows IS 'Rows in prices when built';
COMMENT ON COLUMN study_series_state.built_at IS 'When the cache was built (UTC)';
COMMENT ON COLUMN study_series_state.series IS 'Series (ticker, benchmark) in study_series';
COMMENT ON COLUMN study_series_state.series_rows IS 'Rows in study_series_rows';

CREATE TABLE IF NOT EXISTS study_series (
    sid     INTEGER NOT NULL,
    ticker  VARCHAR NOT NULL,
    bench   VARCHAR,
    g_first BIGINT NOT NULL,
    g_last  BIGINT NOT NULL,
    mu_r    DOUBLE NOT NULL,
    mu_m    DOUBLE,
    mu_rr   DOUBLE NOT NULL,
    mu_mm   DOUBLE,
    mu_rm   DOUBLE
);
COMMENT ON TABLE study_series IS 'Event-study series cache: one row per (ticker, benchmark used) series with its row range and means';
COMMENT ON COLUMN study_series.sid IS 'Series id (1..number of series)';
COMMENT ON COLUMN study_series.ticker IS 'Instrument (prices.ticker)';
COMMENT ON COLUMN study_series.bench IS 'Benchmark whose returns are paired with the ticker''s (NULL: none, raw/mean model)';
COMMENT ON COLUMN study_series.g_first IS 'First study_series_rows.g of the series';
COMMENT ON COLUMN study_series.g_last IS 'Last study_series_rows.g of the series';
COMMENT ON COLUMN study_series.mu_r IS 'Mean of valid returns (the running sums are centred on it)';
COMMENT ON COLUMN study_series.mu_m IS 'Mean of valid benchmark returns';
COMMENT ON COLUMN study_series.mu_rr IS 'Mean of valid squared returns';
COMMENT ON COLUMN study_series.mu_mm IS 'Mean of valid squared benchmark returns';
COMMENT ON COLUMN study_series.mu_rm IS 'Mean of valid return x benchmark return';

-- The double columns are stored uncompressed: returns and running sums are noise to ALP (ALPRD kept
-- them at ~the same size), and a warm study reads a few rows of every 2,048-row vector, which
-- ALPRD decompresses whole (picking 130 k of the 5 M benchmark rows: 128 -> 72 ms).
CREATE TABLE IF NOT EXISTS study_series_rows (
    g     BIGINT NOT NULL,
    sid   INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    date  DATE NOT NULL,
    r     DOUBLE USING COMPRESSION uncompressed,
    m     DOUBLE USING COMPRESSION uncompressed,
    gap   INTEGER,
    valid BOOLEAN NOT NULL,
    cn    BIGINT NOT NULL,
    cr    DOUBLE USING COMPRESSION uncompressed NOT NULL,
    cm    DOUBLE USING COMPRESSION uncompressed,
    crr   DOUBLE USING COMPRESSION uncompressed NOT NULL,
    cmm   DOUBLE USING COMPRESSION uncompressed,
    crm   DOUBLE USING COMPRESSION uncompressed
);
COMMENT ON TABLE study_series_rows IS 'Event-study series cache: one row per price row of each series, in (sid, date) order, with running sums';
COMMENT ON COLUMN study_series_rows.g IS 'Global row number: a series is the contiguous range g_first..g_last';
COMMENT ON COLUMN study_series_rows.sid IS 'study_series.sid';
COMMENT ON COLUMN study_series_rows.idx IS 'Trading-day index of the row within its ticker (1 = first price row)';
COMMENT ON COLUMN study_series_rows.date IS 'Price date';
COMMENT ON COLUMN study_series_rows.r IS 'Simple return over the ticker''s previous row (NULL on its first row)';
COMMENT ON COLUMN study_series_rows.m IS 'Benchmark return over the same calendar span (NULL without a benchmark row that day)';
COMMENT ON COLUMN study_series_rows.gap IS 'Benchmark sessions the ticker skipped before this row (suspension)';
COMMENT ON COLUMN study_series_rows.valid IS 'Return usable: r present and, with a benchmark, m present';
COMMENT ON COLUMN study_series_rows.cn IS 'Running count of valid rows over all rows up to g';
COMMENT ON COLUMN study_series_rows.cr IS 'Running sum of (r - mu_r) over valid rows up to g';
COMMENT ON COLUMN study_series_rows.cm IS 'Running sum of (m - mu_m) over valid rows up to g';
COMMENT ON COLUMN study_series_rows.crr IS 'Running sum of (r*r - mu_rr) over valid rows up to g';
COMMENT ON COLUMN study_series_rows.cmm IS 'Running sum of (m*m - mu_mm) over valid rows up to g';
COMMENT ON COLUMN study_series_rows.crm IS 'Running sum of (r*m - mu_rm) over valid rows up to g';

CREATE TABLE IF NOT EXISTS study_series_prices (
    ticker        VARCHAR NOT NULL,
    usable        BIGINT NOT NULL,
    skipped       BIGINT NOT NULL,
    first_skipped DATE
);
COMMENT ON TABLE study_series_prices IS 'Event-study series cache: per ticker of prices when the cache was built, its rows a series can use and leaves out (price <= 0); a warm study reads it instead of grouping every price row';
COMMENT ON COLUMN study_series_prices.ticker IS 'Instrument (prices.ticker)';
COMMENT ON COLUMN study_series_prices.usable IS 'Price rows with a positive price (adj_close, else close)';
COMMENT ON COLUMN study_series_prices.skipped IS 'Price rows the series leave out for a price (adj_close, else close) <= 0';
COMMENT ON COLUMN study_series_prices.first_skipped IS 'Date of the first left-out row (NULL: none)';

CREATE TABLE IF NOT EXISTS study_series_days (
    bench VARCHAR NOT NULL,
    date  DATE NOT NULL,
    bidx  BIGINT NOT NULL
);
COMMENT ON TABLE study_series_days IS 'Event-study series cache: the trading days of each benchmark of the cached series (its price rows with a positive price), numbered';
COMMENT ON COLUMN study_series_days.bench IS 'Benchmark (study_series.bench)';
COMMENT ON COLUMN study_series_days.date IS 'A date with a benchmark price';
COMMENT ON COLUMN study_series_days.bidx IS 'Its number among the benchmark''s dates (1 = first)';

CREATE TABLE IF NOT EXISTS study_series_spans (
    sid        INTEGER NOT NULL,
    bidx_first BIGINT NOT NULL
);
COMMENT ON TABLE study_series_spans IS 'Event-study series cache: the series whose rows are every trading day of their benchmark from their first row to their last (no suspension, no extra day), so a day''s row is found by arithmetic on study_series_days, not by a join with study_series_rows';
COMMENT ON COLUMN study_series_spans.sid IS 'study_series.sid';
COMMENT ON COLUMN study_series_spans.bidx_first IS 'study_series_days.bidx of the series'' first row: the row of bidx b is g_first + b - bidx_first';
