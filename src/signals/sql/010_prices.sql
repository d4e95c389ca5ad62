-- Price cache: daily bars and a log of what was asked of each price source.
-- price_requests lets a second run ask the network only for ranges nobody has asked for yet;
-- see signals.prices.ensure_prices and docs/prices.md.

CREATE TABLE IF NOT EXISTS prices (
    ticker     VARCHAR NOT NULL,
    date       DATE NOT NULL,
    open       DOUBLE,
    high       DOUBLE,
    low        DOUBLE,
    close      DOUBLE NOT NULL,
    adj_close  DOUBLE,
    volume     DOUBLE,
    source     VARCHAR NOT NULL,
    fetched_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (ticker, date)
);
COMMENT ON TABLE prices IS 'Daily bars per instrument, one row per (ticker, trading date); the last load of a date wins';
COMMENT ON COLUMN prices.ticker IS 'Yahoo symbol (600519.SS, 0700.HK, NVDA, ^GSPC, GC=F)';
COMMENT ON COLUMN prices.date IS 'Trading date in the exchange''s own calendar';
COMMENT ON COLUMN prices.open IS 'Opening price (NULL when the source gives closes only)';
COMMENT ON COLUMN prices.high IS 'Highest price of the day';
COMMENT ON COLUMN prices.low IS 'Lowest price of the day';
COMMENT ON COLUMN prices.close IS 'Closing price as quoted (split-adjusted by most vendors, not dividend-adjusted)';
COMMENT ON COLUMN prices.adj_close IS 'Close adjusted for splits and dividends (NULL when the source has none)';
COMMENT ON COLUMN prices.volume IS 'Traded volume in the source''s units (shares, or lots for some A-share sources)';
COMMENT ON COLUMN prices.source IS 'Where the row came from: yfinance, or file:<name> for loaded files';
COMMENT ON COLUMN prices.fetched_at IS 'When signals stored the row (UTC)';

CREATE TABLE IF NOT EXISTS price_requests (
    ticker       VARCHAR NOT NULL,
    start_date   DATE NOT NULL,
    end_date     DATE NOT NULL,
    source       VARCHAR NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL,
    status       VARCHAR NOT NULL,
    message      VARCHAR
);
COMMENT ON TABLE price_requests IS 'Log of ranges asked of a price source; ok/empty answers count as covered, failed ones are asked again';
COMMENT ON COLUMN price_requests.ticker IS 'Yahoo symbol asked for';
COMMENT ON COLUMN price_requests.start_date IS 'First date of the range asked (inclusive)';
COMMENT ON COLUMN price_requests.end_date IS 'Last date of the range asked (inclusive)';
COMMENT ON COLUMN price_requests.source IS 'yfinance, or file:<name> for loaded files';
COMMENT ON COLUMN price_requests.requested_at IS 'When the source was asked (UTC); days from then on are asked again later';
COMMENT ON COLUMN price_requests.status IS 'ok (rows returned), empty (no rows: holidays or no listing yet) or failed';
COMMENT ON COLUMN price_requests.message IS 'Row count or the reason the source gave';
