"""`ApiHttpClient.build_request` joins paths to the base URL without re-parsing when it
can; the URL it builds must be the one httpx would have parsed, for every path."""

from __future__ import annotations

import httpx
from hypothesis import assume, given
from hypothesis import strategies as st

from pacta_async._http import ApiHttpClient

_KEPT = "aZ09-_~!$&'()*+,;=:@/"
# What httpx quotes, splits on or normalizes, each placed among characters it keeps.
_SPECIAL = [*'%.?#[] "<>`{}|^\\é', "%2F", "%zz", "%4", "./", "../", "..", "/."]
_PATHS = st.text(alphabet=_KEPT + "".join(_SPECIAL), max_size=30) | st.tuples(
    st.text(alphabet=_KEPT, max_size=12), st.sampled_from(_SPECIAL), st.text(_KEPT, max_size=12)
).map("".join)


def _client(base_url: str) -> ApiHttpClient:
    return ApiHttpClient(
        base_url=base_url,
        headers={},
        timeout=httpx.Timeout(5.0),
        transport=httpx.MockTransport(lambda request: httpx.Response(204)),
    )


@given(path=_PATHS)
def test_a_joined_url_is_the_one_httpx_parses(path: str) -> None:
    assume(not path.startswith("/"))  # "//..." is httpx's own join, not ours
    for base in ("http://127.0.0.1:8000/api/v1", "https://Example.com/x/"):
        client = _client(base)
        joined = client.build_request("GET", "/" + path).url
        parsed = httpx.URL(str(client.base_url) + path)
        assert joined == parsed
        assert joined.raw_path == parsed.raw_path
        assert joined.host == parsed.host
        assert joined.port == parsed.port


def test_generated_paths_take_the_fast_join() -> None:
    client = _client("http://127.0.0.1:8000/api/v1")
    url = client.build_request("GET", "/documents/7/recipients%2F1").url
    assert str(url) == "http://127.0.0.1:8000/api/v1/documents/7/recipients%2F1"
    assert url.raw_path == b"/api/v1/documents/7/recipients%2F1"
    # a dot segment is normalized as httpx does
    assert client.build_request("GET", "/documents/../x").url.path == "/api/v1/x"
