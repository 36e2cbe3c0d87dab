-- ADK's long-term memory (PostgresMemoryService): what an agent may recall across sessions,
-- one row per memory, searched with PostgreSQL's full-text search. A memory is an event of a
-- session added to memory (its id is the event id) or an entry added directly.
--
-- The search vector joins two parts: the text through a stemming configuration (english by
-- default: "runs" finds "running"), and every word and, in scripts written without spaces,
-- every two-character run, as hex-coded 'simple' lexemes (x + the UTF-8 bytes in hex), which
-- PostgreSQL's parser keeps whatever the database's locale: stop words, CJK and mixed-script
-- text stay findable. Words are cut and lowercased by the client (Unicode rules).
-- A later migration can add an embedding column beside search; nothing here assumes there
-- is none.

CREATE TABLE adk.memories (
    app_name        varchar(128) COLLATE "C" NOT NULL,
    user_id         varchar(128) COLLATE "C" NOT NULL,
    id              varchar(128) COLLATE "C" NOT NULL,
    session_id      varchar(128) COLLATE "C",
    event_id        varchar(128) COLLATE "C",
    author          text,
    event_time      double precision,
    time_text       text,
    content         jsonb,
    custom_metadata jsonb        NOT NULL DEFAULT '{}'::jsonb,
    search_config   regconfig,
    search_text     text,
    search          tsvector,
    create_time     timestamptz  NOT NULL DEFAULT now(),
    update_time     timestamptz  NOT NULL DEFAULT now(),
    deleted_time    timestamptz,
    CONSTRAINT memories_pkey PRIMARY KEY (app_name, user_id, id),
    CONSTRAINT memories_content_is_object
        CHECK (content IS NULL OR jsonb_typeof(content) = 'object'),
    CONSTRAINT memories_metadata_is_object CHECK (jsonb_typeof(custom_metadata) = 'object'),
    CONSTRAINT memories_deleted_keep_no_text
        CHECK (deleted_time IS NULL OR (content IS NULL AND search_text IS NULL
                                        AND search IS NULL)),
    CONSTRAINT memories_live_have_content
        CHECK (deleted_time IS NOT NULL OR (content IS NOT NULL AND search IS NOT NULL))
);

COMMENT ON TABLE adk.memories IS
    'ADK long-term memory: what an agent can recall across a user''s sessions, searched by '
    'full text. A deleted memory keeps only its ids (deleted_time set), so that adding its '
    'session again does not bring it back.';
COMMENT ON COLUMN adk.memories.app_name IS 'The ADK app (agent) name.';
COMMENT ON COLUMN adk.memories.user_id IS 'The user whose memory it is.';
COMMENT ON COLUMN adk.memories.id IS
    'The memory id (MemoryEntry.id): the event id for a memory added from a session.';
COMMENT ON COLUMN adk.memories.session_id IS
    'The session the event came from; NULL for a memory added directly or an event added '
    'without a session.';
COMMENT ON COLUMN adk.memories.event_id IS 'The event it came from; NULL for a direct memory.';
COMMENT ON COLUMN adk.memories.author IS '"user" or the agent that wrote the event.';
COMMENT ON COLUMN adk.memories.event_time IS
    'When the remembered event happened: float seconds since the epoch, as ADK gave it.';
COMMENT ON COLUMN adk.memories.time_text IS
    'The timestamp text of a memory added directly (MemoryEntry.timestamp), as given.';
COMMENT ON COLUMN adk.memories.content IS
    'The remembered message: google.genai Content as JSON, whole. NULL once deleted.';
COMMENT ON COLUMN adk.memories.custom_metadata IS 'Metadata given with the memory.';
COMMENT ON COLUMN adk.memories.search_config IS
    'The text search configuration search was built with (english unless configured).';
COMMENT ON COLUMN adk.memories.search_text IS
    'The text indexed: the message''s text parts, lowercased, cut to the indexed size.';
COMMENT ON COLUMN adk.memories.search IS
    'The full-text search vector of search_text (see the migration''s header).';
COMMENT ON COLUMN adk.memories.create_time IS 'When the memory was first stored.';
COMMENT ON COLUMN adk.memories.update_time IS 'When the memory was last written (server clock).';
COMMENT ON COLUMN adk.memories.deleted_time IS 'When the memory was deleted, else NULL.';

-- btree_gin lets one GIN index hold the user's keys beside the words, so a search reads only
-- that user's entries for a word: rare words in well under a millisecond, common ones without
-- visiting other users' rows. A trusted extension (PostgreSQL 13+): a database owner may
-- create it.
CREATE EXTENSION IF NOT EXISTS btree_gin SCHEMA adk;

CREATE INDEX memories_search_idx ON adk.memories USING gin (app_name, user_id, search);
COMMENT ON INDEX adk.memories_search_idx IS
    'search_memory: a user''s memories holding a word (btree_gin keys the user beside the words).';


CREATE VIEW adk.memory_log AS
SELECT m.app_name,
       m.user_id,
       m.id AS memory_id,
       m.session_id,
       m.author,
       to_timestamp(m.event_time) AS event_time,
       (SELECT string_agg(part ->> 'text', E'\n' ORDER BY n)
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(m.content -> 'parts') = 'array'
                                       THEN m.content -> 'parts'
                                       ELSE '[]'::jsonb END) WITH ORDINALITY AS p(part, n))
           AS text,
       m.custom_metadata,
       m.update_time,
       m.deleted_time IS NOT NULL AS deleted
FROM adk.memories AS m;

COMMENT ON VIEW adk.memory_log IS
    'One row per memory, readable: e.g. SELECT event_time, author, text FROM adk.memory_log '
    'WHERE app_name = ''my_app'' AND user_id = ''alice'' AND NOT deleted ORDER BY event_time;';
COMMENT ON COLUMN adk.memory_log.app_name IS 'The ADK app name.';
COMMENT ON COLUMN adk.memory_log.user_id IS 'The user whose memory it is.';
COMMENT ON COLUMN adk.memory_log.memory_id IS 'The memory id (adk.memories.id).';
COMMENT ON COLUMN adk.memory_log.session_id IS 'The session it came from, if any.';
COMMENT ON COLUMN adk.memory_log.author IS 'Who wrote the remembered message.';
COMMENT ON COLUMN adk.memory_log.event_time IS 'When the remembered event happened.';
COMMENT ON COLUMN adk.memory_log.text IS 'The text parts of the remembered message.';
COMMENT ON COLUMN adk.memory_log.custom_metadata IS 'Metadata given with the memory.';
COMMENT ON COLUMN adk.memory_log.update_time IS 'When the memory was last written.';
COMMENT ON COLUMN adk.memory_log.deleted IS 'Whether the memory was deleted (ids only kept).';
