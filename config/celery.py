import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("dialer")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The desk's periodic task lives in a sub-package of the agents app.
app.autodiscover_tasks(["agents.desktop"])
