-- Large documents (risk reports, audit snapshots) attached to a vault or an agent,
-- stored in chunks of 255 KiB so that none is ever read or written whole.
-- depends: 0006.market-data

-- One row per document: what it is, whose it is, and its length and SHA-256, which
-- vaultstore takes while the chunks stream in and checks when they are read back.
-- The owner is a vault or an agent (owner_type), so no foreign key can name it:
-- vaultstore checks it exists, and locks it, in the transaction that stores the
-- document.
CREATE TABLE documents (
    id text PRIMARY KEY,
    owner_type text NOT NULL,
    owner_id text NOT NULL,
    name text NOT NULL,
    content_type text NOT NULL DEFAULT 'application/octet-stream',
    length bigint NOT NULL,
    sha256 text NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz (3) NOT NULL DEFAULT now(),
    CONSTRAINT documents_owner_type_check CHECK (owner_type IN ('vault', 'agent')),
    CONSTRAINT documents_owner_id_check CHECK (length(owner_id) BETWEEN 1 AND 64),
    CONSTRAINT documents_name_check CHECK (length(name) BETWEEN 1 AND 255),
    CONSTRAINT documents_content_type_check CHECK (length(content_type) BETWEEN 1 AND 255),
    CONSTRAINT documents_length_check CHECK (length >= 0),
    CONSTRAINT documents_sha256_check CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    CONSTRAINT documents_metadata_check CHECK (jsonb_typeof(metadata) = 'object')
);

-- list_by_owner: one owner's documents in creation order
CREATE INDEX documents_owner_type_owner_id_id_idx ON documents (owner_type, owner_id, id);

-- The content: chunk n holds bytes [n * 255 KiB, (n + 1) * 255 KiB). The chunks of
-- a document are written before its row, whose length and checksum are known only
-- at the end, so the foreign key is checked when the transaction commits.
CREATE TABLE document_chunks (
    document_id text NOT NULL,
    n integer NOT NULL,
    data bytea NOT NULL,
    CONSTRAINT document_chunks_pkey PRIMARY KEY (document_id, n),
    CONSTRAINT document_chunks_document_id_fkey FOREIGN KEY (document_id)
    REFERENCES documents (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT document_chunks_n_check CHECK (n >= 0)
);
