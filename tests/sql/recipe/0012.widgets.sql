-- Widgets, the throwaway entity of tests/_async/test_adding_an_entity.py.
-- depends: 0011.documents-follow-owners

CREATE TABLE widgets (
    id text PRIMARY KEY,
    name text NOT NULL,
    weight numeric NOT NULL,
    created_at timestamptz (3) NOT NULL DEFAULT now(),
    updated_at timestamptz (3) NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1,
    CONSTRAINT widgets_name_check CHECK (length(name) BETWEEN 1 AND 200),
    CONSTRAINT widgets_weight_check CHECK (weight >= 0),
    CONSTRAINT widgets_version_check CHECK (version >= 1)
);

CREATE TRIGGER widgets_touch_updated_at BEFORE UPDATE ON widgets
FOR EACH ROW EXECUTE FUNCTION vaultstore_touch_updated_at();
