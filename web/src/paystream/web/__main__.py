"""`python -m paystream.web`: serve the web app."""

from __future__ import annotations

from paystream.shared.http import serve
from paystream.web.app import create_app
from paystream.web.settings import WebSettings


def main() -> None:
    settings = WebSettings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
