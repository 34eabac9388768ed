"""The CLI's table of services names the same services as the event topology."""

from __future__ import annotations

from leadflow.services import DEFAULT_PORTS, PORT_SPAN, service_entry
from shared.contracts.topics import SERVICES


def test_the_table_lists_every_service_of_the_topology_in_its_order() -> None:
    assert tuple(DEFAULT_PORTS) == SERVICES


def test_an_entry_gives_the_service_its_app_settings_and_migrations() -> None:
    entry = service_entry("scorer")
    assert entry.settings_cls().service_name == "scorer"
    assert entry.migrations.name == "migrations" and entry.migrations.parent.name == "scorer"


def test_a_free_port_block_spans_every_services_port() -> None:
    offsets = {port - DEFAULT_PORTS["capture"] for port in DEFAULT_PORTS.values()}
    assert offsets == {0, 1, 2, 3, 4, 6}
    assert PORT_SPAN == max(offsets) + 1 == 7
