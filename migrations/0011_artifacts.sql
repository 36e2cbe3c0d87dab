-- Artifacts: the files ADK agents and tools save (BaseArtifactService), versioned 0, 1, 2, ...
--
-- Three tables, all keyed by (app_name, user_id, session_id, filename), where session_id is ''
-- for a user-scoped artifact (a filename starting with "user:", shared by all of the user's
-- sessions):
--   adk.artifacts          one row per artifact: the version counter. A save increments it in
--                          the statement that inserts the version, so concurrent saves of one
--                          file wait for each other on this row and get distinct, gapless
--                          versions; a delete removes it, and with it everything below.
--   adk.artifact_versions  one row per version: kind, mime type, custom metadata, the Part
--                          without its payload (JSON), size, sha256 and create time.
--   adk.artifact_contents  the payload bytes, once per distinct sha256 *within one artifact*:
--                          saving the same bytes again as a new version (a re-save, a rewind)
--                          stores nothing new. Bytes are not shared between artifacts, so
--                          deleting one never has to ask whether another still needs them.
-- Key columns use the "C" collation, as the session tables do.

CREATE TABLE adk.artifacts (
    app_name     varchar(128)  COLLATE "C" NOT NULL,
    user_id      varchar(128)  COLLATE "C" NOT NULL,
    session_id   varchar(128)  COLLATE "C" NOT NULL,
    filename     varchar(1024) COLLATE "C" NOT NULL,
    next_version integer       NOT NULL,
    create_time  timestamptz   NOT NULL DEFAULT now(),
    update_time  timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT artifacts_pkey PRIMARY KEY (app_name, user_id, session_id, filename),
    CONSTRAINT artifacts_scope_matches_filename
        CHECK ((session_id = '') = starts_with(filename, 'user:')),
    CONSTRAINT artifacts_filename_length CHECK (octet_length(filename) BETWEEN 1 AND 1024),
    CONSTRAINT artifacts_next_version_positive CHECK (next_version >= 1)
);

COMMENT ON TABLE adk.artifacts IS
    'One row per ADK artifact (a file saved through the artifact service), holding its '
    'version counter; its versions are in adk.artifact_versions, its bytes in '
    'adk.artifact_contents. Deleting the row deletes both (ON DELETE CASCADE).';
COMMENT ON COLUMN adk.artifacts.app_name IS 'The ADK app (agent) name.';
COMMENT ON COLUMN adk.artifacts.user_id IS 'The user the artifact belongs to.';
COMMENT ON COLUMN adk.artifacts.session_id IS
    'The session of a session-scoped artifact; '''' (empty) for a user-scoped one, which every '
    'session of the user sees.';
COMMENT ON COLUMN adk.artifacts.filename IS
    'The artifact''s name, verbatim (a name, never a path: "../x" is just a name). User-scoped '
    'artifacts are stored with their "user:" prefix.';
COMMENT ON COLUMN adk.artifacts.next_version IS
    'The version the next save gets: versions are 0 .. next_version - 1. Incremented by the '
    'statement that inserts each version, under this row''s lock.';
COMMENT ON COLUMN adk.artifacts.create_time IS 'When version 0 was saved.';
COMMENT ON COLUMN adk.artifacts.update_time IS 'When the latest version was saved.';


CREATE TABLE adk.artifact_contents (
    app_name    varchar(128)  COLLATE "C" NOT NULL,
    user_id     varchar(128)  COLLATE "C" NOT NULL,
    session_id  varchar(128)  COLLATE "C" NOT NULL,
    filename    varchar(1024) COLLATE "C" NOT NULL,
    sha256      bytea         NOT NULL,
    size        bigint        NOT NULL,
    data        bytea         NOT NULL,
    create_time timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT artifact_contents_pkey
        PRIMARY KEY (app_name, user_id, session_id, filename, sha256),
    CONSTRAINT artifact_contents_artifact_fkey FOREIGN KEY (app_name, user_id, session_id, filename)
        REFERENCES adk.artifacts (app_name, user_id, session_id, filename) ON DELETE CASCADE,
    CONSTRAINT artifact_contents_sha256_length CHECK (octet_length(sha256) = 32),
    CONSTRAINT artifact_contents_size_matches CHECK (size = octet_length(data))
);

-- Artifacts are mostly compressed already (PNG, JPEG, PDF, zip): out of line, never
-- compressed. With the default (EXTENDED) TOAST runs pglz over every value on every write: a
-- 1 MiB PDF-like payload (text header, compressed streams) took 17 ms to insert instead of
-- 3.3 ms, only to store it uncompressed. Text-like data (CSV, JSON) is then stored at full
-- size: measured, 1 MiB of CSV took 4.3 ms and 1,065 kB instead of 26 ms and 200 kB.
ALTER TABLE adk.artifact_contents ALTER COLUMN data SET STORAGE EXTERNAL;

COMMENT ON TABLE adk.artifact_contents IS
    'The payload bytes of an artifact''s versions, one row per distinct sha256 within one '
    'artifact: versions saving the same bytes share it. Stored out of line, uncompressed '
    '(STORAGE EXTERNAL): artifacts are mostly compressed media already.';
COMMENT ON COLUMN adk.artifact_contents.app_name IS 'The artifact''s app name.';
COMMENT ON COLUMN adk.artifact_contents.user_id IS 'The artifact''s user id.';
COMMENT ON COLUMN adk.artifact_contents.session_id IS
    'The artifact''s session id ('''' for a user-scoped artifact).';
COMMENT ON COLUMN adk.artifact_contents.filename IS 'The artifact''s name.';
COMMENT ON COLUMN adk.artifact_contents.sha256 IS 'SHA-256 of data (32 bytes).';
COMMENT ON COLUMN adk.artifact_contents.size IS 'The length of data in bytes.';
COMMENT ON COLUMN adk.artifact_contents.data IS
    'The payload: inline_data bytes as given, or the UTF-8 bytes of a text part.';
COMMENT ON COLUMN adk.artifact_contents.create_time IS 'When these bytes were first saved.';


CREATE TABLE adk.artifact_versions (
    app_name        varchar(128)  COLLATE "C" NOT NULL,
    user_id         varchar(128)  COLLATE "C" NOT NULL,
    session_id      varchar(128)  COLLATE "C" NOT NULL,
    filename        varchar(1024) COLLATE "C" NOT NULL,
    version         integer       NOT NULL,
    kind            text          NOT NULL,
    mime_type       text,
    part            jsonb         NOT NULL DEFAULT '{}'::jsonb,
    custom_metadata jsonb         NOT NULL DEFAULT '{}'::jsonb,
    sha256          bytea,
    size            bigint        NOT NULL DEFAULT 0,
    create_time     timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT artifact_versions_pkey
        PRIMARY KEY (app_name, user_id, session_id, filename, version),
    CONSTRAINT artifact_versions_artifact_fkey FOREIGN KEY (app_name, user_id, session_id, filename)
        REFERENCES adk.artifacts (app_name, user_id, session_id, filename) ON DELETE CASCADE,
    CONSTRAINT artifact_versions_content_fkey
        FOREIGN KEY (app_name, user_id, session_id, filename, sha256)
        REFERENCES adk.artifact_contents (app_name, user_id, session_id, filename, sha256),
    CONSTRAINT artifact_versions_version_not_negative CHECK (version >= 0),
    CONSTRAINT artifact_versions_kind_known CHECK (kind IN ('bytes', 'text', 'part')),
    CONSTRAINT artifact_versions_payload_matches_kind CHECK ((kind = 'part') = (sha256 IS NULL)),
    CONSTRAINT artifact_versions_size_not_negative CHECK (size >= 0),
    CONSTRAINT artifact_versions_part_is_object CHECK (jsonb_typeof(part) = 'object'),
    CONSTRAINT artifact_versions_custom_metadata_is_object
        CHECK (jsonb_typeof(custom_metadata) = 'object')
);

COMMENT ON TABLE adk.artifact_versions IS
    'One row per saved version of an artifact: what it is and how to rebuild the ADK Part. '
    'The bytes are in adk.artifact_contents under (artifact, sha256).';
COMMENT ON COLUMN adk.artifact_versions.app_name IS 'The artifact''s app name.';
COMMENT ON COLUMN adk.artifact_versions.user_id IS 'The artifact''s user id.';
COMMENT ON COLUMN adk.artifact_versions.session_id IS
    'The artifact''s session id ('''' for a user-scoped artifact).';
COMMENT ON COLUMN adk.artifact_versions.filename IS 'The artifact''s name.';
COMMENT ON COLUMN adk.artifact_versions.version IS
    'The version: 0 for the first save, then 1, 2, ... without gaps.';
COMMENT ON COLUMN adk.artifact_versions.kind IS
    '"bytes": an inline_data part (its bytes in adk.artifact_contents); "text": a text part '
    '(its UTF-8 bytes there); "part": a part without a payload of its own, such as a file_data '
    'reference, kept whole in part.';
COMMENT ON COLUMN adk.artifact_versions.mime_type IS
    'The MIME type: inline_data.mime_type, text/plain for text, file_data.mime_type; NULL when '
    'unknown (an artifact:// reference, or inline data saved without one).';
COMMENT ON COLUMN adk.artifact_versions.part IS
    'The google.genai Part as JSON (snake_case) without its payload: e.g. '
    '{"inline_data": {"mime_type": "image/png", "display_name": "chart.png"}}.';
COMMENT ON COLUMN adk.artifact_versions.custom_metadata IS
    'The custom_metadata given to save_artifact (a JSON object).';
COMMENT ON COLUMN adk.artifact_versions.sha256 IS
    'SHA-256 of the payload (the key of its adk.artifact_contents row); NULL for kind part.';
COMMENT ON COLUMN adk.artifact_versions.size IS 'The payload''s length in bytes (0 for kind part).';
COMMENT ON COLUMN adk.artifact_versions.create_time IS
    'When the version was saved (ADK''s ArtifactVersion.create_time).';


CREATE VIEW adk.artifact_overview AS
SELECT a.app_name,
       a.user_id,
       nullif(a.session_id, '') AS session_id,
       CASE WHEN a.session_id = '' THEN 'user' ELSE 'session' END AS scope,
       a.filename,
       v.version AS latest_version,
       (SELECT count(*)
        FROM adk.artifact_versions AS n
        WHERE n.app_name = a.app_name AND n.user_id = a.user_id
          AND n.session_id = a.session_id AND n.filename = a.filename) AS versions,
       v.mime_type,
       v.size,
       (SELECT coalesce(sum(c.size), 0)
        FROM adk.artifact_contents AS c
        WHERE c.app_name = a.app_name AND c.user_id = a.user_id
          AND c.session_id = a.session_id AND c.filename = a.filename)::bigint AS stored_bytes,
       v.kind,
       a.update_time AS last_update,
       a.create_time AS created,
       v.custom_metadata
FROM adk.artifacts AS a
LEFT JOIN LATERAL (
    SELECT lv.version, lv.mime_type, lv.size, lv.kind, lv.custom_metadata
    FROM adk.artifact_versions AS lv
    WHERE lv.app_name = a.app_name AND lv.user_id = a.user_id
      AND lv.session_id = a.session_id AND lv.filename = a.filename
    ORDER BY lv.version DESC
    LIMIT 1
) AS v ON true;

COMMENT ON VIEW adk.artifact_overview IS
    'One row per artifact: its latest version''s size and MIME type, how many versions it has '
    'and the bytes they take, e.g. SELECT filename, latest_version, mime_type, '
    'pg_size_pretty(size) FROM adk.artifact_overview WHERE app_name = ''my_app'' '
    'ORDER BY last_update DESC LIMIT 20;';
COMMENT ON COLUMN adk.artifact_overview.app_name IS 'The ADK app (agent) name.';
COMMENT ON COLUMN adk.artifact_overview.user_id IS 'The user the artifact belongs to.';
COMMENT ON COLUMN adk.artifact_overview.session_id IS
    'The session of a session-scoped artifact; NULL for a user-scoped one.';
COMMENT ON COLUMN adk.artifact_overview.scope IS '"session" or "user" (a user: artifact).';
COMMENT ON COLUMN adk.artifact_overview.filename IS 'The artifact''s name (user: kept).';
COMMENT ON COLUMN adk.artifact_overview.latest_version IS 'The newest version number.';
COMMENT ON COLUMN adk.artifact_overview.versions IS 'How many versions are stored.';
COMMENT ON COLUMN adk.artifact_overview.mime_type IS 'The latest version''s MIME type.';
COMMENT ON COLUMN adk.artifact_overview.size IS 'The latest version''s size in bytes.';
COMMENT ON COLUMN adk.artifact_overview.stored_bytes IS
    'The bytes all its versions take, each distinct payload counted once.';
COMMENT ON COLUMN adk.artifact_overview.kind IS
    'The latest version''s kind: bytes, text or part (e.g. a file reference).';
COMMENT ON COLUMN adk.artifact_overview.last_update IS 'When the latest version was saved.';
COMMENT ON COLUMN adk.artifact_overview.created IS 'When version 0 was saved.';
COMMENT ON COLUMN adk.artifact_overview.custom_metadata IS
    'The latest version''s custom metadata.';
