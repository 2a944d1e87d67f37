import pytest
from pydantic import SecretStr

from core.settings import Settings, SettingsError, load_settings, normalize_database_url


def test_defaults_are_the_embedded_service(monkeypatch, tmp_path):
    for name in ("PANOPTICA_DATABASE_URL", "PANOPTICA_AZURE_DEVOPS_URL", "PANOPTICA_ENTRA_AUTHORITY_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("PANOPTICA_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    settings = load_settings()
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path}/panoptica/panoptica.db"
    assert settings.key_directory == f"{tmp_path}/panoptica"
    assert settings.entra_authority_host == "https://login.microsoftonline.com"
    assert settings.azure_devops_url == "https://dev.azure.com"


def test_reads_prefixed_environment(monkeypatch):
    monkeypatch.setenv("PANOPTICA_DATABASE_URL", "postgresql://u@db:5432/panoptica")
    monkeypatch.setenv("PANOPTICA_ENTRA_CLIENT_ID", "abc")
    settings = load_settings()
    assert settings.database_url == "postgresql+asyncpg://u@db:5432/panoptica"
    assert settings.entra_client_id == "abc"


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("PANOPTICA_DATABASE_URL", "mysql://x", "sqlite:// or postgresql://"),
        ("PANOPTICA_AZURE_DEVOPS_URL", "http://dev.azure.com", "https"),
        ("PANOPTICA_CA_BUNDLE", "/nonexistent/ca.pem", "file not found"),
        ("PANOPTICA_AZURE_MAX_CONCURRENCY", "0", "greater than or equal to 1"),
    ],
)
def test_bad_setting_stops_with_one_line_naming_the_variable(monkeypatch, variable, value, reason):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith(f"invalid setting {variable}:")
    assert reason in message
    assert "\n" not in message


def test_secret_never_in_repr_or_errors(monkeypatch):
    secret = "super-secret-value-123"
    settings = Settings(entra_client_secret=secret)
    assert secret not in repr(settings)
    assert secret not in str(settings.model_dump())
    assert isinstance(settings.entra_client_secret, SecretStr)
    monkeypatch.setenv("PANOPTICA_ENTRA_CLIENT_SECRET", secret)
    monkeypatch.setenv("PANOPTICA_ENTRA_CERTIFICATE_PATH", __file__)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert secret not in str(raised.value)
    assert "not both" in str(raised.value)


def test_database_url_normalisation():
    assert normalize_database_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    assert normalize_database_url("postgres://h/db") == "postgresql+asyncpg://h/db"
