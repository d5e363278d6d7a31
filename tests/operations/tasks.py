"""A task for the tests of `make serve`: the worker processes started beside gunicorn run it."""

from django_tasks import task


@task()
def add(a: int, b: int) -> int:
    return a + b
