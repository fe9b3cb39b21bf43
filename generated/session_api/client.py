"""No HTTP client here: each route of ``api`` builds an ``ApiRequest`` (``types``) and parses
the body of its response; session_client sends the requests."""
