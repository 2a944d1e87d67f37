"""Bolt's OAuth installation and state stores live in our database, under our migrations.

The stores build their own SQLAlchemy MetaData; the same table definitions are built here once so Alembic
(and the migration test) see them beside our models.
"""

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData

BOTS_TABLE = "slack_bots"
INSTALLATIONS_TABLE = "slack_installations"
OAUTH_STATES_TABLE = "slack_oauth_states"

BOLT_METADATA = MetaData()
SQLAlchemyInstallationStore.build_bots_table(BOLT_METADATA, BOTS_TABLE)
SQLAlchemyInstallationStore.build_installations_table(BOLT_METADATA, INSTALLATIONS_TABLE)
SQLAlchemyOAuthStateStore.build_oauth_states_table(BOLT_METADATA, OAUTH_STATES_TABLE)
