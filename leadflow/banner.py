"""What ``leadflow up`` prints once everything is ready: where each part listens."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leadflow.supervisor import Stack


def print_banner(stack: Stack, admin_key: str | None) -> None:
    """``admin_key``: the local admin key made on this first start (shown this once), or
    None when the key ring already had one."""
    lines = ["", "Leadflow is up.", ""]
    for name, url in stack.urls().items():
        if name == "webhooks":
            continue
        lines.append(f"  {name:<9} {url}   (API docs: {url}/docs)")
    if "insights" in stack.procs:
        dashboard = f"{stack.urls()['insights']}/"
        lines.append(f"  Dashboard {dashboard}   (sign in with a key holding reports:read)")
    lines += [
        "",
        f"  Kafka     {stack.bootstrap}   (embedded Tansu broker: events live in memory)"
        if stack.kafka
        else f"  Kafka     {stack.bootstrap}",
        f"  Postgres  {stack.database_url}",
        f"  Logs      {stack.opts.home}/<service>.log",
        *(
            [
                f"  Webhooks  {stack.urls()['webhooks']}/   (demo receiver: signed deliveries,"
                f" also in {stack.opts.home}/webhooks.log)"
            ]
            if "webhooks" in stack.procs
            else []
        ),
        "",
        "  Every process above is supervised: one that dies is restarted (PostgreSQL on the",
        "  same data, the broker on the same port) after a back-off, with a line printed here.",
        "",
        *_key_lines(stack, admin_key),
        "  Try:  curl -s -XPOST "
        f'{stack.urls().get("capture", "")}/v1/leads -H "Authorization: Bearer $LEADFLOW_KEY" \\',
        "          -H 'content-type: application/json' \\",
        '          -d \'{"email":"ana@example.co.uk","country":"GB","interest":"shoes"}\'',
        "",
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)


def _key_lines(stack: Stack, admin_key: str | None) -> list[str]:
    if admin_key is not None:
        return [
            "  API key   made on this first start, with every scope; shown only now, keep it:",
            f"            export LEADFLOW_KEY={admin_key}",
            f"            (only its hash is stored, in {stack.key_ring};"
            " `leadflow keys --help` makes narrower ones)",
            "",
        ]
    return [
        f"  API key   the local-admin key printed on the first start (hash in {stack.key_ring});",
        f"            lost it? leadflow keys rotate local-admin --file {stack.key_ring}",
        "",
    ]
