"""The Cekura API: the HTTP client, the poller, live fetching and the trigger request."""
