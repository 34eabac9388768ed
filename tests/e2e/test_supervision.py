"""`leadflow up` as a user runs it: kill -9 PostgreSQL and the broker under it; it says so,
reaps them, restarts them on the same ports, and a lead posted afterwards is assigned and
its webhook reaches the demo receiver on the port given by --webhook-sink-port."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest

from leadflow.samples import generate_leads
from tests.support.auth import admin_client
from tests.support.processes import child_processes
from tests.support.stack import LeadflowUp, leadflow_up

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]


def _child_pid(up: LeadflowUp, marker: str) -> int:
    assert up.proc is not None
    found = [c.pid for c in child_processes(up.proc.pid) if marker in c.cmdline]
    assert len(found) == 1, (marker, child_processes(up.proc.pid))
    return found[0]


def _no_zombies(up: LeadflowUp) -> None:
    assert up.proc is not None
    zombies = [c for c in child_processes(up.proc.pid) if c.state == "Z"]
    assert not zombies, zombies


async def _post_and_see_assigned(up: LeadflowUp, seed: int, count: int = 5) -> None:
    """Post leads; each is decided, and each assignment's webhook is accepted (signature
    verified) by the receiver on the non-default port."""
    leads = generate_leads(count, seed=seed, tag=f"sup{seed}")
    async with admin_client(timeout=10) as client:
        ids = []
        for lead in leads:
            resp = await client.post(f"{up.url('capture')}/v1/leads", json=lead)
            assert resp.status_code == 202, resp.text
            ids.append(resp.json()["lead_id"])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 90
        while True:
            status = {}
            for lead in ids:
                try:  # a router just restarted may not listen yet
                    resp = await client.get(f"{up.url('router')}/v1/leads/{lead}/assignment")
                except httpx.TransportError:
                    break
                if resp.status_code == 200:
                    status[lead] = resp.json()["status"]
            tally = (await client.get(f"{up.sink_url}/tally")).json()
            hooks = tally["by_type"].get("lead.assigned", {})
            assigned = [lead for lead in ids if status.get(lead) == "assigned"]
            done = len(status) == len(ids) and all(lead in hooks for lead in assigned)
            if done and assigned:
                assert tally["rejected"] == 0
                assert all(len(hooks[lead]) == 1 for lead in assigned), hooks
                return
            assert loop.time() < deadline, (status, tally, up.lines[-20:])
            await asyncio.sleep(0.5)


async def test_postgres_and_the_broker_killed_under_leadflow_up_come_back(
    tmp_path: Path,
) -> None:
    async with leadflow_up(tmp_path / "home") as up:
        await _post_and_see_assigned(up, seed=1)

        seen = len(up.lines)
        os.kill(_child_pid(up, "postgres -D"), signal.SIGKILL)
        await up.wait_line(
            r"postgres died \(SIGKILL\); restarting in 1\.0s \(attempt 2\)", after=seen
        )
        await up.wait_line(r"postgres restarted \(pid \d+, attempt 2\)", after=seen)
        _no_zombies(up)
        await _post_and_see_assigned(up, seed=2)

        seen = len(up.lines)
        os.kill(_child_pid(up, "--listener-url"), signal.SIGKILL)
        await up.wait_line(
            r"broker died \(SIGKILL\); restarting in 1\.0s \(attempt 2\)", after=seen
        )
        await up.wait_line(r"broker restarted \(pid \d+, attempt 2\)", after=seen)
        _no_zombies(up)
        await _post_and_see_assigned(up, seed=3)

        seen = len(up.lines)
        os.kill(_child_pid(up, "leadflow run router"), signal.SIGKILL)
        await up.wait_line(r"router died \(SIGKILL\); restarting in 1\.0s", after=seen)
        await up.wait_line(r"router restarted", after=seen)
        await _post_and_see_assigned(up, seed=4)

        async with admin_client(timeout=10) as client:  # an unsigned delivery is refused
            headers = {"webhook-id": "forged-1", "webhook-timestamp": "1",
                       "webhook-signature": "v1,AAAA"}  # fmt: skip
            forged = await client.post(
                f"{up.sink_url}/hooks/leadflow", json={"type": "io.leadflow.lead.assigned.v1"},
                headers=headers,
            )  # fmt: skip
            assert forged.status_code == 401
            shown = (await client.get(f"{up.sink_url}/")).json()
            assert shown[0] == {
                "webhook_id": "forged-1",
                "summary": "REJECTED (401): bad signature",
            }
    assert up.proc is not None and up.proc.returncode == 0
    assert "Stopped." in up.lines


async def test_leadflow_up_recycles_its_broker_and_carries_on(tmp_path: Path) -> None:
    """With --recycle-broker-every, the embedded broker is replaced by an empty one once every
    group has caught up; the supervisor leaves the new one alone, and leads keep flowing,
    each assigned and its webhook delivered once (also the ones decided before the recycle:
    their events are republished, and the notifier's inbox skips them)."""
    async with leadflow_up(tmp_path / "home", ["--recycle-broker-every", "8"]) as up:
        await _post_and_see_assigned(up, seed=5)
        seen = len(up.lines)
        await up.wait_line(r"broker recycled: \S+ -> \S+", after=seen, timeout=60)
        await _post_and_see_assigned(up, seed=6)
        _no_zombies(up)
        # the supervisor may see the old broker stop, but never starts a second one
        assert not [line for line in up.lines[seen:] if "broker restarted" in line], up.lines
