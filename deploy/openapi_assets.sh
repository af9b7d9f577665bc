#!/usr/bin/env bash
# Vendors the OpenAPI UIs (Swagger UI, ReDoc, Scalar) from the npm registry into DEST, so that
# /schema, /schema/swagger and /schema/redoc load without internet: the service serves these
# files itself (service/api/docs.py), nothing is fetched from a CDN at run time.
#
# Run by `make setup` (target openapi-assets) and by the Dockerfile's openapi-assets stage.
# Versions and tarball digests are pinned; a mismatch fails the build.
#   swagger-ui-dist  Apache-2.0    redoc  MIT    @scalar/api-reference  MIT
set -euo pipefail
DEST=${1:?usage: openapi_assets.sh DEST}
PACKAGES=(
  "swagger-ui-dist@5.35.0 1b8e891893404ea4c3558b6a87e2a3e494e7eedba41168c2ece5800a391a6ea6"
  "redoc@2.5.4 44922df4d0eb45c1b066c09ec251e6bd9bd7ded16bc69e87613337b9d911a56e"
  "@scalar/api-reference@1.46.4 335d7f2d3a8ebb6b93a0e45142f5ee15965c09826bcacb18aeb1c5c187eedcb5"
)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for entry in "${PACKAGES[@]}"; do
  read -r spec digest <<<"$entry"
  tarball=$(cd "$work" && npm pack --silent "$spec" | tail -n 1)
  echo "$digest  $work/$tarball" | sha256sum --check --quiet
  mkdir -p "$work/${tarball%.tgz}"
  tar -xzf "$work/$tarball" -C "$work/${tarball%.tgz}"
done
mkdir -p "$DEST.tmp"/{swagger,redoc,scalar}
sw="$work/swagger-ui-dist-5.35.0/package"
cp "$sw/swagger-ui-bundle.js" "$sw/swagger-ui-standalone-preset.js" "$sw/swagger-ui.css" "$sw/LICENSE" "$DEST.tmp/swagger/"
cp "$work/redoc-2.5.4/package/bundles/redoc.standalone.js" "$work/redoc-2.5.4/package/LICENSE" "$DEST.tmp/redoc/"
# ReDoc's side menu shows the Redocly logo from their CDN (no option turns it off): point it at an
# empty data: URI, which fails to decode, and ReDoc then hides the image.
sed -i 's#"https://cdn.redoc.ly/redoc/logo-mini.svg"#"data:,"#' "$DEST.tmp/redoc/redoc.standalone.js"
! grep -q "cdn.redoc.ly/redoc/logo-mini" "$DEST.tmp/redoc/redoc.standalone.js"
cp "$work/scalar-api-reference-1.46.4/package/dist/browser/standalone.js" "$DEST.tmp/scalar/"
echo "@scalar/api-reference 1.46.4, MIT licence (package.json)" > "$DEST.tmp/scalar/LICENSE"
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
echo "OpenAPI UI assets in $DEST"
