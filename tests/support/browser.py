"""Screenshots of web pages in headless Chromium, driven by Playwright: Debian's ``chromium``, never a browser
that Playwright downloads (no ``playwright install``)."""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"  # Debian's package `chromium` (`make deps` installs it)
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync")
POLL_MS = 250  # how often the page is looked at while waiting for it

# In the page: what is shown (the scope's text, each item's text by its key attribute, the body's text) and a
# signature of the layout (the items' boxes), to tell when the graph has stopped moving.
_LOOK_JS = """({scope, items, key}) => {
  const el = document.querySelector(scope);
  const shown = {};
  let layout = el ? JSON.stringify(el.getBoundingClientRect()) : '';
  if (items) {
    for (const n of document.querySelectorAll(items)) {
      shown[n.getAttribute(key)] = n.innerText;
      layout += JSON.stringify(n.getBoundingClientRect());
    }
  }
  return {scope: el ? el.textContent : '', items: shown, text: document.body ? document.body.innerText : '',
          layout: layout, fonts: document.fonts.status};
}"""
# Ready: every wanted text shown, the fonts loaded, and the layout the same as at the previous look.
_READY_JS = "(a) => { const look = (" + _LOOK_JS + """)(a);
  const shownAll = look.text && a.wanted.every(w => look.scope.includes(w))
    && Object.entries(a.wantedItems).every(([k, v]) => (look.items[k] || '').includes(v));
  const still = window.__mm2CaptureLayout === look.layout;
  window.__mm2CaptureLayout = look.layout;
  return Boolean(shownAll && still && look.fonts === 'loaded');
}"""


class BrowserError(RuntimeError):
    """Chromium is missing, could not start, or could not open the page.

    :param url: the page asked for ('' before any page).
    :param message: what went wrong and what to do.
    """

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        super().__init__(f"{message} (opening {url})" if url else message)


def require_chromium(executable: str = CHROMIUM) -> str:
    """The Chromium executable to drive, checked to exist.

    :param executable: its path (default Debian's ``/usr/bin/chromium``).
    :raises BrowserError: it is not there.
    """
    if not os.access(executable, os.X_OK):
        raise BrowserError("", f"no Chromium at {executable}: install Debian's package (apt-get install chromium; "
                           "`make deps` does); `playwright install` is not used")
    return executable


@dataclass(frozen=True)
class PageCapture:
    """What :func:`capture_page` saw (at the screenshot).

    :param url: the page opened.
    :param missing: the ``wait_for`` texts not in ``scope_text`` and the ``wait_for_items`` not satisfied
        (as ``"<key>: <text>"``); empty when the page showed everything waited for.
    :param scope_text: the text content of the first element matching ``scope_selector`` ('' if none matched).
    :param items: ``{key attribute: visible text}`` of the elements matching ``items_selector``.
    :param text: the page's visible text (``document.body.innerText``).
    :param screenshot: the PNG; ``html`` the DOM beside it.
    :param seconds: from the browser's start to the screenshot.
    """

    url: str
    missing: tuple[str, ...]
    scope_text: str
    items: dict[str, str]
    text: str
    screenshot: Path
    html: Path
    seconds: float


def _missing(seen: dict[str, Any], wait_for: tuple[str, ...], wait_for_items: dict[str, str]) -> tuple[str, ...]:
    scope = seen.get("scope") or ""
    items = seen.get("items") or {}
    return (*(w for w in wait_for if w not in scope),
            *(f"{k}: {v}" for k, v in wait_for_items.items() if v not in (items.get(k) or "")))


def capture_page(url: str, screenshot: Path, *, cookies: dict[str, str] | None = None,
                 local_storage: dict[str, str] | None = None, wait_for: Iterable[str] = (),
                 scope_selector: str = "body", items_selector: str | None = None, items_key: str = "data-id",
                 wait_for_items: dict[str, str] | None = None, timeout_s: float = 90,
                 window: tuple[int, int] = (1600, 1000), scale: float = 1, chromium: str = CHROMIUM) -> PageCapture:
    """Open ``url`` in headless Chromium, wait until the page shows what is asked and stops moving, save a
    screenshot.

    Waits (up to ``timeout_s``) until every ``wait_for`` text is in the text of ``scope_selector``, for each
    ``key: text`` of ``wait_for_items`` the element of ``items_selector`` whose ``items_key`` attribute is
    ``key`` shows ``text``, the fonts are loaded and the boxes of those elements did not move for one look
    (every 250 ms). The screenshot (and the DOM as ``.html`` beside it) is saved even when that never happens:
    the caller asserts on :attr:`PageCapture.missing`.

    :param url: the page, on 127.0.0.1.
    :param screenshot: the PNG's path (its folder is created).
    :param cookies: set for ``url``'s origin before loading (e.g. ``AirflowApi.login_cookies()``).
    :param local_storage: keys set in ``url``'s origin before its scripts run (e.g. the UI's view: graph).
    :param wait_for: texts to wait for in the scope.
    :param scope_selector: the CSS selector of the element whose text ``wait_for`` is looked for in.
    :param items_selector: the CSS selector of the elements ``wait_for_items`` is about (e.g. graph nodes).
    :param items_key: the attribute that names each item (default ``data-id``).
    :param wait_for_items: ``{key: text}`` each item must show.
    :param timeout_s: how long to wait for the page, in seconds (default 90).
    :param window: the viewport in CSS pixels; ``scale`` the device pixel ratio (the PNG is ``window * scale``).
    :param chromium: the Chromium executable (default Debian's).
    :raises BrowserError: Chromium is missing or failed, or the page could not be opened.
    """
    require_chromium(chromium)
    wanted = tuple(wait_for)
    wanted_items = dict(wait_for_items or {})
    screenshot = Path(screenshot)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    html = screenshot.with_suffix(".html")
    origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(url))
    look_arg = {"scope": scope_selector, "items": items_selector, "key": items_key}
    t0 = time.monotonic()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS), headless=True)
            try:
                context = browser.new_context(viewport={"width": window[0], "height": window[1]},
                                              device_scale_factor=scale)
                if cookies:
                    context.add_cookies([{"name": k, "value": v, "url": origin + "/"} for k, v in cookies.items()])
                if local_storage:
                    context.add_init_script(
                        f"if (location.origin === {json.dumps(origin)}) {{ const kv = {json.dumps(local_storage)};"
                        " for (const k in kv) localStorage.setItem(k, kv[k]); }")
                page = context.new_page()
                page.goto(url, wait_until="domcontentloaded", timeout=timeout_s * 1000)
                left_ms = max(0.0, timeout_s - (time.monotonic() - t0)) * 1000
                try:
                    page.wait_for_function(_READY_JS, arg={**look_arg, "wanted": list(wanted),
                                                           "wantedItems": wanted_items},
                                           polling=POLL_MS, timeout=left_ms)
                except PlaywrightTimeoutError:
                    pass  # the screenshot shows what the page showed instead; the caller asserts on `missing`
                seen = page.evaluate(_LOOK_JS, look_arg)
                page.screenshot(path=screenshot, type="png")
                seconds = time.monotonic() - t0
                html.write_text(page.content())
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise BrowserError(url, f"Chromium ({chromium}) via Playwright: {exc}") from exc
    return PageCapture(url=url, missing=_missing(seen, wanted, wanted_items), scope_text=seen.get("scope") or "",
                       items=dict(seen.get("items") or {}), text=seen.get("text") or "", screenshot=screenshot,
                       html=html, seconds=seconds)


@dataclass(frozen=True)
class ViewCapture:
    """What :func:`capture_view` saw: the facts ``probe_js`` returned from the page (or from its frame), the
    screenshot and the DOM beside it, and the seconds from the browser's start to the screenshot."""

    url: str
    facts: Any
    frame_url: str
    screenshot: Path
    html: Path
    seconds: float


def capture_view(url: str, screenshot: Path, *, cookies: dict[str, str] | None, wait_selector: str, probe_js: str,
                 frame_url_part: str = "", timeout_s: float = 60, window: tuple[int, int] = (1400, 1000),
                 full_page: bool = True, chromium: str = CHROMIUM) -> ViewCapture:
    """Open ``url`` in headless Chromium, wait for ``wait_selector`` (in the page, or in the frame whose URL contains
    ``frame_url_part``: a plugin's view in Airflow's UI is an iframe), evaluate ``probe_js`` there (a JS function of
    no argument returning plain data: the test's DOM facts), and save a screenshot of the page and its DOM.

    :raises BrowserError: Chromium is missing or failed, the page could not be opened, or ``wait_selector`` never
        showed (the screenshot is saved first).
    """
    require_chromium(chromium)
    screenshot = Path(screenshot)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    html = screenshot.with_suffix(".html")
    origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(url))
    t0 = time.monotonic()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS), headless=True)
            try:
                context = browser.new_context(viewport={"width": window[0], "height": window[1]})
                if cookies:
                    context.add_cookies([{"name": k, "value": v, "url": origin + "/"} for k, v in cookies.items()])
                page = context.new_page()
                page.goto(url, wait_until="domcontentloaded", timeout=timeout_s * 1000)
                target = page
                deadline = time.monotonic() + timeout_s
                if frame_url_part:
                    while True:
                        frame = next((f for f in page.frames if frame_url_part in f.url), None)
                        if frame is not None or time.monotonic() > deadline:
                            break
                        page.wait_for_timeout(POLL_MS)
                    if frame is None:
                        page.screenshot(path=screenshot, type="png")
                        raise BrowserError(url, f"no frame of {frame_url_part!r} in the page; frames: "
                                           f"{[f.url for f in page.frames]}")
                    target = frame
                try:
                    target.wait_for_selector(wait_selector, timeout=max(1.0, deadline - time.monotonic()) * 1000)
                except PlaywrightTimeoutError:
                    page.screenshot(path=screenshot, type="png")
                    html.write_text(page.content())
                    raise BrowserError(url, f"{wait_selector!r} not shown after {timeout_s:.0f} s; page text: "
                                       f"{page.inner_text('body')[:1500]}") from None
                if frame_url_part:  # the UI's page around the frame: let its layout settle
                    page.wait_for_timeout(1000)
                facts = target.evaluate(probe_js)
                page.screenshot(path=screenshot, type="png", full_page=full_page)
                seconds = time.monotonic() - t0
                html.write_text(target.content())
                frame_url = target.url
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise BrowserError(url, f"Chromium ({chromium}) via Playwright: {exc}") from exc
    return ViewCapture(url=url, facts=facts, frame_url=frame_url, screenshot=screenshot, html=html, seconds=seconds)
