"""Interaction pages (sign-in and step-up) of the Provider: the endpoints are
:mod:`.routes`, what a page shows :mod:`.page`, the templates :mod:`.render`. The package
itself imports none of them, so the authorization endpoint can render its form_post page
without loading the interaction endpoints, which build on it."""
