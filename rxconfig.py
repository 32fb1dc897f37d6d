"""Reflex configuration: everything comes from mautic_app.settings (the environment)."""

import reflex as rx

from mautic_app.settings import get_settings

settings = get_settings()

config = rx.Config(
    app_name="mautic_app",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    redis_url=settings.redis_url,
    frontend_port=settings.port,
    backend_port=settings.port,
    api_url=settings.base_url,
    deploy_url=settings.base_url,
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="blue", radius="medium"))],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
