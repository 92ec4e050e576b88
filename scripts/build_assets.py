"""Copy the front-end libraries installed by `npm ci` into the package's static folder (served locally)."""
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "src" / "weijian" / "static" / "vendor"
FILES = {
    "node_modules/htmx.org/dist/htmx.min.js": "htmx.min.js",
    "node_modules/echarts/dist/echarts.min.js": "echarts.min.js",
    # The API documentation page (/api/docs, behind log-in): swagger-ui from npm, never from a CDN.
    "node_modules/swagger-ui-dist/swagger-ui-bundle.js": "swagger-ui/swagger-ui-bundle.js",
    "node_modules/swagger-ui-dist/swagger-ui.css": "swagger-ui/swagger-ui.css",
    "node_modules/swagger-ui-dist/LICENSE": "swagger-ui/LICENSE",
}

VENDOR.mkdir(parents=True, exist_ok=True)
for src, dest in FILES.items():
    (VENDOR / dest).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / src, VENDOR / dest)
    print(f"assets: {src} -> static/vendor/{dest}")
