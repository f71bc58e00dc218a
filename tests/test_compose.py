"""docker-compose.yml runs every process of the product, configured from the environment."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def load() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def command_text(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def test_every_process_is_a_service():
    services = load()["services"]
    for name in (
        "postgres",
        "redis",
        "freeswitch",
        "web",
        "celery-worker",
        "celery-beat",
        "dialer",
        "simulator",
    ):
        assert name in services, name
    assert "manage.py run_dialer" in command_text(services["dialer"])
    assert "celery -A config worker" in command_text(services["celery-worker"])
    assert "celery -A config beat" in command_text(services["celery-beat"])
    assert "runserver" in command_text(services["web"])
    assert "freeswitch.simulator" in command_text(services["simulator"])


def test_the_simulator_is_optional_and_freeswitch_is_public_image_with_our_config():
    services = load()["services"]
    assert services["simulator"]["profiles"] == ["simulator"]
    for name, service in services.items():
        if name != "simulator":
            assert "profiles" not in service, name
    fs = services["freeswitch"]
    assert fs["image"].startswith(("safarov/freeswitch", "signalwire/freeswitch"))
    assert "./freeswitch/conf:/etc/freeswitch:ro" in fs["volumes"]
    # The Event Socket is never published to the host.
    assert not any("8021" in str(p) for p in fs.get("ports", []))


def test_app_services_share_settings_from_the_environment():
    services = load()["services"]
    for name in ("web", "celery-worker", "celery-beat", "dialer"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert env["ESL_HOST"] == "${ESL_HOST:-freeswitch}"
        # Secrets are required from the environment, never written here.
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")
        assert env["ESL_PASSWORD"].startswith("${ESL_PASSWORD:?")
    assert services["dialer"]["stop_signal"] == "SIGTERM"
    assert services["freeswitch"]["environment"]["ESL_PASSWORD"].startswith("${ESL_PASSWORD:?")


def test_freeswitch_config_takes_the_password_from_the_environment():
    conf = ROOT / "freeswitch" / "conf"
    socket_conf = (conf / "autoload_configs" / "event_socket.conf.xml").read_text()
    assert 'value="$${esl_password}"' in socket_conf
    assert 'name="apply-inbound-acl"' in socket_conf
    assert 'data="esl_password=ESL_PASSWORD"' in (conf / "vars.xml").read_text()
    assert "ClueCon" not in socket_conf
    modules = (conf / "autoload_configs" / "modules.conf.xml").read_text()
    for module in ("mod_event_socket", "mod_callcenter", "mod_sofia", "mod_commands"):
        assert module in modules
