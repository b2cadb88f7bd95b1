"""Every setting of the service, read once from DCGAN_* environment variables at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DCGAN_", frozen=True)

    models_dir: Path = Field(Path("models"), description="exported generators, NAME/VERSION/")
    default_model: str = Field("dcgan", description="model used when a request names none")
    host: str = Field("127.0.0.1", description="dcgan-serve listen address")
    port: int = Field(8000, description="dcgan-serve listen port")
    workers: int = Field(1, ge=1, description="dcgan-serve worker processes")
    batch_max_images: int = Field(256, ge=1, description="most images in one generator call")
    batch_max_wait_ms: float = Field(
        3.0, ge=0, description="how long a batch waits for more when requests are queued"
    )
    queue_limit: int = Field(256, ge=1, description="requests waiting for the generator; 503 after")
    cache_bytes: int = Field(64 * 2**20, ge=0, description="LRU cache of rendered images, bytes")
    cache_max_age: int = Field(86400 * 365, description="Cache-Control max-age for seeded images")
    data_dir: Path = Field(Path("data"), description="job database, logs and runs")
    api_token: str | None = Field(None, description="Bearer token required by POST endpoints")
    mnist_path: Path | None = Field(None, description="MNIST for training jobs (else MNIST_PATH)")
    log_level: str = Field("info", description="logging level")
