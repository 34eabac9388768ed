"""Database mechanisms: engine per schema, migrations, unit of work, inbox and outbox."""
