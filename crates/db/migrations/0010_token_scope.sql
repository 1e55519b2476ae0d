-- What an API token may do: `full`, or `read_only` (GET and HEAD only). Tokens made before
-- this migration keep the full access they were created with.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'full';
