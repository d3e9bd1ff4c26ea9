-- Per-node caches of credentials, tenants and tenant policies (src/kernel/cache.ts) are invalidated
-- through PostgreSQL LISTEN/NOTIFY: every committed change to a row they are built from notifies
-- channel "paybond_cache" with the row's tenant id. NOTIFY is transactional: it is delivered when
-- (and only if) the change commits, to every node listening on the same database. Writes of the
-- columns named in TG_ARGV[0] alone (last-use stamps) change nothing a cache holds and notify nothing.
CREATE FUNCTION "paybond_cache_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  old_row jsonb := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END;
  new_row jsonb := CASE WHEN TG_OP IN ('UPDATE', 'INSERT') THEN to_jsonb(NEW) END;
BEGIN
  IF TG_OP = 'UPDATE' AND TG_ARGV[0] <> '' AND (old_row - TG_ARGV[0]) = (new_row - TG_ARGV[0]) THEN
    RETURN NULL;
  END IF;
  IF old_row IS NOT NULL THEN PERFORM pg_notify('paybond_cache', coalesce(old_row ->> TG_ARGV[1], '*')); END IF;
  IF new_row IS NOT NULL THEN PERFORM pg_notify('paybond_cache', coalesce(new_row ->> TG_ARGV[1], '*')); END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "ApiKey_cache_notify" AFTER INSERT OR UPDATE OR DELETE ON "ApiKey"
  FOR EACH ROW EXECUTE FUNCTION "paybond_cache_notify"('lastUsedAt', 'tenantId');
CREATE TRIGGER "AgentSession_cache_notify" AFTER INSERT OR UPDATE OR DELETE ON "AgentSession"
  FOR EACH ROW EXECUTE FUNCTION "paybond_cache_notify"('lastSeenAt', 'tenantId');
CREATE TRIGGER "PersonalAccessToken_cache_notify" AFTER INSERT OR UPDATE OR DELETE ON "PersonalAccessToken"
  FOR EACH ROW EXECUTE FUNCTION "paybond_cache_notify"('lastUsedAt', 'tenantId');
CREATE TRIGGER "TrustedAgentKey_cache_notify" AFTER INSERT OR UPDATE OR DELETE ON "TrustedAgentKey"
  FOR EACH ROW EXECUTE FUNCTION "paybond_cache_notify"('', 'tenantId');
CREATE TRIGGER "Session_cache_notify" AFTER INSERT OR UPDATE OR DELETE ON "Session"
  FOR EACH ROW EXECUTE FUNCTION "paybond_cache_notify"('', 'tenantId');
CREATE TRIGGER "Tenant_cache_notify" AFTER INSERT OR UPDATE OR DELETE ON "Tenant"
  FOR EACH ROW EXECUTE FUNCTION "paybond_cache_notify"('', 'id');
CREATE TRIGGER "GuardrailPolicyVersion_cache_notify" AFTER INSERT OR UPDATE OR DELETE ON "GuardrailPolicyVersion"
  FOR EACH ROW EXECUTE FUNCTION "paybond_cache_notify"('', 'tenantId');
CREATE TRIGGER "SettlementConfigVersion_cache_notify" AFTER INSERT OR UPDATE OR DELETE ON "SettlementConfigVersion"
  FOR EACH ROW EXECUTE FUNCTION "paybond_cache_notify"('', 'tenantId');
