"""The aiohttp application: app factory, routes, templates, static JavaScript, TLS, /metrics, the CLI."""
