"""The one Piccolo app: every table module under tables/, migrations in piccolo_migrations/."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

TABLE_MODULES: list[str] = ["tables.tenancy", "tables.knowledge", "tables.billing", "tables.chat"]

APP_CONFIG = AppConfig(
    app_name="botfleet",
    migrations_folder_path=str(Path(__file__).resolve().parent.parent / "piccolo_migrations"),
    table_classes=table_finder(modules=TABLE_MODULES, exclude_imported=True),
    migration_dependencies=["piccolo_admin.piccolo_app"],
    commands=[],
)
