#!/usr/bin/env bash
# Set up GPU.js's headless-GL mode (and, with --chromium, the headless browser) for the
# gpujs backend's GL tests. Idempotent: every step is skipped when its result is present.
#
#   bash scripts/setup-gl.sh              # apt build deps + Xvfb, then build `gl` from source
#   bash scripts/setup-gl.sh --chromium   # also apt-install Debian's chromium (WebGL2 via SwiftShader)
#
# Why a source build: `gl` is an optional dependency of gpu.js. Its install script first tries
# to download a prebuilt binary (unreachable here), then falls back to node-gyp, which needs the
# X11/GL headers below; when either fails npm silently drops the package and GPU.js silently
# falls back to WebAssembly. So we build it in a private folder and copy it into node_modules
# (an `npm install` in the project would prune packages others installed with --no-save).
# Takes about 4 minutes of CPU on 2 cores the first time (then the build is restored from a cache
# in ~/.cache/priorgrad); run as root (apt) from the project root.
set -euo pipefail
cd "$(dirname "$0")/.."

GL_VERSION=8.1.6
WITH_CHROMIUM=0
for arg in "$@"; do
  case "$arg" in
    --chromium) WITH_CHROMIUM=1 ;;
    *) echo "setup-gl.sh: unknown argument '$arg' (expected --chromium)" >&2; exit 2 ;;
  esac
done

APT_PKGS=(build-essential python3 pkg-config libx11-dev libxi-dev libxext-dev libgl1-mesa-dev libglu1-mesa-dev xvfb xauth)
if [ "$WITH_CHROMIUM" = 1 ]; then APT_PKGS+=(chromium); fi

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup-gl: apt-get install ${missing[*]}"
  # NOTE: wait for another apt/dpkg run instead of failing on the lock.
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup-gl: apt packages present"
fi

gl_loads() {
  [ -f node_modules/gl/build/Release/webgl.node ] &&
    node -e "require('gl'); if (require('gl/package.json').version !== '$GL_VERSION') process.exit(1)" 2>/dev/null
}

# A finished build is kept outside node_modules, so a later `npm ci` (which wipes node_modules)
# costs a 1-second copy instead of a 4-minute rebuild. Keyed by the gl version and Node's ABI.
CACHE_DIR="${PRIORGRAD_GL_CACHE:-$HOME/.cache/priorgrad}/gl-$GL_VERSION-node-abi$(node -p process.versions.modules)"

if gl_loads; then
  echo "setup-gl: node_modules/gl $GL_VERSION already built"
elif [ -f "$CACHE_DIR/build/Release/webgl.node" ] && { rm -rf node_modules/gl; cp -a "$CACHE_DIR" node_modules/gl; gl_loads; }; then
  echo "setup-gl: node_modules/gl $GL_VERSION restored from $CACHE_DIR"
else
  build_dir="${TMPDIR:-/tmp}/priorgrad-gl-build"
  rm -rf "$build_dir"
  mkdir -p "$build_dir"
  echo '{"name":"priorgrad-gl-build","private":true}' > "$build_dir/package.json"
  echo "setup-gl: building gl@$GL_VERSION from source in $build_dir"
  # nodedir=/usr: node-gyp takes Node's headers from /usr/include/node instead of downloading them.
  (cd "$build_dir" && npm_config_nodedir=/usr JOBS="${JOBS:-2}" \
    npm install --no-save --no-package-lock --no-audit --no-fund --foreground-scripts "gl@$GL_VERSION")
  test -f "$build_dir/node_modules/gl/build/Release/webgl.node" ||
    { echo "setup-gl: the gl build produced no webgl.node (see the node-gyp output above)" >&2; exit 1; }
  rm -rf node_modules/gl
  mv "$build_dir/node_modules/gl" node_modules/gl
  # gl's own dependencies go inside it, so the project's tree is left as it is.
  mkdir -p node_modules/gl/node_modules
  for d in "$build_dir"/node_modules/*; do
    [ -e "$d" ] || continue
    case "$(basename "$d")" in .bin|.package-lock.json) continue ;; esac
    mv "$d" node_modules/gl/node_modules/
  done
  rm -rf "$build_dir"
fi
if [ ! -f "$CACHE_DIR/build/Release/webgl.node" ] && gl_loads; then
  mkdir -p "$(dirname "$CACHE_DIR")"
  rm -rf "$CACHE_DIR.tmp" && cp -a node_modules/gl "$CACHE_DIR.tmp" && mv "$CACHE_DIR.tmp" "$CACHE_DIR"
  echo "setup-gl: cached the build in $CACHE_DIR"
fi

test -f node_modules/gl/build/Release/webgl.node ||
  { echo "setup-gl: node_modules/gl/build/Release/webgl.node is missing" >&2; exit 1; }
command -v xvfb-run >/dev/null || { echo "setup-gl: xvfb-run is missing" >&2; exit 1; }
# A context is only created under an X display; check it really works.
xvfb-run -a node -e "const c = require('gl')(2, 2); if (!c) { console.error('setup-gl: gl(2,2) returned null under xvfb-run'); process.exit(1) } console.log('setup-gl: headless-gl OK:', c.getParameter(c.VERSION))"
if [ "$WITH_CHROMIUM" = 1 ]; then test -x /usr/bin/chromium && echo "setup-gl: chromium OK: $(/usr/bin/chromium --version 2>/dev/null)"; fi
