from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = "Queues and agents"

    def ready(self) -> None:
        from .roles import ensure_roles

        # After every app's post_migrate, not only ours: the groups get the permissions of
        # apps that migrate after agents (leads, dialer, reports) on a fresh database too.
        post_migrate.connect(ensure_roles, dispatch_uid="agents.ensure_roles")
