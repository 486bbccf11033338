-- Authorization codes are the request ID sealed with the provider's key
-- (zitadel's own scheme): redeeming one consumes its auth request, so the
-- table binding codes to requests is gone. Codes issued before the upgrade
-- no longer redeem.
DROP TABLE auth_codes;
