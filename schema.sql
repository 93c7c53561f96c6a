-- The schema that the migrations in migrations/ produce, read from the catalogs
-- of a freshly migrated database. Generated: do not edit. After adding a
-- migration, regenerate it and review the diff with the migration:
--
--     vaultstore schema --database postgresql://user@host/db > schema.sql
--
-- tests/test_schema.py fails while this file and the migrations disagree.

CREATE OR REPLACE FUNCTION public.market_data_create_partition(month date)
 RETURNS text
 LANGUAGE plpgsql
AS $function$
DECLARE
    first_day constant date := date_trunc('month', month)::date;
    partition_name constant text := 'market_data_' || to_char(first_day, 'YYYY_MM');
    existing regclass := to_regclass(quote_ident(partition_name));
BEGIN
    IF existing IS NOT NULL THEN
        IF EXISTS (
            SELECT FROM pg_inherits
            WHERE inhrelid = existing AND inhparent = 'market_data'::regclass
        ) THEN
            RETURN NULL;
        END IF;
        RAISE EXCEPTION 'table % exists but is not a partition of market_data', partition_name
            USING ERRCODE = 'duplicate_table',
                HINT = 'drop it (a partition detached and not dropped) or attach it';
    END IF;
    EXECUTE format(
        'CREATE TABLE %I (LIKE market_data INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
        partition_name
    );
    EXECUTE format(
        'ALTER TABLE market_data ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
        partition_name,
        first_day::timestamp AT TIME ZONE 'UTC',
        (first_day + interval '1 month')::timestamp AT TIME ZONE 'UTC'
    );
    RETURN partition_name;
END;
$function$;

CREATE OR REPLACE FUNCTION public.vaultstore_audit()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    before jsonb;
    after jsonb;
    changed jsonb;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        before := to_jsonb(OLD);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        after := to_jsonb(NEW);
    END IF;
    SELECT coalesce(
        jsonb_object_agg(key, jsonb_build_object('old', before -> key, 'new', after -> key)),
        '{}'
    )
    INTO changed
    FROM jsonb_object_keys(coalesce(after, before)) AS key
    WHERE key <> ALL ('{id,tenant_id,version,created_at,updated_at}'::text [])
        AND coalesce(before -> key, 'null') IS DISTINCT FROM coalesce(after -> key, 'null');
    IF changed = '{}' AND (before -> 'version') IS NOT DISTINCT FROM (after -> 'version') THEN
        RETURN NULL;
    END IF;
    INSERT INTO audit_log (
        tenant_id, actor, operation_name, write_kind, entity_type, entity_id,
        version_before, version_after, changes
    ) VALUES (
        coalesce(
            after ->> 'tenant_id',
            before ->> 'tenant_id',
            nullif(current_setting('vaultstore.tenant', true), ''),
            'default'
        ),
        nullif(current_setting('vaultstore.actor', true), ''),
        (regexp_match(current_query(), '.*/\* vaultstore \S+ (\S+) \*/'))[1],
        lower(TG_OP),
        TG_ARGV[0],
        coalesce(after, before) ->> 'id',
        cast(before ->> 'version' AS integer),
        cast(after ->> 'version' AS integer),
        changed
    );
    RETURN NULL;
END;
$function$;

CREATE OR REPLACE FUNCTION public.vaultstore_change_feed()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO change_feed (
            tenant_id, entity_type, change_kind, entity_id, entity_version, entity_after
        )
        SELECT
            coalesce(written.row_after ->> 'tenant_id', '*'),
            TG_ARGV[0],
            'insert',
            written.row_after ->> 'id',
            cast(written.row_after ->> 'version' AS integer),
            written.row_after
        FROM (SELECT to_jsonb(i) AS row_after FROM inserted AS i) AS written;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO change_feed (
            tenant_id, entity_type, change_kind, entity_id, entity_version, entity_after
        )
        SELECT
            coalesce(written.row_after ->> 'tenant_id', '*'),
            TG_ARGV[0],
            'update',
            written.row_after ->> 'id',
            cast(written.row_after ->> 'version' AS integer),
            written.row_after
        FROM (
            SELECT
                to_jsonb(o) AS row_before,
                to_jsonb(n) AS row_after
            FROM old_rows AS o
            INNER JOIN new_rows AS n ON o.id = n.id
        ) AS written
        -- An update that changed nothing but updated_at makes no row.
        WHERE (written.row_before - 'updated_at') <> (written.row_after - 'updated_at');
    ELSE
        INSERT INTO change_feed (
            tenant_id, entity_type, change_kind, entity_id, entity_version, entity_after
        )
        SELECT
            coalesce(written.row_before ->> 'tenant_id', '*'),
            TG_ARGV[0],
            'delete',
            written.row_before ->> 'id',
            cast(written.row_before ->> 'version' AS integer),
            NULL
        FROM (SELECT to_jsonb(d) AS row_before FROM deleted AS d) AS written;
    END IF;
    IF FOUND THEN
        PERFORM pg_notify('vaultstore_changes', '');
    END IF;
    RETURN NULL;
END;
$function$;

CREATE OR REPLACE FUNCTION public.vaultstore_touch_updated_at()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$function$;

CREATE TABLE public.agents (
    id text NOT NULL,
    name text NOT NULL,
    credibility_score integer NOT NULL,
    credibility_tier text GENERATED ALWAYS AS (
CASE
    WHEN (credibility_score >= 800) THEN 'excellent'::text
    WHEN (credibility_score >= 600) THEN 'good'::text
    WHEN (credibility_score >= 400) THEN 'fair'::text
    ELSE 'poor'::text
END) STORED,
    created_at timestamp(3) with time zone DEFAULT now() NOT NULL,
    updated_at timestamp(3) with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    tenant_id text DEFAULT current_setting('vaultstore.tenant'::text) NOT NULL,
    CONSTRAINT agents_pkey PRIMARY KEY (id),
    CONSTRAINT agents_tenant_id_id_key UNIQUE (tenant_id, id),
    CONSTRAINT agents_tenant_id_name_key UNIQUE (tenant_id, name),
    CONSTRAINT agents_credibility_score_check CHECK (((credibility_score >= 0) AND (credibility_score <= 1000))),
    CONSTRAINT agents_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT agents_tenant_id_check CHECK ((tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'::text)),
    CONSTRAINT agents_version_check CHECK ((version >= 1))
);

CREATE TABLE public.audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
    tenant_id text NOT NULL,
    written_at timestamp(3) with time zone DEFAULT statement_timestamp() NOT NULL,
    actor text,
    database_role text DEFAULT SESSION_USER NOT NULL,
    operation_name text,
    write_kind text NOT NULL,
    entity_type text NOT NULL,
    entity_id text,
    version_before integer,
    version_after integer,
    changes jsonb DEFAULT '{}'::jsonb NOT NULL,
    row_count integer DEFAULT 1 NOT NULL,
    CONSTRAINT audit_log_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT audit_log_changes_check CHECK ((jsonb_typeof(changes) = 'object'::text)),
    CONSTRAINT audit_log_row_count_check CHECK ((row_count >= 1)),
    CONSTRAINT audit_log_write_kind_check CHECK ((write_kind = ANY (ARRAY['insert'::text, 'update'::text, 'delete'::text])))
);

CREATE TABLE public.change_feed (
    change_position bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
    tenant_id text NOT NULL,
    written_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    entity_type text NOT NULL,
    change_kind text NOT NULL,
    entity_id text NOT NULL,
    entity_version integer,
    entity_after jsonb,
    CONSTRAINT change_feed_pkey PRIMARY KEY (tenant_id, change_position),
    CONSTRAINT change_feed_change_kind_check CHECK ((change_kind = ANY (ARRAY['insert'::text, 'update'::text, 'delete'::text]))),
    CONSTRAINT change_feed_document_check CHECK (((change_kind = 'delete'::text) = (entity_after IS NULL)))
);

CREATE TABLE public.change_feed_pruned (
    singleton boolean DEFAULT true NOT NULL,
    pruned_through bigint NOT NULL,
    pruned_at timestamp with time zone DEFAULT statement_timestamp() NOT NULL,
    CONSTRAINT change_feed_pruned_pkey PRIMARY KEY (singleton),
    CONSTRAINT change_feed_pruned_singleton_check CHECK (singleton)
);

CREATE TABLE public.credit_vaults (
    id text NOT NULL,
    agent_id text NOT NULL,
    chain_id integer NOT NULL,
    collateral_token text NOT NULL,
    collateral_amount numeric NOT NULL,
    collateral_value_usd numeric NOT NULL,
    debt_token text NOT NULL,
    debt_amount numeric NOT NULL,
    debt_value_usd numeric NOT NULL,
    ltv numeric NOT NULL,
    health_factor numeric NOT NULL,
    max_ltv numeric NOT NULL,
    liquidation_protection_enabled boolean DEFAULT false NOT NULL,
    liquidation_protection_threshold numeric NOT NULL,
    liquidation_protection_cooldown integer DEFAULT 3600 NOT NULL,
    status text DEFAULT 'active'::text NOT NULL,
    created_at timestamp(3) with time zone DEFAULT now() NOT NULL,
    updated_at timestamp(3) with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    tenant_id text DEFAULT current_setting('vaultstore.tenant'::text) NOT NULL,
    CONSTRAINT credit_vaults_pkey PRIMARY KEY (id),
    CONSTRAINT credit_vaults_tenant_id_id_key UNIQUE (tenant_id, id),
    CONSTRAINT credit_vaults_chain_id_check CHECK ((chain_id > 0)),
    CONSTRAINT credit_vaults_collateral_amount_check CHECK ((collateral_amount >= (0)::numeric)),
    CONSTRAINT credit_vaults_collateral_token_check CHECK (((length(collateral_token) >= 1) AND (length(collateral_token) <= 64))),
    CONSTRAINT credit_vaults_collateral_value_usd_check CHECK ((collateral_value_usd >= (0)::numeric)),
    CONSTRAINT credit_vaults_debt_amount_check CHECK ((debt_amount >= (0)::numeric)),
    CONSTRAINT credit_vaults_debt_token_check CHECK (((length(debt_token) >= 1) AND (length(debt_token) <= 64))),
    CONSTRAINT credit_vaults_debt_value_usd_check CHECK ((debt_value_usd >= (0)::numeric)),
    CONSTRAINT credit_vaults_health_factor_check CHECK ((health_factor >= (0)::numeric)),
    CONSTRAINT credit_vaults_liquidation_protection_cooldown_check CHECK ((liquidation_protection_cooldown >= 0)),
    CONSTRAINT credit_vaults_liquidation_protection_threshold_check CHECK (((liquidation_protection_threshold > (0)::numeric) AND (liquidation_protection_threshold <= max_ltv))),
    CONSTRAINT credit_vaults_ltv_check CHECK ((ltv >= (0)::numeric)),
    CONSTRAINT credit_vaults_max_ltv_check CHECK (((max_ltv > (0)::numeric) AND (max_ltv <= (100)::numeric))),
    CONSTRAINT credit_vaults_status_check CHECK ((status = ANY (ARRAY['active'::text, 'at_risk'::text, 'liquidating'::text, 'liquidated'::text, 'closed'::text]))),
    CONSTRAINT credit_vaults_version_check CHECK ((version >= 1))
);

CREATE TABLE public.document_chunks (
    document_id text NOT NULL,
    n integer NOT NULL,
    data bytea NOT NULL,
    tenant_id text DEFAULT current_setting('vaultstore.tenant'::text) NOT NULL,
    CONSTRAINT document_chunks_pkey PRIMARY KEY (document_id, n),
    CONSTRAINT document_chunks_n_check CHECK ((n >= 0))
);

CREATE TABLE public.documents (
    id text NOT NULL,
    owner_type text NOT NULL,
    owner_id text NOT NULL,
    name text NOT NULL,
    content_type text DEFAULT 'application/octet-stream'::text NOT NULL,
    length bigint NOT NULL,
    sha256 text NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp(3) with time zone DEFAULT now() NOT NULL,
    tenant_id text DEFAULT current_setting('vaultstore.tenant'::text) NOT NULL,
    CONSTRAINT documents_pkey PRIMARY KEY (id),
    CONSTRAINT documents_tenant_id_id_key UNIQUE (tenant_id, id),
    CONSTRAINT documents_content_type_check CHECK (((length(content_type) >= 1) AND (length(content_type) <= 255))),
    CONSTRAINT documents_length_check CHECK ((length >= 0)),
    CONSTRAINT documents_metadata_check CHECK ((jsonb_typeof(metadata) = 'object'::text)),
    CONSTRAINT documents_name_check CHECK (((length(name) >= 1) AND (length(name) <= 255))),
    CONSTRAINT documents_owner_id_check CHECK (((length(owner_id) >= 1) AND (length(owner_id) <= 64))),
    CONSTRAINT documents_owner_type_check CHECK ((owner_type = ANY (ARRAY['vault'::text, 'agent'::text]))),
    CONSTRAINT documents_sha256_check CHECK ((sha256 ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT documents_tenant_id_check CHECK ((tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'::text))
);

CREATE TABLE public.liquidation_events (
    id text NOT NULL,
    vault_id text NOT NULL,
    chain_id integer NOT NULL,
    collateral_seized_token text NOT NULL,
    collateral_seized_amount numeric NOT NULL,
    collateral_seized_value_usd numeric NOT NULL,
    debt_repaid_token text NOT NULL,
    debt_repaid_amount numeric NOT NULL,
    debt_repaid_value_usd numeric NOT NULL,
    penalty_usd numeric DEFAULT 0 NOT NULL,
    ltv numeric NOT NULL,
    health_factor numeric NOT NULL,
    liquidator text NOT NULL,
    tx_hash text NOT NULL,
    occurred_at timestamp(3) with time zone NOT NULL,
    created_at timestamp(3) with time zone DEFAULT now() NOT NULL,
    updated_at timestamp(3) with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    tenant_id text DEFAULT current_setting('vaultstore.tenant'::text) NOT NULL,
    CONSTRAINT liquidation_events_pkey PRIMARY KEY (id, vault_id),
    CONSTRAINT liquidation_events_tx_hash_key UNIQUE (chain_id, tx_hash, vault_id),
    CONSTRAINT liquidation_events_chain_id_check CHECK ((chain_id > 0)),
    CONSTRAINT liquidation_events_collateral_seized_amount_check CHECK ((collateral_seized_amount >= (0)::numeric)),
    CONSTRAINT liquidation_events_collateral_seized_token_check CHECK (((length(collateral_seized_token) >= 1) AND (length(collateral_seized_token) <= 64))),
    CONSTRAINT liquidation_events_collateral_seized_value_usd_check CHECK ((collateral_seized_value_usd >= (0)::numeric)),
    CONSTRAINT liquidation_events_debt_repaid_amount_check CHECK ((debt_repaid_amount >= (0)::numeric)),
    CONSTRAINT liquidation_events_debt_repaid_token_check CHECK (((length(debt_repaid_token) >= 1) AND (length(debt_repaid_token) <= 64))),
    CONSTRAINT liquidation_events_debt_repaid_value_usd_check CHECK ((debt_repaid_value_usd >= (0)::numeric)),
    CONSTRAINT liquidation_events_health_factor_check CHECK ((health_factor >= (0)::numeric)),
    CONSTRAINT liquidation_events_liquidator_check CHECK (((length(liquidator) >= 1) AND (length(liquidator) <= 128))),
    CONSTRAINT liquidation_events_ltv_check CHECK ((ltv >= (0)::numeric)),
    CONSTRAINT liquidation_events_penalty_usd_check CHECK ((penalty_usd >= (0)::numeric)),
    CONSTRAINT liquidation_events_tx_hash_check CHECK (((length(tx_hash) >= 1) AND (length(tx_hash) <= 128))),
    CONSTRAINT liquidation_events_version_check CHECK ((version >= 1))
);

CREATE TABLE public.market_data (
    id text NOT NULL,
    token text NOT NULL,
    chain_id integer NOT NULL,
    price_usd numeric NOT NULL,
    volume_24h_usd numeric,
    market_cap_usd numeric,
    source text DEFAULT 'unknown'::text NOT NULL,
    recorded_at timestamp(3) with time zone NOT NULL,
    created_at timestamp(3) with time zone DEFAULT now() NOT NULL,
    updated_at timestamp(3) with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    CONSTRAINT market_data_pkey PRIMARY KEY (id, recorded_at, token),
    CONSTRAINT market_data_recorded_key UNIQUE (token, chain_id, source, recorded_at),
    CONSTRAINT market_data_chain_id_check CHECK ((chain_id > 0)),
    CONSTRAINT market_data_market_cap_usd_check CHECK ((market_cap_usd >= (0)::numeric)),
    CONSTRAINT market_data_price_usd_check CHECK ((price_usd > (0)::numeric)),
    CONSTRAINT market_data_source_check CHECK (((length(source) >= 1) AND (length(source) <= 100))),
    CONSTRAINT market_data_token_check CHECK (((length(token) >= 1) AND (length(token) <= 64))),
    CONSTRAINT market_data_version_check CHECK ((version >= 1)),
    CONSTRAINT market_data_volume_24h_usd_check CHECK ((volume_24h_usd >= (0)::numeric))
) PARTITION BY RANGE (recorded_at);

CREATE TABLE public.protection_rules (
    id text NOT NULL,
    vault_id text NOT NULL,
    name text NOT NULL,
    conditions jsonb NOT NULL,
    actions jsonb NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    priority integer DEFAULT 0 NOT NULL,
    cooldown integer DEFAULT 3600 NOT NULL,
    last_triggered_at timestamp(3) with time zone,
    trigger_count integer DEFAULT 0 NOT NULL,
    created_at timestamp(3) with time zone DEFAULT now() NOT NULL,
    updated_at timestamp(3) with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    tenant_id text DEFAULT current_setting('vaultstore.tenant'::text) NOT NULL,
    CONSTRAINT protection_rules_pkey PRIMARY KEY (id, vault_id),
    CONSTRAINT protection_rules_name_key UNIQUE (vault_id, name),
    CONSTRAINT protection_rules_actions_check CHECK ((jsonb_typeof(actions) = 'array'::text)),
    CONSTRAINT protection_rules_conditions_check CHECK ((jsonb_typeof(conditions) = 'object'::text)),
    CONSTRAINT protection_rules_cooldown_check CHECK ((cooldown >= 0)),
    CONSTRAINT protection_rules_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT protection_rules_priority_check CHECK (((priority >= 0) AND (priority <= 1000))),
    CONSTRAINT protection_rules_trigger_count_check CHECK ((trigger_count >= 0)),
    CONSTRAINT protection_rules_version_check CHECK ((version >= 1))
);

CREATE TABLE public.risk_alerts (
    id text NOT NULL,
    vault_id text NOT NULL,
    alert_type text NOT NULL,
    severity text NOT NULL,
    message text NOT NULL,
    status text DEFAULT 'open'::text NOT NULL,
    acknowledged_at timestamp(3) with time zone,
    resolved_at timestamp(3) with time zone,
    created_at timestamp(3) with time zone DEFAULT now() NOT NULL,
    updated_at timestamp(3) with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    tenant_id text DEFAULT current_setting('vaultstore.tenant'::text) NOT NULL,
    CONSTRAINT risk_alerts_pkey PRIMARY KEY (id, vault_id),
    CONSTRAINT risk_alerts_acknowledged_at_check CHECK (((status <> 'acknowledged'::text) OR (acknowledged_at IS NOT NULL))),
    CONSTRAINT risk_alerts_alert_type_check CHECK ((alert_type = ANY (ARRAY['ltv_warning'::text, 'ltv_critical'::text, 'health_factor_low'::text, 'liquidation_risk'::text, 'price_drop'::text, 'protection_triggered'::text]))),
    CONSTRAINT risk_alerts_message_check CHECK (((length(message) >= 1) AND (length(message) <= 2000))),
    CONSTRAINT risk_alerts_resolved_at_check CHECK (((status = 'resolved'::text) = (resolved_at IS NOT NULL))),
    CONSTRAINT risk_alerts_severity_check CHECK ((severity = ANY (ARRAY['low'::text, 'medium'::text, 'high'::text, 'critical'::text]))),
    CONSTRAINT risk_alerts_status_check CHECK ((status = ANY (ARRAY['open'::text, 'acknowledged'::text, 'resolved'::text]))),
    CONSTRAINT risk_alerts_version_check CHECK ((version >= 1))
);

CREATE TABLE public.vaultstore_migration_checksums (
    migration_id text NOT NULL,
    sha256 text NOT NULL,
    rollback_sha256 text,
    applied_at timestamp with time zone NOT NULL,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT vaultstore_migration_checksums_pkey PRIMARY KEY (migration_id),
    CONSTRAINT vaultstore_migration_checksums_rollback_sha256_check CHECK ((rollback_sha256 ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT vaultstore_migration_checksums_sha256_check CHECK ((sha256 ~ '^[0-9a-f]{64}$'::text))
);

ALTER TABLE ONLY public.credit_vaults
    ADD CONSTRAINT credit_vaults_agent_id_fkey FOREIGN KEY (tenant_id, agent_id) REFERENCES public.agents(tenant_id, id) ON DELETE RESTRICT;

ALTER TABLE ONLY public.document_chunks
    ADD CONSTRAINT document_chunks_document_id_fkey FOREIGN KEY (tenant_id, document_id) REFERENCES public.documents(tenant_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.liquidation_events
    ADD CONSTRAINT liquidation_events_vault_id_fkey FOREIGN KEY (tenant_id, vault_id) REFERENCES public.credit_vaults(tenant_id, id) ON DELETE RESTRICT;

ALTER TABLE ONLY public.protection_rules
    ADD CONSTRAINT protection_rules_vault_id_fkey FOREIGN KEY (tenant_id, vault_id) REFERENCES public.credit_vaults(tenant_id, id) ON DELETE CASCADE;

ALTER TABLE ONLY public.risk_alerts
    ADD CONSTRAINT risk_alerts_vault_id_fkey FOREIGN KEY (tenant_id, vault_id) REFERENCES public.credit_vaults(tenant_id, id) ON DELETE CASCADE;

CREATE INDEX agents_tenant_id_credibility_tier_id_idx ON public.agents USING btree (tenant_id, credibility_tier, id);

CREATE INDEX audit_log_tenant_id_actor_written_at_id_idx ON public.audit_log USING btree (tenant_id, actor, written_at, id);

CREATE INDEX audit_log_tenant_id_entity_type_entity_id_written_at_id_idx ON public.audit_log USING btree (tenant_id, entity_type, entity_id, written_at, id);

CREATE INDEX change_feed_change_position_idx ON public.change_feed USING btree (change_position);

CREATE INDEX change_feed_written_at_idx ON public.change_feed USING brin (written_at);

CREATE INDEX credit_vaults_tenant_id_agent_id_id_idx ON public.credit_vaults USING btree (tenant_id, agent_id, id);

CREATE INDEX credit_vaults_tenant_id_chain_id_id_idx ON public.credit_vaults USING btree (tenant_id, chain_id, id);

CREATE INDEX credit_vaults_tenant_id_ltv_id_idx ON public.credit_vaults USING btree (tenant_id, ltv, id);

CREATE INDEX documents_tenant_id_owner_type_owner_id_id_idx ON public.documents USING btree (tenant_id, owner_type, owner_id, id);

CREATE INDEX liquidation_events_tenant_id_occurred_at_id_idx ON public.liquidation_events USING btree (tenant_id, occurred_at, id);

CREATE INDEX liquidation_events_tenant_id_vault_id_occurred_at_id_idx ON public.liquidation_events USING btree (tenant_id, vault_id, occurred_at, id);

CREATE INDEX market_data_recorded_at_id_idx ON ONLY public.market_data USING btree (recorded_at, id);

CREATE INDEX market_data_source_recorded_at_idx ON ONLY public.market_data USING btree (source, recorded_at);

CREATE INDEX market_data_token_chain_id_recorded_at_id_idx ON ONLY public.market_data USING btree (token, chain_id, recorded_at, id);

CREATE INDEX protection_rules_conditions_idx ON public.protection_rules USING gin (conditions jsonb_path_ops);

CREATE INDEX protection_rules_tenant_id_enabled_vault_id_priority_idx ON public.protection_rules USING btree (tenant_id, vault_id, priority DESC, id) WHERE enabled;

CREATE INDEX risk_alerts_tenant_id_open_severity_id_idx ON public.risk_alerts USING btree (tenant_id, severity, id) WHERE (status <> 'resolved'::text);

CREATE INDEX risk_alerts_tenant_id_open_vault_id_id_idx ON public.risk_alerts USING btree (tenant_id, vault_id, id) WHERE (status <> 'resolved'::text);

CREATE INDEX risk_alerts_tenant_id_vault_id_id_idx ON public.risk_alerts USING btree (tenant_id, vault_id, id);

CREATE TRIGGER agents_audit AFTER INSERT OR DELETE OR UPDATE ON public.agents FOR EACH ROW WHEN ((COALESCE(current_setting('vaultstore.audit'::text, true), ''::text) <> ALL (ARRAY['off'::text, 'batch'::text]))) EXECUTE FUNCTION public.vaultstore_audit('agents');

CREATE TRIGGER agents_change_feed_delete AFTER DELETE ON public.agents REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION public.vaultstore_change_feed('agents');

CREATE TRIGGER agents_change_feed_insert AFTER INSERT ON public.agents REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION public.vaultstore_change_feed('agents');

CREATE TRIGGER agents_change_feed_update AFTER UPDATE ON public.agents REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.vaultstore_change_feed('agents');

CREATE TRIGGER agents_touch_updated_at BEFORE UPDATE ON public.agents FOR EACH ROW EXECUTE FUNCTION public.vaultstore_touch_updated_at();

CREATE TRIGGER credit_vaults_audit AFTER INSERT OR DELETE OR UPDATE ON public.credit_vaults FOR EACH ROW WHEN ((COALESCE(current_setting('vaultstore.audit'::text, true), ''::text) <> ALL (ARRAY['off'::text, 'batch'::text]))) EXECUTE FUNCTION public.vaultstore_audit('vaults');

CREATE TRIGGER credit_vaults_change_feed_delete AFTER DELETE ON public.credit_vaults REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION public.vaultstore_change_feed('vaults');

CREATE TRIGGER credit_vaults_change_feed_insert AFTER INSERT ON public.credit_vaults REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION public.vaultstore_change_feed('vaults');

CREATE TRIGGER credit_vaults_change_feed_update AFTER UPDATE ON public.credit_vaults REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.vaultstore_change_feed('vaults');

CREATE TRIGGER credit_vaults_touch_updated_at BEFORE UPDATE ON public.credit_vaults FOR EACH ROW EXECUTE FUNCTION public.vaultstore_touch_updated_at();

CREATE TRIGGER documents_audit AFTER INSERT OR DELETE ON public.documents FOR EACH ROW WHEN ((COALESCE(current_setting('vaultstore.audit'::text, true), ''::text) <> ALL (ARRAY['off'::text, 'batch'::text]))) EXECUTE FUNCTION public.vaultstore_audit('documents');

CREATE TRIGGER liquidation_events_audit AFTER INSERT OR DELETE OR UPDATE ON public.liquidation_events FOR EACH ROW WHEN ((COALESCE(current_setting('vaultstore.audit'::text, true), ''::text) <> ALL (ARRAY['off'::text, 'batch'::text]))) EXECUTE FUNCTION public.vaultstore_audit('liquidations');

CREATE TRIGGER liquidation_events_change_feed_delete AFTER DELETE ON public.liquidation_events REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION public.vaultstore_change_feed('liquidations');

CREATE TRIGGER liquidation_events_change_feed_insert AFTER INSERT ON public.liquidation_events REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION public.vaultstore_change_feed('liquidations');

CREATE TRIGGER liquidation_events_change_feed_update AFTER UPDATE ON public.liquidation_events REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.vaultstore_change_feed('liquidations');

CREATE TRIGGER liquidation_events_touch_updated_at BEFORE UPDATE ON public.liquidation_events FOR EACH ROW EXECUTE FUNCTION public.vaultstore_touch_updated_at();

CREATE TRIGGER market_data_audit AFTER INSERT OR DELETE OR UPDATE ON public.market_data FOR EACH ROW WHEN ((COALESCE(current_setting('vaultstore.audit'::text, true), ''::text) <> ALL (ARRAY['off'::text, 'batch'::text]))) EXECUTE FUNCTION public.vaultstore_audit('market_data');

CREATE TRIGGER market_data_change_feed_delete AFTER DELETE ON public.market_data REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION public.vaultstore_change_feed('market_data');

CREATE TRIGGER market_data_change_feed_insert AFTER INSERT ON public.market_data REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION public.vaultstore_change_feed('market_data');

CREATE TRIGGER market_data_change_feed_update AFTER UPDATE ON public.market_data REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.vaultstore_change_feed('market_data');

CREATE TRIGGER market_data_touch_updated_at BEFORE UPDATE ON public.market_data FOR EACH ROW EXECUTE FUNCTION public.vaultstore_touch_updated_at();

CREATE TRIGGER protection_rules_audit AFTER INSERT OR DELETE OR UPDATE ON public.protection_rules FOR EACH ROW WHEN ((COALESCE(current_setting('vaultstore.audit'::text, true), ''::text) <> ALL (ARRAY['off'::text, 'batch'::text]))) EXECUTE FUNCTION public.vaultstore_audit('protection_rules');

CREATE TRIGGER protection_rules_change_feed_delete AFTER DELETE ON public.protection_rules REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION public.vaultstore_change_feed('protection_rules');

CREATE TRIGGER protection_rules_change_feed_insert AFTER INSERT ON public.protection_rules REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION public.vaultstore_change_feed('protection_rules');

CREATE TRIGGER protection_rules_change_feed_update AFTER UPDATE ON public.protection_rules REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.vaultstore_change_feed('protection_rules');

CREATE TRIGGER protection_rules_touch_updated_at BEFORE UPDATE ON public.protection_rules FOR EACH ROW EXECUTE FUNCTION public.vaultstore_touch_updated_at();

CREATE TRIGGER risk_alerts_audit AFTER INSERT OR DELETE OR UPDATE ON public.risk_alerts FOR EACH ROW WHEN ((COALESCE(current_setting('vaultstore.audit'::text, true), ''::text) <> ALL (ARRAY['off'::text, 'batch'::text]))) EXECUTE FUNCTION public.vaultstore_audit('alerts');

CREATE TRIGGER risk_alerts_change_feed_delete AFTER DELETE ON public.risk_alerts REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION public.vaultstore_change_feed('alerts');

CREATE TRIGGER risk_alerts_change_feed_insert AFTER INSERT ON public.risk_alerts REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION public.vaultstore_change_feed('alerts');

CREATE TRIGGER risk_alerts_change_feed_update AFTER UPDATE ON public.risk_alerts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.vaultstore_change_feed('alerts');

CREATE TRIGGER risk_alerts_touch_updated_at BEFORE UPDATE ON public.risk_alerts FOR EACH ROW EXECUTE FUNCTION public.vaultstore_touch_updated_at();
