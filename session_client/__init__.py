"""session_client_lib: put a human in the loop over REST and NATS."""
