-- Core tables: articles and the events extracted from them.
-- No FOREIGN KEY clauses: DuckDB cannot delete a referenced row and its referrers in one
-- transaction; referential integrity is kept by signals.store and checked by the invariant tests.
-- Loaded by signals.store in file-name order; every object carries a COMMENT so that
-- DESCRIBE / duckdb_columns() explain themselves to an analyst.

CREATE TABLE IF NOT EXISTS schema_meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
COMMENT ON TABLE schema_meta IS 'Bookkeeping: schema_version and the signals version that last wrote the file';
COMMENT ON COLUMN schema_meta.key IS 'schema_version, signals_version (last writer) or schema_hash (of the schema files applied)';
COMMENT ON COLUMN schema_meta.value IS 'The value, as text';

CREATE TABLE IF NOT EXISTS articles (
    id                 VARCHAR PRIMARY KEY,
    source             VARCHAR NOT NULL,
    url                VARCHAR,
    guid               VARCHAR,
    title              VARCHAR NOT NULL,
    body               VARCHAR NOT NULL,
    published_utc      TIMESTAMPTZ,
    utc_offset_minutes INTEGER,
    fetched_at         TIMESTAMPTZ NOT NULL,
    content_hash       VARCHAR NOT NULL,
    feed               VARCHAR
);
COMMENT ON TABLE articles IS 'One row per news item; re-ingesting the same item is a no-op, an edit under the same guid updates it';
COMMENT ON COLUMN articles.id IS 'Stable id: first 16 hex of sha1(source, guid or link or content hash)';
COMMENT ON COLUMN articles.source IS 'Feed channel title or host, e.g. 华尔街见闻';
COMMENT ON COLUMN articles.url IS 'Item link';
COMMENT ON COLUMN articles.guid IS 'Item guid as written in the feed';
COMMENT ON COLUMN articles.title IS 'Title as plain text';
COMMENT ON COLUMN articles.body IS 'Body as plain text, paragraphs separated by a blank line';
COMMENT ON COLUMN articles.published_utc IS 'Publication instant (UTC); NULL when the feed gave no usable date';
COMMENT ON COLUMN articles.utc_offset_minutes IS 'UTC offset the feed wrote (or the source default), e.g. 480 for +08:00';
COMMENT ON COLUMN articles.fetched_at IS 'When signals read the item (UTC)';
COMMENT ON COLUMN articles.content_hash IS 'sha1 of title and body; a change means the item was edited';
COMMENT ON COLUMN articles.feed IS 'File path or URL the item was read from';

CREATE TABLE IF NOT EXISTS events (
    id                  VARCHAR PRIMARY KEY,
    article_id          VARCHAR NOT NULL,
    rule_id             VARCHAR NOT NULL,
    rule_version        INTEGER NOT NULL,
    rulebook_hash       VARCHAR NOT NULL,
    type                VARCHAR NOT NULL,
    topic               VARCHAR NOT NULL,
    subject             VARCHAR,
    ticker              VARCHAR,
    entity_kind         VARCHAR,
    link_confidence     DOUBLE,
    direction           TINYINT NOT NULL,
    magnitude           DOUBLE,
    magnitude_low       DOUBLE,
    magnitude_high      DOUBLE,
    unit                VARCHAR,
    magnitude_bound     VARCHAR,
    modality            VARCHAR NOT NULL,
    source              VARCHAR,
    evidence            VARCHAR NOT NULL,
    span_start          INTEGER NOT NULL,
    span_end            INTEGER NOT NULL,
    in_title            BOOLEAN NOT NULL,
    confidence          DOUBLE NOT NULL,
    relevance           TINYINT NOT NULL,
    event_key           VARCHAR NOT NULL,
    days_since_previous DOUBLE,
    extracted_at        TIMESTAMPTZ NOT NULL,
    extractor_hash      VARCHAR
);
COMMENT ON TABLE events IS 'One row per market-moving statement: who, what, which way, how much, with evidence';
COMMENT ON COLUMN events.id IS 'Stable id: hash of (article_id, rule_id, ticker or subject, span)';
COMMENT ON COLUMN events.article_id IS 'The article the event was read from (articles.id)';
COMMENT ON COLUMN events.rule_id IS 'Permanent id of the rule in rules/*.yaml that produced the event';
COMMENT ON COLUMN events.rule_version IS 'Version of that rule when the event was extracted';
COMMENT ON COLUMN events.rulebook_hash IS 'Hash of the whole rulebook at extraction time';
COMMENT ON COLUMN events.type IS 'Event type from the taxonomy (docs/taxonomy.md), e.g. rate_cut, target_price_raise';
COMMENT ON COLUMN events.topic IS 'Taxonomy family: monetary, trade, earnings, corporate, analyst, market, commodity';
COMMENT ON COLUMN events.subject IS 'Entity text as written in the article';
COMMENT ON COLUMN events.ticker IS 'Linked instrument (Yahoo symbol, or @FED-style id for policy bodies); NULL if unresolved';
COMMENT ON COLUMN events.entity_kind IS 'equity, index, commodity, fx, rate, policy_body, institution';
COMMENT ON COLUMN events.link_confidence IS 'Confidence of the entity link, 0..1';
COMMENT ON COLUMN events.direction IS '+1 good / -1 bad for the subject price (monetary: broad equity market), 0 neutral';
COMMENT ON COLUMN events.magnitude IS 'Point magnitude, positive; sign is in direction. bp for rate changes, currency units for money';
COMMENT ON COLUMN events.magnitude_low IS 'Lower end of a range (e.g. 四到六成 -> 40)';
COMMENT ON COLUMN events.magnitude_high IS 'Upper end of a range';
COMMENT ON COLUMN events.unit IS 'pct, bp, CNY, USD, HKD, EUR, JPY, KRW, price, multiple, CNY/share (a dividend per share), ...';
COMMENT ON COLUMN events.magnitude_bound IS 'exact, about, at_least, at_most, range';
COMMENT ON COLUMN events.modality IS 'fact, expected (forecasts, plans, bets) or negated';
COMMENT ON COLUMN events.source IS 'Institution speaking (大摩, 高盛 ...), not the subject';
COMMENT ON COLUMN events.evidence IS 'The sentence the event was read from';
COMMENT ON COLUMN events.span_start IS 'Start of the trigger in title || chr(10) || chr(10) || body (characters)';
COMMENT ON COLUMN events.span_end IS 'End of the trigger (exclusive)';
COMMENT ON COLUMN events.in_title IS 'The event was stated in the title';
COMMENT ON COLUMN events.confidence IS 'Rule confidence adjusted by link confidence, 0..1';
COMMENT ON COLUMN events.relevance IS '0..100: 100 when the subject leads the headline, low for a passing mention deep in the body';
COMMENT ON COLUMN events.event_key IS 'type|ticker-or-subject|direction: same-story key for novelty';
COMMENT ON COLUMN events.days_since_previous IS 'Days since the previous stored event with the same event_key (NULL: first seen)';
COMMENT ON COLUMN events.extracted_at IS 'When the event was extracted (UTC)';
COMMENT ON COLUMN events.extractor_hash IS 'Hash of the extraction code and the linker''s reference data at extraction time; NULL for events stored before signals recorded it (schema 1)';

CREATE TABLE IF NOT EXISTS event_instruments (
    event_id      VARCHAR NOT NULL,
    ticker        VARCHAR NOT NULL,
    role          VARCHAR NOT NULL,
    expected_sign TINYINT NOT NULL,
    market        VARCHAR,
    benchmark     VARCHAR,
    day0          DATE,
    day0_reason   VARCHAR,
    PRIMARY KEY (event_id, ticker)
);
COMMENT ON TABLE event_instruments IS 'Event x tradable instrument pairs the event study runs on: the subject and any macro exposures';
COMMENT ON COLUMN event_instruments.event_id IS 'events.id';
COMMENT ON COLUMN event_instruments.ticker IS 'Yahoo symbol of the instrument';
COMMENT ON COLUMN event_instruments.role IS 'subject (the event is about it) or exposure (a macro event moves it, per the rule data)';
COMMENT ON COLUMN event_instruments.expected_sign IS 'Expected price direction for this instrument: the subject, the event direction; an exposure, the sign the rule writes for it (flipped for a negated event); for a dollar quote (JPY=X, yen per dollar) whose subject is the other currency (日元) the sign flips, not when the subject names the pair (美元兑日元)';
COMMENT ON COLUMN event_instruments.market IS 'ISO MIC of the market whose sessions define day 0 (XSHG, XNYS, ...)';
COMMENT ON COLUMN event_instruments.benchmark IS 'Benchmark ticker for abnormal returns (NULL: raw returns)';
COMMENT ON COLUMN event_instruments.day0 IS 'First session of the market in which the news could be traded';
COMMENT ON COLUMN event_instruments.day0_reason IS 'in_session, before_open, after_close, non_session_day, price_sessions (beyond calendar), or why day 0 is unknown';
