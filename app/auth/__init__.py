"""The OAuth 2 authorization server and the access-token machinery."""
