"""Images the engine *displays* become files of the work dir, so they are artifacts like the rest.

There is no notebook in the worker: an IPython ``display()`` of a PNG/SVG image or a matplotlib
figure, or a ``plt.show()``, would be lost (or printed as a repr). The worker sets matplotlib's
backend to Agg (headless, for its children too) and, when ``IPython.core.display_functions`` or
``matplotlib.pyplot`` is imported in the worker, wraps ``display`` and ``show`` so that each shown
image is written to ``<work_dir>/displayed/display_<n>.png`` (or ``.svg``); the watcher reports it
with ``displayed: true``. An image that is a file of the work dir already (cmbagent displays the
plots its engineer saved) is not copied: it is marked displayed. Anything else goes to the original
``display``. Nothing is imported here until the engine imports those modules itself.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import io
import itertools
import os
import sys
from collections.abc import Callable
from typing import Any

from .watcher import DISPLAY_DIR

__all__ = ["DisplayCapture"]


class DisplayCapture:
    """Writes displayed images under the watcher's work dir (see the module docstring)."""

    def __init__(self, watcher: Any) -> None:
        self.watcher = watcher
        self._numbers = itertools.count(1)
        self._original_display: Callable[..., Any] | None = None

    def install(self) -> None:
        """Headless matplotlib for the worker and its children; wrap display/show once imported."""
        os.environ["MPLBACKEND"] = "Agg"
        _AfterImport.install(
            {
                "IPython.core.display_functions": self._wrap_display,
                "IPython.display": self._wrap_display,
                "matplotlib.pyplot": self._wrap_show,
            }
        )

    # ------------------------------------------------------------------ wrappers

    def _wrap_display(self, module: Any) -> None:
        original = getattr(module, "display", None)
        if original is None or getattr(original, "_cmbjupyter", False):
            return
        self._original_display = self._original_display or original

        def display(*objs: Any, **kwargs: Any) -> Any:
            rest = [obj for obj in objs if not self.capture(obj)]
            if rest and self._original_display is not None:
                return self._original_display(*rest, **kwargs)
            return None

        display._cmbjupyter = True  # type: ignore[attr-defined]
        module.display = display

    def _wrap_show(self, module: Any) -> None:
        if getattr(module.show, "_cmbjupyter", False):
            return

        def show(*args: Any, **kwargs: Any) -> None:
            for number in module.get_fignums():
                self.capture(module.figure(number))
            module.close("all")  # shown once, as in a notebook

        show._cmbjupyter = True  # type: ignore[attr-defined]
        module.show = show

    # ------------------------------------------------------------------ capture

    def capture(self, obj: Any) -> bool:
        """Write ``obj`` as an image file if it is one; True when it was taken care of."""
        if self.watcher.root is None:
            return False
        filename = getattr(obj, "filename", None)
        if isinstance(filename, str) and os.path.isfile(filename):
            self.watcher.mark_displayed([os.path.abspath(filename)])
            if self.watcher.contains(filename):
                return True
        data: Any = None
        suffix = "png"
        with contextlib.suppress(Exception):
            if callable(getattr(obj, "savefig", None)) and hasattr(obj, "canvas"):  # a matplotlib Figure
                buffer = io.BytesIO()
                obj.savefig(buffer, format="png")
                data = buffer.getvalue()
            elif callable(getattr(obj, "_repr_png_", None)):
                data = obj._repr_png_()
            elif callable(getattr(obj, "_repr_svg_", None)):
                data, suffix = obj._repr_svg_(), "svg"
        if isinstance(data, tuple):  # (data, metadata)
            data = data[0]
        if isinstance(data, str):
            data = data.encode("utf-8")
        if not isinstance(data, bytes) or not data:
            return False
        self._write(data, suffix)
        return True

    def _write(self, data: bytes, suffix: str) -> None:
        folder = os.path.join(self.watcher.root, DISPLAY_DIR)
        os.makedirs(folder, exist_ok=True)
        name = f"display_{next(self._numbers)}.{suffix}"
        while os.path.exists(os.path.join(folder, name)):  # a resumed run: never overwrite
            name = f"display_{next(self._numbers)}.{suffix}"
        temporary = os.path.join(folder, f".{name}.part")  # a dotfile: never reported half written
        with open(temporary, "wb") as f:
            f.write(data)
        os.replace(temporary, os.path.join(folder, name))


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs a hook on a module right after it is imported (or now, if it already is)."""

    _installed: _AfterImport | None = None

    def __init__(self) -> None:
        self.hooks: dict[str, Callable[[Any], None]] = {}

    @classmethod
    def install(cls, hooks: dict[str, Callable[[Any], None]]) -> None:
        if cls._installed is None:
            cls._installed = cls()
            sys.meta_path.insert(0, cls._installed)
        cls._installed.hooks.update(hooks)
        for name, hook in hooks.items():
            if name in sys.modules:
                hook(sys.modules[name])

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        hook = self.hooks.get(name)
        if hook is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _HookedLoader(spec.loader, hook)
        return spec


class _HookedLoader(importlib.abc.Loader):
    def __init__(self, loader: Any, hook: Callable[[Any], None]) -> None:
        self.loader, self.hook = loader, hook

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        with contextlib.suppress(Exception):  # a failed hook never breaks the engine's import
            self.hook(module)
