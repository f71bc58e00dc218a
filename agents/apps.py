from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = "Queues and agents"

    def ready(self) -> None:
        from .roles import ensure_roles

        post_migrate.connect(ensure_roles, sender=self)
