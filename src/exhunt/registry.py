"""Plug-in discovery: extensions register themselves, nothing keeps a central list.

A plug-in module (an artifact parser, a check, a report format) lives in its package and calls
``<registry>.register`` at import time, usually through a class decorator. ``load_package``
imports every module of a package once, so adding a plug-in is adding a file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_LOADED: set[str] = set()


class Registry(Generic[T]):
    """Named plug-ins of one kind, in registration order, with duplicate names refused."""

    def __init__(self, kind: str, package: str) -> None:
        self.kind = kind
        self.package = package
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(item: T) -> T:
            existing = self._items.get(name)
            if existing is not None and existing is not item:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = item
            return item

        return decorator

    def get(self, name: str) -> T:
        load_package(self.package)
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {name!r}") from None

    def names(self) -> list[str]:
        load_package(self.package)
        return sorted(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        load_package(self.package)
        return iter(sorted(self._items.items()))

    def __iter__(self) -> Iterator[T]:
        return (item for _, item in self.items())


def load_package(package: str) -> None:
    """Import every module below ``package`` once so their plug-ins register."""
    if package in _LOADED:
        return
    _LOADED.add(package)
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}."):
        if not info.name.rsplit(".", 1)[-1].startswith("_"):
            importlib.import_module(info.name)
