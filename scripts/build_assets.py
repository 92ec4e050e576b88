"""Copy the front-end libraries installed by `npm ci` into the package's static folder (served locally)."""
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "src" / "weijian" / "static" / "vendor"
FILES = {
    "node_modules/htmx.org/dist/htmx.min.js": "htmx.min.js",
    "node_modules/echarts/dist/echarts.min.js": "echarts.min.js",
}

VENDOR.mkdir(parents=True, exist_ok=True)
for src, dest in FILES.items():
    shutil.copyfile(ROOT / src, VENDOR / dest)
    print(f"assets: {src} -> static/vendor/{dest}")
