-- API keys made in the Supabase SQL editor, as seed 000 tells users to:
--
--   INSERT INTO api_keys (user_id, organization_id, key_hash, tier)
--   VALUES ('<user uuid>', '<org uuid>', crypt('<any plaintext key>', gen_salt('bf')), 'solo');
--
-- Such a key has only a bcrypt hash, and a bcrypt hash cannot be looked up: finding the
-- row of a presented key would mean trying bcrypt on every such row. So the plaintext's
-- SHA-256 is captured on the way in and stored as api_keys.lookup_hash; the server finds
-- the row with one indexed lookup (lookup_hash = sha256(presented key)) and verifies the
-- bcrypt of that single row.
--
-- How it is captured, without changing the statement users type:
-- * public.crypt(text, text) wraps pgcrypto's crypt. The SQL editor's search_path is
--   "$user", public, extensions, so the unqualified crypt(…) resolves to the wrapper
--   first. It returns exactly pgcrypto's result and, only when the salt is a fresh bcrypt
--   salt (29 characters starting with $2, what gen_salt('bf') returns: never a stored
--   hash, as when verifying), records (the hash, sha256 hex of the plaintext) in
--   public.api_key_pending_digests. gen_salt stays pgcrypto's (schema extensions).
-- * A BEFORE INSERT OR UPDATE OF key_hash trigger on api_keys moves that digest into
--   lookup_hash for a bcrypt key_hash without one, deleting the side row, and deletes
--   side rows older than an hour (crypt called but never inserted). A bcrypt key that
--   still has no lookup_hash could never be found, so the insert fails and says why.
-- * An AFTER INSERT trigger makes the key's user a member of its organization, as a
--   key's owner is (row-level security and access tokens read organization_members).
--
-- Where pgcrypto lives in schema public (an old project), public.crypt is pgcrypto's own
-- and cannot be wrapped: the wrapper is skipped with a NOTICE, and such keys must be
-- inserted with lookup_hash given explicitly:
--   lookup_hash = encode(digest('<key>', 'sha256'), 'hex').

CREATE TABLE public.api_key_pending_digests (
    key_hash     text PRIMARY KEY,       -- the bcrypt hash crypt() returned
    lookup_hash  text NOT NULL,          -- SHA-256 (hex) of the plaintext key
    created_at   timestamptz NOT NULL DEFAULT now()
);
-- Not for anyone but the owner (and service_role): RLS on, no policy, no privileges.
ALTER TABLE public.api_key_pending_digests ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.api_key_pending_digests FROM PUBLIC, anon, authenticated;
GRANT ALL ON public.api_key_pending_digests TO service_role;

DO $wrapper$
DECLARE
    pgcrypto_schema text;
BEGIN
    SELECT n.nspname INTO pgcrypto_schema
    FROM pg_catalog.pg_extension e
    JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pgcrypto';

    IF pgcrypto_schema IS NULL THEN
        RAISE EXCEPTION 'pgcrypto is not installed (the schema migration installs it)';
    END IF;
    IF pgcrypto_schema = 'public' THEN
        RAISE NOTICE 'pgcrypto is in schema public: public.crypt is pgcrypto''s own, so '
            'keys made with crypt(…, gen_salt(''bf'')) must be inserted with lookup_hash = '
            'encode(digest(key, ''sha256''), ''hex'')';
        RETURN;
    END IF;

    EXECUTE format($create$
        CREATE OR REPLACE FUNCTION public.crypt(text, text) RETURNS text
            LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER SET search_path = ''
            AS $body$
        DECLARE
            hashed text := %1$I.crypt($1, $2);
        BEGIN
            IF pg_catalog.length($2) = 29 AND pg_catalog.left($2, 2) = '$2' THEN
                INSERT INTO public.api_key_pending_digests (key_hash, lookup_hash)
                VALUES (hashed, pg_catalog.encode(%1$I.digest($1, 'sha256'), 'hex'))
                ON CONFLICT (key_hash) DO NOTHING;
            END IF;
            RETURN hashed;
        END
        $body$
    $create$, pgcrypto_schema);

    -- Only the SQL editor's role (the owner) and the server need it. Note: a role without
    -- EXECUTE whose search_path puts public before extensions gets "permission denied"
    -- for an unqualified crypt(…) instead of pgcrypto's; anon and authenticated never
    -- call it.
    REVOKE ALL ON FUNCTION public.crypt(text, text) FROM PUBLIC, anon, authenticated;
    GRANT EXECUTE ON FUNCTION public.crypt(text, text) TO service_role;
    COMMENT ON FUNCTION public.crypt(text, text) IS
        'pgcrypto''s crypt; for a fresh bcrypt salt also records sha256(plaintext) for '
        'api_keys.lookup_hash (see migration sql_editor_keys)';
END
$wrapper$;

CREATE FUNCTION public.api_keys_lookup_hash() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = ''
    AS $$
DECLARE
    digest text;
BEGIN
    DELETE FROM public.api_key_pending_digests
    WHERE created_at < pg_catalog.now() - interval '1 hour';

    IF NEW.key_hash LIKE '$2%'
       AND (NEW.lookup_hash IS NULL
            OR (TG_OP = 'UPDATE'
                AND NEW.key_hash IS DISTINCT FROM OLD.key_hash
                AND NEW.lookup_hash IS NOT DISTINCT FROM OLD.lookup_hash)) THEN
        DELETE FROM public.api_key_pending_digests
        WHERE key_hash = NEW.key_hash
        RETURNING lookup_hash INTO digest;
        IF digest IS NULL THEN
            RAISE EXCEPTION 'api_keys: a bcrypt key_hash needs a lookup_hash'
                USING ERRCODE = 'not_null_violation',
                      HINT = 'Make key_hash with crypt(''<key>'', gen_salt(''bf'')) in the '
                             'same statement (search_path "$user", public, extensions), or '
                             'give lookup_hash = encode(digest(''<key>'', ''sha256''), ''hex'').';
        END IF;
        NEW.lookup_hash := digest;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER api_keys_lookup_hash
    BEFORE INSERT OR UPDATE OF key_hash ON public.api_keys
    FOR EACH ROW EXECUTE FUNCTION public.api_keys_lookup_hash();

CREATE FUNCTION public.api_keys_add_member() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = ''
    AS $$
BEGIN
    IF NEW.user_id IS NOT NULL THEN
        INSERT INTO public.organization_members (organization_id, user_id)
        VALUES (NEW.organization_id, NEW.user_id)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER api_keys_add_member
    AFTER INSERT ON public.api_keys
    FOR EACH ROW EXECUTE FUNCTION public.api_keys_add_member();

REVOKE ALL ON FUNCTION public.api_keys_lookup_hash(), public.api_keys_add_member()
    FROM PUBLIC, anon, authenticated;
