from django.urls import path

from . import views

app_name = "desktop"

urlpatterns = [
    path("", views.desktop, name="home"),
    path("panels/", views.panels, name="panels"),
    path("events/", views.events, name="events"),
    path("login/", views.login_queues, name="login"),
    path("ready/", views.go_ready, name="ready"),
    path("not-ready/", views.go_not_ready, name="not_ready"),
    path("logout/", views.logout_queues, name="logout"),
    path("tick/", views.tick, name="tick"),
    path("campaigns/<int:campaign_id>/get-record/", views.get_record, name="get_record"),
    path("leads/<int:lead_id>/connect/", views.connect_card, name="connect"),
    path("leads/<int:lead_id>/skip/", views.skip_card, name="skip"),
    path("leads/<int:lead_id>/callback/", views.schedule_callback, name="callback"),
    path("leads/<int:lead_id>/record/", views.update_record, name="record"),
    path("calls/<int:call_id>/disposition/", views.disposition, name="disposition"),
    path("calls/<int:call_id>/<slug:action>/", views.call_action, name="call_action"),
    path("messages/<int:message_id>/read/", views.read_message, name="read_message"),
    path("messages/read-all/", views.read_all_messages, name="read_all"),
]
