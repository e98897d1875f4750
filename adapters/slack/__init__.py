"""The Slack adapter: slack-bolt events in, threaded answers with sources and buttons out."""
