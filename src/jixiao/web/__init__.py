"""`jixiao serve`: the collection folder as a local web page (jixiao.web.app), behind the guard
(jixiao.web.guard), run by uvicorn (jixiao.web.server). Templates and scripts ship in the package:
no CDN, no build step."""
