"""Reads the portal pages' HTML back into the shape of the view model (`PortalView.as_json`).

Every form item carries `data-form-key`, `data-status`, `data-product`, `data-opens` and
`data-actions`; its visible name, academic year and approval date are marked with `data-field`.
Lists are marked `data-list="overview"` and `data-panel="todo|complete"`, sections
`data-section="enrollment|express"` and packets `data-packet`.
"""

from __future__ import annotations

from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict]] = []
        self.out: dict = {"overview": [], "restricted": False}
        self.item: dict | None = None
        self.field: str | None = None
        self.headers: dict = {}

    def _ctx(self, name):
        for _tag, attrs in reversed(self.stack):
            if name in attrs:
                return attrs[name]
        return None

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v or "") for k, v in attrs}
        if "data-panel" in attrs:
            self.out.setdefault(attrs["data-panel"], {"enrollment": [], "express": []})
        if "data-restricted" in attrs:
            self.out["restricted"] = True
        if "data-form-key" in attrs:
            self.item = {
                "form": attrs["data-form-key"],
                "name": "",
                "product": attrs["data-product"],
                "status": attrs["data-status"],
                "academic_year": "",
                "approved_on": None,
                "actions": attrs["data-actions"].split(),
                "opens": attrs["data-opens"],
                "status_label": "",
                "href": None,
                "target": None,
            }
            self._place(self.item)
        if self.item is not None:
            if tag == "a" and attrs.get("class") == "form-item__link":
                self.item["href"], self.item["target"] = attrs.get("href"), (attrs.get("target"), attrs.get("rel"))
            if tag == "time" and self._ctx("data-field") == "approved-on":
                self.item["approved_on"] = attrs["datetime"]
            if attrs.get("class") == "badge__label":
                self.field = "status_label"
            elif attrs.get("data-field") in ("name", "academic-year"):
                self.field = attrs["data-field"].replace("-", "_")
        if tag in ("h2", "h3") and self._ctx("data-section") and not self._ctx("data-packet"):
            self.headers.setdefault(self._ctx("data-panel"), []).append(self._ctx("data-section"))
        if tag not in VOID:
            self.stack.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        while self.stack:
            open_tag, attrs = self.stack.pop()
            if "data-form-key" in attrs:
                self.item = None
            if attrs.get("data-field") or attrs.get("class") == "badge__label":
                self.field = None
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self.item is not None and self.field:
            self.item[self.field] = (self.item[self.field] + data).strip()

    def _place(self, item):
        panel = self._ctx("data-panel")
        if self._ctx("data-list") == "overview":
            self.out["overview"].append(item)
            return
        tab = self.out.setdefault(panel, {"enrollment": [], "express": []})
        if self._ctx("data-section") == "enrollment":
            tab["enrollment"].append(item)
        else:
            packet = self._ctx("data-packet")
            if not tab["express"] or tab["express"][-1]["packet"] != packet:
                tab["express"].append({"packet": packet, "forms": []})
            tab["express"][-1]["forms"].append(item)


def read_page(html: str) -> dict:
    """{"overview": [...], "todo": {...}, "complete": {...}, "restricted": bool, "headers": {...}}."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    out = reader.out
    out["headers"] = reader.headers
    return out


VIEW_MODEL_KEYS = ("form", "name", "product", "status", "academic_year", "approved_on", "actions", "opens")


def as_view_model(item: dict) -> dict:
    return {key: item[key] for key in VIEW_MODEL_KEYS}


def tab_as_view_model(tab: dict) -> dict:
    return {
        "enrollment": [as_view_model(i) for i in tab["enrollment"]],
        "express": [{"packet": g["packet"], "forms": [as_view_model(i) for i in g["forms"]]} for g in tab["express"]],
    }
