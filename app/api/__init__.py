"""HTTP: routes, dependencies, the token guard, error answers and the uvicorn server."""
