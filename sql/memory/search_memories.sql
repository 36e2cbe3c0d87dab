-- name: search_memories
-- A user's memories matching a query, best first. Read strictly: without a phrase, a memory
-- must hold any of the words $4; with phrases, every phrase $6, and the words only rank; it
-- must hold none of $8. When that finds nothing and the query had phrases or exclusions, it
-- is read as plain words (any of $11), as ADK's memory services read every query: a quote or
-- a dash in a user's message never hides what its words would find.
-- Ranked: those holding more of the query's words that the configuration keeps (not stop
-- words such as "my" or "is") first, then more of all its words (as ADK's memory services
-- rank), then by cover density (ts_rank_cd: more often, and closer together), then the
-- newest. A word matches in either part of the search vector: through the stemming
-- configuration $3, or by its hex codes (see migration 0009).
-- citus: one shard (user_id = $2)
-- $1 app_name text
-- $2 user_id text
-- $3 search_config text (a text search configuration, e.g. english)
-- $4 words text[] (the plain words, for the configuration)
-- $5 word_codes text[] (each word's codes as tsquery text, in the order of $4)
-- $6 phrases text[] (each phrase's words joined by spaces)
-- $7 phrase_codes text[] (each phrase's codes as tsquery text)
-- $8 excluded text[] (the words or phrases that must not match)
-- $9 excluded_codes text[] (their codes as tsquery text)
-- $10 max_results integer
-- $11 loose_words text[] (every word of the query but the excluded; empty when the query has
--   no phrase and no exclusion)
-- $12 loose_codes text[] (their codes, in the order of $11)
-- returns: rows (id, session_id, event_id, author, event_time, time_text, content text,
--          custom_metadata text), best first
WITH words AS (
    SELECT array_agg(('(' || concat_ws(' | ', nullif(w.stemmed, ''), w.codes) || ')')::tsquery)
               AS each_word,
           array_agg(w.stemmed <> '') AS is_kept
    FROM unnest($4::text[], $5::text[]) AS w0(text, codes),
         LATERAL (SELECT w0.codes, plainto_tsquery($3::regconfig, w0.text)::text AS stemmed) AS w
), loose_words AS (
    SELECT array_agg(('(' || concat_ws(' | ', nullif(w.stemmed, ''), w.codes) || ')')::tsquery)
               AS each_word,
           array_agg(w.stemmed <> '') AS is_kept
    FROM unnest($11::text[], $12::text[]) AS w0(text, codes),
         LATERAL (SELECT w0.codes, plainto_tsquery($3::regconfig, w0.text)::text AS stemmed) AS w
), phrases AS (
    SELECT string_agg('(' || concat_ws(' | ',
                          nullif(phraseto_tsquery($3::regconfig, p.text)::text, ''),
                          p.codes) || ')', ' & ') AS every_phrase
    FROM unnest($6::text[], $7::text[]) AS p(text, codes)
), excluded AS (
    SELECT string_agg('!(' || concat_ws(' | ',
                           nullif(phraseto_tsquery($3::regconfig, x.text)::text, ''),
                           x.codes) || ')', ' & ') AS no_excluded
    FROM unnest($8::text[], $9::text[]) AS x(text, codes)
), query AS MATERIALIZED (
    SELECT words.each_word, words.is_kept,
           loose_words.each_word AS loose_each_word, loose_words.is_kept AS loose_is_kept,
           concat_ws(' & ',
                     CASE WHEN phrases.every_phrase IS NULL
                          THEN '(' || array_to_string(words.each_word, ' | ') || ')' END,
                     phrases.every_phrase, excluded.no_excluded)::tsquery AS q,
           ('(' || array_to_string(loose_words.each_word, ' | ') || ')')::tsquery AS loose_q
    FROM words, loose_words, phrases, excluded
    WHERE words.each_word IS NOT NULL OR phrases.every_phrase IS NOT NULL
), strict AS (
    -- Rank on the keys and vectors only; only the winners' content is read. held is
    -- {words kept by the configuration, all words} a memory holds, compared in that order;
    -- counted only when the query has several words (with one, every match holds it).
    SELECT m.id,
           CASE WHEN cardinality(query.each_word) > 1 THEN
               (SELECT ARRAY[count(*) FILTER (WHERE w.kept), count(*)]
                FROM unnest(query.each_word, query.is_kept) AS w(q, kept)
                WHERE m.search @@ w.q)
           END AS held,
           ts_rank_cd(m.search, query.q) AS density,
           m.event_time
    FROM query
    JOIN adk.memories AS m
      ON m.app_name = $1 AND m.user_id = $2 AND m.search @@ query.q
    ORDER BY held DESC, density DESC, m.event_time DESC NULLS LAST, m.id
    LIMIT $10::integer
), loose AS (
    -- The same, for the query read as plain words: only when the strict reading found none.
    SELECT m.id,
           CASE WHEN cardinality(query.loose_each_word) > 1 THEN
               (SELECT ARRAY[count(*) FILTER (WHERE w.kept), count(*)]
                FROM unnest(query.loose_each_word, query.loose_is_kept) AS w(q, kept)
                WHERE m.search @@ w.q)
           END AS held,
           ts_rank_cd(m.search, query.loose_q) AS density,
           m.event_time
    FROM query
    JOIN adk.memories AS m
      ON m.app_name = $1 AND m.user_id = $2 AND m.search @@ query.loose_q
    WHERE query.loose_q IS NOT NULL AND NOT EXISTS (SELECT 1 FROM strict)
    ORDER BY held DESC, density DESC, m.event_time DESC NULLS LAST, m.id
    LIMIT $10::integer
), best AS (
    SELECT * FROM strict
    UNION ALL
    SELECT * FROM loose
)
-- JSON as text: the store reads it whatever codecs the caller's pool has.
SELECT m.id, m.session_id, m.event_id, m.author, m.event_time, m.time_text,
       m.content::text AS content, m.custom_metadata::text AS custom_metadata
FROM best
JOIN adk.memories AS m ON m.app_name = $1 AND m.user_id = $2 AND m.id = best.id
ORDER BY best.held DESC, best.density DESC, best.event_time DESC NULLS LAST, best.id;
