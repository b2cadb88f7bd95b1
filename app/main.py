"""The FastAPI app: settings, lifespan (models, batcher, jobs), middleware and routers."""

from __future__ import annotations

import asyncio
import gc
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.deps import Streams
from app.api.errors import http_error, validation_error
from app.api.guard import Guard
from app.api.routes import docs, generate, health, interpolate, jobs, models, noise, pages
from app.config import Settings
from app.jobs.metrics import JobCollector
from app.logs import RequestId, log_handler
from app.metrics import Metrics, MetricsMiddleware
from app.parts import job_runner, job_service, model_registry, worker_id
from app.serving.batching import Batcher
from app.serving.cache import ImageCache
from app.serving.renderer import Renderer

log = logging.getLogger("app")


class StartupError(RuntimeError):
    """The service cannot serve anything; uvicorn prints just this message."""


def configure_devices() -> str:
    """Use a GPU when TensorFlow sees one (growing its memory as needed); say which."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, True)
    device = f"GPU ({', '.join(g.name for g in gpus)})" if gpus else "CPU"
    log.info("TensorFlow %s computes on %s", tf.__version__, device)
    return device


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings: Settings = app.state.settings
    _setup_logging(settings.log_level, settings.log_format)
    device = configure_devices()
    registry = model_registry(settings, device, serving=True)
    await registry.refresh()
    if not registry.active:
        failures = [m for versions in registry.versions.values() for m in versions.values()]
        reasons = "; ".join(f"{m.ref}: {m.error}" for m in failures) or "no NAME/VERSION folders"
        raise StartupError(f"no servable model in {settings.models_dir}/ ({reasons})")
    log.info("default model: %s", registry.default)
    app.state.registry = registry
    app.state.metrics.watch_models(registry)
    watcher = asyncio.create_task(registry.watch(settings.models_poll_seconds), name="models")
    batcher = Batcher(
        settings.batch_max_images,
        settings.batch_max_wait_ms,
        settings.max_queue_seconds,
        app.state.metrics,
        settings.generator_calls,
    )
    batcher.start()
    app.state.renderer = Renderer(batcher, ImageCache(settings.cache_bytes), app.state.metrics)
    if settings.api_token is None:
        log.warning("DCGAN_API_TOKEN is not set: anyone who reaches this port can start jobs")
    app.state.jobs = job_service(settings)
    store = app.state.jobs.store
    runner = None
    if settings.run_jobs == "embedded":
        runner = job_runner(app.state.jobs, settings, registry, worker_id("api"), serving=True)
        runner.start()
    app.state.metrics.watch(JobCollector(store, runner))
    # TensorFlow and the models leave millions of long-lived objects, which a full garbage
    # collection pauses requests to walk: freezing them keeps the collector to what requests
    # allocate (docs/benchmarks.md, the gc.freeze() row).
    gc.freeze()
    try:
        yield
    finally:
        if runner:
            await runner.stop()
        watcher.cancel()
        store.close()
        await batcher.stop()


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(
        title="dcgan-digits",
        summary="Handwritten digits from a DCGAN trained on MNIST.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's pages use a CDN: app/api/routes/docs.py's do not
        redoc_url=None,
    )
    app.state.settings = settings or Settings()
    app.state.metrics = Metrics()
    app.state.streams = Streams(app.state.settings.max_event_streams)
    app.add_middleware(Guard, settings=app.state.settings)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(RequestId)  # outermost: every answer, Guard's refusals too, has its id
    for module in (generate, interpolate, noise, models, jobs, health, pages, docs):
        app.include_router(module.router)
    # Starlette types handlers as taking any Exception; each of these is registered for its own
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]  # FastAPI's documented way
    return app


def _openapi(app: FastAPI) -> dict:
    """FastAPI's schema, with two corrections: each parameter's examples also at the parameter,
    where Swagger UI's "Try it out" takes them from (not from inside its JSON Schema); and error
    answers as JSON, which they are whatever a route answers on success (FastAPI gives them the
    route's media type: text/event-stream for /jobs/{id}/events)."""
    if app.openapi_schema is None:
        schema = FastAPI.openapi(app)
        for operation in (op for path in schema["paths"].values() for op in path.values()):
            for parameter in operation.get("parameters", []):
                values = parameter["schema"].get("examples", [])
                if values:
                    parameter["examples"] = {str(v): {"value": v} for v in values}
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and "content" in response:
                    response["content"] = {"application/json": response["content"].popitem()[1]}
        app.openapi_schema = schema
    return app.openapi_schema


class _OneLineStartupError(logging.Filter):
    """uvicorn logs a failed start-up with its traceback; for StartupError keep the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if f"{__name__}.StartupError: " in text:
            record.msg, record.args = text.rsplit("StartupError: ", 1)[1].strip(), ()
        return True


def _setup_logging(level: str, log_format: str) -> None:
    if not log.handlers:
        log.addHandler(log_handler(log_format, "%(levelname)s:     %(message)s"))
        log.propagate = False
    log.setLevel(level.upper())
    uvicorn_error = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _OneLineStartupError) for f in uvicorn_error.filters):
        uvicorn_error.addFilter(_OneLineStartupError())


app = create_app()
