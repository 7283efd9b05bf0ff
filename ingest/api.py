"""What API connectors share: recorded mode (path:) or HTTP mode (base_url:)."""
from __future__ import annotations

from typing import Any, Callable, ClassVar, Iterator, Mapping

from .base import Connector, SourceSettings
from .http import HttpClient
from .recorded import RecordedPages


class ApiConnector(Connector):
    api_keys: ClassVar[tuple[str, ...]] = ("base_url",)
    max_page_size: ClassVar[int] = 100       # the vendor's largest page

    @property
    def page_size(self) -> int:
        """`page_size:` from the config (smaller pages for tight rate limits), capped."""
        wanted = self.settings.get("page_size") or self.max_page_size
        return max(1, min(int(wanted), self.max_page_size))

    def __init__(self, settings: SourceSettings):
        super().__init__(settings)
        self._http: HttpClient | None = None
        self._recorded: RecordedPages | None = None

    @property
    def recorded(self) -> RecordedPages | None:
        """Set when the source reads saved API pages from `path:` instead of the API."""
        if self._recorded is None and self.settings.get("path") is not None:
            self._recorded = RecordedPages(self.name, self.settings.path())
        return self._recorded

    @property
    def http(self) -> HttpClient:
        if self._http is None:  # built lazily: no network work while config loads
            self._http = self.make_client()
        return self._http

    def make_client(self) -> HttpClient:
        raise TypeError(f"{type(self).__name__} must define make_client()")

    def pages(self, endpoint: str, params: Mapping[str, Any],
              paginate: Callable[[HttpClient, str, Mapping[str, Any]], Iterator[Any]]) -> Iterator[Any]:
        """Every page of `endpoint`: the recorded files, or the live API via `paginate`."""
        if self.recorded is not None:
            yield from self.recorded.pages(endpoint)
        else:
            yield from paginate(self.http, endpoint, params)

    def close(self) -> None:
        if self._http is not None:
            self._http.session.close()
